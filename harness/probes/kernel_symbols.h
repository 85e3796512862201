#pragma once

// Kernel function names for addresses seen by the probes, from /proc/kallsyms. Only root
// sees real addresses there.
//   KernelSymbols      exact function addresses (the callback an IPI asks its target CPU
//                      to run), resolved by one scan
//   KernelSymbolTable  any address inside a function (the frames of a sampled stack)

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stack/result.h"

namespace zcb {

class KernelSymbols {
 public:
  // Resolves `addresses` (scanning /proc/kallsyms once for those not resolved before).
  // Unknown addresses get "0x<hex>"; 0 gets "(none)".
  std::map<uint64_t, std::string> Names(const std::set<uint64_t>& addresses);

 private:
  std::map<uint64_t, std::string> cache_;
};

// Every text symbol of the running kernel and its modules, sorted by address.
class KernelSymbolTable {
 public:
  // Reads /proc/kallsyms. Fails when it shows no addresses (not root, or
  // kernel.kptr_restrict), saying so.
  static Result<KernelSymbolTable> Load();
  // Parses kallsyms text ("ffffffff813424a0 t flush_tlb_func [module]").
  static KernelSymbolTable Parse(std::string_view text);

  // The function containing `address` (the closest text symbol at or below it), or
  // "0x<hex>" when it is below every symbol.
  std::string FunctionAt(uint64_t address) const;
  size_t size() const { return symbols_.size(); }

 private:
  std::vector<std::pair<uint64_t, std::string>> symbols_;
};

}  // namespace zcb
