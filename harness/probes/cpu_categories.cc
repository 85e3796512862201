#include "harness/probes/cpu_categories.h"

#include <fnmatch.h>

#include <algorithm>

#include <fmt/format.h>

namespace zcb {

extern const char kCpuCategoriesTsv[];  // cpu_categories_data.cc (generated)

const std::vector<std::string>& KernelCpuCategories() {
  static const std::vector<std::string> categories = {"data_copy",
                                                      "tcp_ip",
                                                      "netdev_driver",
                                                      "skb_management",
                                                      "memory_alloc_free",
                                                      "page_table_tlb",
                                                      "locks",
                                                      "scheduling",
                                                      std::string(kOtherCategory),
                                                      std::string(kIdleCategory)};
  return categories;
}

Result<CpuCategoryTable> CpuCategoryTable::Parse(std::string_view text) {
  CpuCategoryTable table;
  const auto& known = KernelCpuCategories();
  size_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
    if (line.empty()) continue;
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos || tab == 0 || line.find('\t', tab + 1) != std::string_view::npos) {
      return Errorf("CPU category table line {}: '{}': expected `pattern<TAB>category`", line_number, line);
    }
    Rule rule{std::string(line.substr(0, tab)), std::string(line.substr(tab + 1))};
    if (rule.category != kCallerCategory && std::find(known.begin(), known.end(), rule.category) == known.end()) {
      return Errorf("CPU category table line {}: unknown category '{}'; expected one of {}, or {}", line_number,
                    rule.category, fmt::join(known, ", "), kCallerCategory);
    }
    table.rules_.push_back(std::move(rule));
  }
  if (table.rules_.empty()) return Errorf("CPU category table has no rules");
  return table;
}

const Result<CpuCategoryTable>& CpuCategoryTable::Builtin() {
  static const Result<CpuCategoryTable> table = Parse(kCpuCategoriesTsv);
  return table;
}

int CpuCategoryTable::RuleFor(const std::string& function) const {
  if (auto it = rule_by_function_.find(function); it != rule_by_function_.end()) return it->second;
  int found = -1;
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (::fnmatch(rules_[i].pattern.c_str(), function.c_str(), 0) == 0) {
      found = static_cast<int>(i);
      break;
    }
  }
  rule_by_function_.emplace(function, found);
  return found;
}

StackCategory CpuCategoryTable::Categorize(const std::vector<std::string>& frames_leaf_first) const {
  StackCategory out{kOtherCategory};
  for (size_t i = 0; i < frames_leaf_first.size(); ++i) {
    const int rule = RuleFor(frames_leaf_first[i]);
    if (rule < 0) continue;
    const std::string& category = rules_[static_cast<size_t>(rule)].category;
    if (category == kCallerCategory) {
      if (i == 0) out.leaf_passed_to_caller = true;
      continue;
    }
    out.category = category;
    return out;
  }
  return out;
}

}  // namespace zcb
