#pragma once

// The symbol-to-category table of the CPU profile (cpu_categories.tsv, compiled into the
// binary): which kind of work a sampled kernel stack was doing, in the manner of Cai et
// al., "Understanding host network stack overheads" (SIGCOMM 2021). The table's comment
// says how a stack is matched (the first frame from the leaf up that any rule matches).

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stack/result.h"

namespace zcb {

// The categories a table may name, in report order. `other` is where a stack that
// matches no rule goes; `idle` is reported apart from busy time.
const std::vector<std::string>& KernelCpuCategories();
inline constexpr std::string_view kOtherCategory = "other";
inline constexpr std::string_view kIdleCategory = "idle";
// Not a category: a rule naming it passes the frame's samples to its caller. For the
// points where interrupts are enabled again, where an hrtimer sample that was held off
// lands: the time belongs to the interrupts-off region before, which the caller ran.
inline constexpr std::string_view kCallerCategory = "caller";

// A stack's category, and whether its leaf passed the sample up (kCallerCategory).
struct StackCategory {
  std::string_view category;
  bool leaf_passed_to_caller = false;
};

class CpuCategoryTable {
 public:
  // Parses "pattern<TAB>category" lines (`#` comments, blank lines). Errors name the
  // line and what is wrong with it (an unknown category lists the known ones).
  static Result<CpuCategoryTable> Parse(std::string_view text);
  // The table built from harness/probes/cpu_categories.tsv (an error only if that file
  // is malformed, which a unit test catches first).
  static const Result<CpuCategoryTable>& Builtin();

  // The category of a kernel stack given leaf first (function names): the first frame
  // that a rule matches decides, the first matching rule within it; `caller` rules pass
  // on to the next frame; `other` when nothing decides.
  StackCategory Categorize(const std::vector<std::string>& frames_leaf_first) const;
  size_t rule_count() const { return rules_.size(); }

 private:
  struct Rule {
    std::string pattern;  // fnmatch(3) glob over the whole function name
    std::string category;
  };
  // The index of the first rule matching `function`, or -1 (memoized: a window's stacks
  // share most of their frames).
  int RuleFor(const std::string& function) const;

  std::vector<Rule> rules_;
  mutable std::unordered_map<std::string, int> rule_by_function_;
};

}  // namespace zcb
