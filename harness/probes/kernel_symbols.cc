#include "harness/probes/kernel_symbols.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

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

KernelSymbolTable KernelSymbolTable::Parse(std::string_view text) {
  KernelSymbolTable table;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    // "<address> <type> <name>[\t[module]]": text symbols are types t and T.
    const size_t type_at = line.find(' ');
    if (type_at == std::string_view::npos || type_at + 3 > line.size() || line[type_at + 2] != ' ') continue;
    const char type = line[type_at + 1];
    if (type != 't' && type != 'T') continue;
    std::string_view name = line.substr(type_at + 3);
    if (const size_t tab = name.find_first_of(" \t"); tab != std::string_view::npos) name = name.substr(0, tab);
    const uint64_t address = std::strtoull(std::string(line.substr(0, type_at)).c_str(), nullptr, 16);
    if (address != 0 && !name.empty()) table.symbols_.emplace_back(address, std::string(name));
  }
  std::sort(table.symbols_.begin(), table.symbols_.end());
  return table;
}

Result<KernelSymbolTable> KernelSymbolTable::Load() {
  std::ifstream in("/proc/kallsyms");
  if (!in) return SysError("read /proc/kallsyms");
  std::ostringstream text;
  text << in.rdbuf();
  KernelSymbolTable table = Parse(text.str());
  if (table.symbols_.empty()) {
    return Errorf("/proc/kallsyms shows no kernel addresses (needs root, and kernel.kptr_restrict below 2)");
  }
  return table;
}

std::string KernelSymbolTable::FunctionAt(uint64_t address) const {
  auto it = std::upper_bound(symbols_.begin(), symbols_.end(), address,
                             [](uint64_t a, const std::pair<uint64_t, std::string>& s) { return a < s.first; });
  if (it == symbols_.begin()) return fmt::format("{:#x}", address);
  return std::prev(it)->second;
}

}  // namespace zcb
