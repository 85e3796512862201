#pragma once

// Kernel function names for addresses seen by the probes (the callback an IPI asks its
// target CPU to run), from /proc/kallsyms. Only root sees real addresses there.

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace zcb {

class KernelSymbols {
 public:
  // Resolves `addresses` (scanning /proc/kallsyms once for those not resolved before).
  // Unknown addresses get "0x<hex>"; 0 gets "(none)".
  std::map<uint64_t, std::string> Names(const std::set<uint64_t>& addresses);

 private:
  std::map<uint64_t, std::string> cache_;
};

}  // namespace zcb
