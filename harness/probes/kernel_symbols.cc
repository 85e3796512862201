#include "harness/probes/kernel_symbols.h"

#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

namespace zcb {

std::map<uint64_t, std::string> KernelSymbols::Names(const std::set<uint64_t>& addresses) {
  std::set<uint64_t> missing;
  for (uint64_t a : addresses) {
    if (a != 0 && cache_.count(a) == 0) missing.insert(a);
  }
  if (!missing.empty()) {
    std::ifstream in("/proc/kallsyms");
    std::string line;
    while (!missing.empty() && std::getline(in, line)) {
      // "ffffffff813424a0 t flush_tlb_func [module]"
      const uint64_t address = std::strtoull(line.c_str(), nullptr, 16);
      if (missing.count(address) == 0) continue;
      const size_t name_start = line.find(' ', line.find(' ') + 1);
      if (name_start == std::string::npos) continue;
      std::string name = line.substr(name_start + 1);
      if (const size_t tab = name.find_first_of(" \t"); tab != std::string::npos) name.resize(tab);
      cache_[address] = name;
      missing.erase(address);
    }
    for (uint64_t a : missing) cache_[a] = fmt::format("{:#x}", a);
  }
  std::map<uint64_t, std::string> out;
  for (uint64_t a : addresses) out[a] = a == 0 ? "(none)" : cache_[a];
  return out;
}

}  // namespace zcb
