#pragma once

// Typed, documented key=value options for strategies (and, later, paths and workloads).
// Every option is declared with a type, a default and a help line; values given by the
// user are validated against the declarations before anything runs.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stack/result.h"

namespace zcb {

enum class OptionType { kBool, kSize, kInt, kChoice, kString };

struct OptionSpec {
  std::string name;
  OptionType type;
  std::string default_value;
  std::string help;
  std::vector<std::string> choices;  // kChoice only
  // kInt and kSize: the values allowed, checked with the option's type, so that a value
  // out of range is a usage error before anything runs.
  std::optional<int64_t> min;
  std::optional<int64_t> max;

  // This option allowing lo or more only.
  OptionSpec AtLeast(int64_t lo) const {
    OptionSpec s = *this;
    s.min = lo;
    return s;
  }
  // This option allowing [lo, hi] only.
  OptionSpec InRange(int64_t lo, int64_t hi) const {
    OptionSpec s = *this;
    s.min = lo;
    s.max = hi;
    return s;
  }
};

// Validated option values: every declared option has a value (given or default).
class Options {
 public:
  Options() = default;

  // Checks `given` against `specs`: unknown keys and bad values are errors naming the
  // key, the valid keys or values, and `owner` (e.g. "strategy sendfile").
  static Result<Options> Parse(const std::vector<OptionSpec>& specs, const std::map<std::string, std::string>& given,
                               const std::string& owner);

  bool GetBool(const std::string& name) const;
  uint64_t GetSize(const std::string& name) const;
  int64_t GetInt(const std::string& name) const;
  const std::string& GetString(const std::string& name) const;
  // Only the options the user set, as given: what a record's params.options holds.
  const std::map<std::string, std::string>& given() const { return given_; }
  // Every option with its effective value.
  const std::map<std::string, std::string>& values() const { return values_; }

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, std::string> given_;
};

std::string_view ToString(OptionType t);

}  // namespace zcb
