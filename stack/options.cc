#include "stack/options.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "stack/types.h"

namespace zcb {

std::string_view ToString(OptionType t) {
  switch (t) {
    case OptionType::kBool:
      return "bool";
    case OptionType::kSize:
      return "size";
    case OptionType::kInt:
      return "int";
    case OptionType::kChoice:
      return "choice";
    case OptionType::kString:
      return "string";
  }
  return "?";
}

static std::optional<bool> ParseBool(const std::string& v) {
  if (v == "1" || v == "true" || v == "on" || v == "yes") return true;
  if (v == "0" || v == "false" || v == "off" || v == "no") return false;
  return std::nullopt;
}

static Status CheckValue(const OptionSpec& spec, const std::string& value, const std::string& owner) {
  switch (spec.type) {
    case OptionType::kBool:
      if (!ParseBool(value)) return Usagef("{} option {}={}: expected true or false", owner, spec.name, value);
      break;
    case OptionType::kSize: {
      const auto size = ParseSize(value);
      if (!size) return Usagef("{} option {}={}: expected a size such as 4096, 64K or 1M", owner, spec.name, value);
      const uint64_t lo = static_cast<uint64_t>(spec.min.value_or(0));
      if (*size < lo || (spec.max && *size > static_cast<uint64_t>(*spec.max))) {
        if (!spec.max)
          return Usagef("{} option {}={}: expected a size of at least {}", owner, spec.name, value, FormatSize(lo));
        return Usagef("{} option {}={}: expected {} to {} bytes", owner, spec.name, value, FormatSize(lo),
                      FormatSize(static_cast<uint64_t>(*spec.max)));
      }
      break;
    }
    case OptionType::kInt: {
      char* end = nullptr;
      errno = 0;
      const long long v = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || errno == ERANGE) {
        return Usagef("{} option {}={}: expected an integer", owner, spec.name, value);
      }
      if ((spec.min && v < *spec.min) || (spec.max && v > *spec.max)) {
        if (!spec.max) return Usagef("{} option {}={}: expected at least {}", owner, spec.name, value, *spec.min);
        if (!spec.min) return Usagef("{} option {}={}: expected at most {}", owner, spec.name, value, *spec.max);
        return Usagef("{} option {}={}: expected {} to {}", owner, spec.name, value, *spec.min, *spec.max);
      }
      break;
    }
    case OptionType::kChoice:
      if (std::find(spec.choices.begin(), spec.choices.end(), value) == spec.choices.end()) {
        return Usagef("{} option {}={}: expected one of {}", owner, spec.name, value, fmt::join(spec.choices, ", "));
      }
      break;
    case OptionType::kString:
      break;
  }
  return OkStatus();
}

Result<Options> Options::Parse(const std::vector<OptionSpec>& specs, const std::map<std::string, std::string>& given,
                               const std::string& owner) {
  Options options;
  for (const auto& spec : specs) options.values_[spec.name] = spec.default_value;
  for (const auto& [key, value] : given) {
    auto it = std::find_if(specs.begin(), specs.end(), [&](const OptionSpec& s) { return s.name == key; });
    if (it == specs.end()) {
      std::vector<std::string> names;
      for (const auto& s : specs) names.push_back(s.name);
      if (names.empty()) return Usagef("{} has no options (got {}={})", owner, key, value);
      return Usagef("{} has no option '{}'; its options are: {}", owner, key, fmt::join(names, ", "));
    }
    ZCB_RETURN_IF_ERROR(CheckValue(*it, value, owner));
    options.values_[key] = value;
    options.given_[key] = value;
  }
  return options;
}

bool Options::GetBool(const std::string& name) const { return ParseBool(values_.at(name)).value_or(false); }
uint64_t Options::GetSize(const std::string& name) const { return ParseSize(values_.at(name)).value_or(0); }
int64_t Options::GetInt(const std::string& name) const { return std::strtoll(values_.at(name).c_str(), nullptr, 10); }
const std::string& Options::GetString(const std::string& name) const { return values_.at(name); }

}  // namespace zcb
