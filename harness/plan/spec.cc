#include "harness/plan/spec.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "harness/plan/parameters.h"
#include "stack/registry.h"
#include "stack/socket_options.h"
#include "stack/types.h"
#include "workloads/registry.h"

namespace zcb {

// ---------------------------------------------------------------------------------------
// Catalog

const SpecCatalog& SpecCatalog::Registered() {
  static const SpecCatalog catalog = [] {
    SpecCatalog c;
    c.strategies = AllStrategies();
    c.paths = AllPaths();
    c.workloads = AllWorkloads();
    return c;
  }();
  return catalog;
}

const StrategyInfo* SpecCatalog::FindStrategy(std::string_view name) const {
  for (const auto& s : strategies) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const PathInfo* SpecCatalog::FindPath(std::string_view name) const {
  for (const auto& p : paths) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const WorkloadInfo* SpecCatalog::FindWorkload(std::string_view name) const {
  for (const auto& w : workloads) {
    if (w.name == name) return &w;
  }
  return nullptr;
}

std::string SpecCatalog::WorkloadNames() const {
  std::vector<std::string> names;
  for (const auto& w : workloads) names.push_back(w.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string SpecCatalog::StrategyNames() const {
  std::vector<std::string> names;
  for (const auto& s : strategies) names.push_back(s.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string SpecCatalog::PathNames() const {
  std::vector<std::string> names;
  for (const auto& p : paths) names.push_back(p.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string_view AxisKeyName(AxisKind kind) {
  const Parameter* parameter = FindAxisParameter(kind);
  return parameter != nullptr ? parameter->key : "?";
}

const SpecAxis* ExperimentSpec::FindAxis(AxisKind kind) const {
  for (const auto& a : axes) {
    if (a.kind == kind) return &a;
  }
  return nullptr;
}

std::string ExperimentSpec::Where(int line) const { return fmt::format("{}:{}", file, line); }

// ---------------------------------------------------------------------------------------
// Units

std::optional<double> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string s(text);
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || errno != 0 || !std::isfinite(value) || value < 0) return std::nullopt;
  const std::string_view unit(end);
  double scale;
  if (unit.empty() || unit == "s") scale = 1;
  else if (unit == "ms") scale = 1e-3;
  else if (unit == "us") scale = 1e-6;
  else if (unit == "m" || unit == "min") scale = 60;
  else if (unit == "h") scale = 3600;
  else return std::nullopt;
  return value * scale;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

// ---------------------------------------------------------------------------------------
// Parsing

namespace {

// The most points a spec's matrix may multiply out to (before exclusions): a run of that
// many, three repetitions of a second each, takes over eight hours; expanding them takes
// a few seconds and about 100 MB already.
constexpr uint64_t kMaxMatrixPoints = 10000;

int LineOf(const toml::node& node) { return static_cast<int>(node.source().begin.line); }
int LineOf(const toml::key& key) { return static_cast<int>(key.source().begin.line); }

std::string_view TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

// Collects every problem; the spec is rejected if there is at least one.
class Problems {
 public:
  explicit Problems(std::string file) : file_(std::move(file)) {}

  template <typename... Args>
  void Add(int line, std::string_view key, fmt::format_string<Args...> format, Args&&... args) {
    messages_.push_back(
        fmt::format("{}:{}: {}: {}", file_, line, key, fmt::format(format, std::forward<Args>(args)...)));
  }
  bool empty() const { return messages_.empty(); }
  size_t count() const { return messages_.size(); }
  Error ToError() const { return Usagef("{}", fmt::join(messages_, "\n")); }

 private:
  std::string file_;
  std::vector<std::string> messages_;
};

std::string Join(const std::vector<std::string>& items) { return fmt::format("{}", fmt::join(items, ", ")); }

// The elements of an axis-like value: an array's elements, or the value itself.
std::vector<const toml::node*> Elements(const toml::node& node) {
  std::vector<const toml::node*> out;
  if (const toml::array* array = node.as_array()) {
    for (const toml::node& element : *array) out.push_back(&element);
  } else {
    out.push_back(&node);
  }
  return out;
}

// An option value as the option parser wants it: strings as written, numbers and
// booleans in their plain text form.
std::optional<std::string> OptionText(const toml::node& node) {
  if (auto s = node.value_exact<std::string>()) return *s;
  if (auto b = node.value_exact<bool>()) return *b ? std::string("true") : std::string("false");
  if (auto i = node.value_exact<int64_t>()) return std::to_string(*i);
  if (auto d = node.value_exact<double>()) return fmt::format("{}", *d);
  return std::nullopt;
}

class SpecParser {
 public:
  SpecParser(const std::string& file, const SpecCatalog& catalog, ExperimentSpec& spec)
      : catalog_(catalog), spec_(spec), problems_(file) {}

  Status Parse(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text, spec_.file);
    } catch (const toml::parse_error& e) {
      problems_.Add(static_cast<int>(e.source().begin.line), "(syntax)", "{} (column {})", e.description(),
                    e.source().begin.column);
      return problems_.ToError();
    }
    static const std::vector<std::string> kTopLevel = {"experiment", "matrix", "exclude", "trial", "repeat", "path"};
    for (auto&& [key, node] : root) {
      const std::string k(key.str());
      if (std::find(kTopLevel.begin(), kTopLevel.end(), k) == kTopLevel.end()) {
        problems_.Add(LineOf(key), k, "unknown key; a spec has the tables {}", Join(kTopLevel));
      } else if (k != "exclude" && !node.is_table()) {
        problems_.Add(LineOf(key), k, "expected a table [{}], got {}", k, TypeName(node));
      }
    }
    if (auto* t = root["experiment"].as_table()) ParseExperiment(*t);
    if (auto* t = root["path"].as_table()) ParsePaths(*t);
    if (auto* t = root["trial"].as_table()) ParseTrial(*t);
    if (auto* t = root["repeat"].as_table()) ParseRepeat(*t);
    if (auto* t = root["matrix"].as_table()) {
      ParseMatrix(*t);
    } else if (!root.contains("matrix")) {
      problems_.Add(1, "matrix", "missing: a spec needs a [matrix] table with at least a strategy axis");
    }
    if (root.contains("exclude")) ParseExcludes(*root.get("exclude"));
    CheckCombinations();
    CheckMatrixSize();
    if (!problems_.empty()) return problems_.ToError();
    return OkStatus();
  }

 private:
  // Reports keys of `table` not in `allowed`.
  void CheckKeys(const toml::table& table, const std::string& prefix, const std::vector<std::string>& allowed) {
    for (auto&& [key, node] : table) {
      const std::string k(key.str());
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
        problems_.Add(LineOf(key), prefix + "." + k, "unknown key; [{}] takes: {}", prefix, Join(allowed));
      }
    }
  }

  std::optional<std::string> String(const toml::node& node, const std::string& key) {
    if (auto s = node.value_exact<std::string>()) return *s;
    problems_.Add(LineOf(node), key, "expected a string, got {}", TypeName(node));
    return std::nullopt;
  }

  std::optional<int64_t> Integer(const toml::node& node, const std::string& key, int64_t min, int64_t max) {
    auto v = node.value_exact<int64_t>();
    if (!v) {
      problems_.Add(LineOf(node), key, "expected an integer, got {}", TypeName(node));
      return std::nullopt;
    }
    if (*v < min || *v > max) {
      problems_.Add(LineOf(node), key, "{} is out of range (expected {} to {})", *v, min, max);
      return std::nullopt;
    }
    return *v;
  }

  std::optional<double> Number(const toml::node& node, const std::string& key) {
    if (auto d = node.value_exact<double>()) return *d;
    if (auto i = node.value_exact<int64_t>()) return static_cast<double>(*i);
    problems_.Add(LineOf(node), key, "expected a number, got {}", TypeName(node));
    return std::nullopt;
  }

  void ParseExperiment(const toml::table& t) {
    std::vector<std::string> allowed = {"name", "description"};
    for (const std::string& key : KeysOf(SpecSection::kExperiment)) allowed.push_back(key);
    CheckKeys(t, "experiment", allowed);
    if (auto* n = t.get("name")) {
      if (auto s = String(*n, "experiment.name")) {
        if (s->empty()) problems_.Add(LineOf(*n), "experiment.name", "must not be empty");
        spec_.name = *s;
      }
    }
    if (auto* n = t.get("description")) {
      if (auto s = String(*n, "experiment.description")) spec_.description = *s;
    }
    ParseSettings(t, SpecSection::kExperiment);
  }

  void ParsePaths(const toml::table& t) {
    for (auto&& [key, node] : t) {
      const std::string name(key.str());
      const std::string where = "path." + name;
      const toml::table* def = node.as_table();
      if (def == nullptr) {
        problems_.Add(LineOf(key), where, "expected a table [path.{}], got {}", name, TypeName(node));
        continue;
      }
      PathDefinition path;
      path.name = name;
      path.type = name;
      path.line = LineOf(key);
      if (auto* n = def->get("type")) {
        if (auto s = String(*n, where + ".type")) path.type = *s;
      }
      const PathInfo* info = catalog_.FindPath(path.type);
      if (info == nullptr) {
        problems_.Add(def->get("type") ? LineOf(*def->get("type")) : path.line, where + ".type",
                      "unknown path type '{}'; registered paths: {}", path.type, catalog_.PathNames());
        continue;
      }
      for (auto&& [okey, onode] : *def) {
        const std::string option(okey.str());
        if (option == "type") continue;
        auto text = OptionText(onode);
        if (!text) {
          problems_.Add(LineOf(onode), where + "." + option, "expected a string, number or boolean, got {}",
                        TypeName(onode));
          continue;
        }
        auto parsed = Options::Parse(info->options, {{option, *text}}, "path " + info->name);
        if (!parsed.ok()) {
          problems_.Add(LineOf(okey), where + "." + option, "{}", parsed.error().what());
          continue;
        }
        path.options[option] = *text;
      }
      spec_.paths.push_back(std::move(path));
    }
  }

  // [trial]: every key is a parameter of the table; what is checked here is how they
  // combine.
  void ParseTrial(const toml::table& t) {
    CheckKeys(t, "trial", KeysOf(SpecSection::kTrial));
    ParseSettings(t, SpecSection::kTrial);
    if (t.contains("duration") && t.contains("bytes")) {
      problems_.Add(LineOf(*t.get("bytes")), "trial.bytes",
                    "give either trial.duration (a timed trial) or trial.bytes (a fixed transfer), not both");
    }
    if (auto* n = t.get("warmup_duration"); n != nullptr && t.contains("bytes")) {
      problems_.Add(LineOf(*n), "trial.warmup_duration",
                    "trials send a fixed byte count (trial.bytes): use trial.warmup_bytes");
    }
    if (auto* n = t.get("warmup_bytes"); n != nullptr && !t.contains("bytes")) {
      problems_.Add(LineOf(*n), "trial.warmup_bytes", "trials are timed (trial.duration): use trial.warmup_duration");
    }
    for (const char* which : {"sender_cpu", "receiver_cpu"}) {
      if (auto* n = t.get(which); n != nullptr && t.contains("pin") && !spec_.trial.pin) {
        problems_.Add(LineOf(*n), fmt::format("trial.{}", which), "contradicts trial.pin = false");
      }
    }
  }

  void ParseRepeat(const toml::table& t) {
    CheckKeys(t, "repeat", {"min", "max", "confidence_pct", "half_width_pct"});
    RepeatSettings& r = spec_.repeat;
    const bool has_min = t.contains("min"), has_max = t.contains("max");
    if (auto* n = t.get("min")) {
      if (auto v = Integer(*n, "repeat.min", 1, 1000)) r.min = static_cast<int>(*v);
    }
    if (auto* n = t.get("max")) {
      if (auto v = Integer(*n, "repeat.max", 1, 1000)) r.max = static_cast<int>(*v);
    }
    // One bound given: the other follows it, so that `min = 5` alone means "at least 5".
    if (has_min && !has_max) r.max = std::max(r.max, r.min);
    if (has_max && !has_min) r.min = std::min(r.min, r.max);
    if (r.max < r.min) {
      problems_.Add(LineOf(*t.get("max")), "repeat.max", "{} is less than repeat.min = {}", r.max, r.min);
    }
    if (auto* n = t.get("confidence_pct")) {
      if (auto v = Number(*n, "repeat.confidence_pct")) {
        if (*v < 50 || *v >= 100) {
          problems_.Add(LineOf(*n), "repeat.confidence_pct",
                        "{} is not a confidence level in percent (50 to 99.9, e.g. 95 or 99)", *v);
        } else {
          r.confidence_pct = *v;
        }
      }
    }
    if (auto* n = t.get("half_width_pct")) {
      if (auto v = Number(*n, "repeat.half_width_pct")) {
        if (!(*v > 0) || *v >= 100) {
          problems_.Add(LineOf(*n), "repeat.half_width_pct",
                        "{} is not a half-width in percent of the mean (above 0 and below 100, e.g. 2.5)", *v);
        } else {
          r.half_width_pct = *v;
        }
      }
    }
  }

  // A spec value as the text its parameter parses; nullopt (and a problem) when its TOML
  // type is not one the parameter takes.
  std::optional<std::string> ValueText(const Parameter& parameter, const toml::node& node, const std::string& key) {
    const auto string = node.value_exact<std::string>();
    const auto integer = node.value_exact<int64_t>();
    const auto number = node.value_exact<double>();
    const auto boolean = node.value_exact<bool>();
    switch (parameter.kind) {
      case ValueKind::kName:
      case ValueKind::kKeyValues:
        if (string) return *string;
        problems_.Add(LineOf(node), key, "expected {} (a string), got {}", parameter.value_name, TypeName(node));
        return std::nullopt;
      case ValueKind::kSize:
      case ValueKind::kRate:
        if (string) return *string;
        if (integer) return std::to_string(*integer);
        problems_.Add(LineOf(node), key, "expected {} (an integer or a string such as \"{}\"), got {}",
                      parameter.value_name, parameter.kind == ValueKind::kSize ? "64K" : "500M", TypeName(node));
        return std::nullopt;
      case ValueKind::kDuration:
      case ValueKind::kFraction:
        if (string) return *string;
        if (integer) return std::to_string(*integer);
        if (number) return fmt::format("{}", *number);
        problems_.Add(LineOf(node), key, "expected {} (a number, or a string such as \"{}\"), got {}",
                      parameter.value_name, parameter.kind == ValueKind::kDuration ? "500ms" : "20%", TypeName(node));
        return std::nullopt;
      case ValueKind::kInteger:
        if (integer) return std::to_string(*integer);
        problems_.Add(LineOf(node), key, "expected an integer, got {}", TypeName(node));
        return std::nullopt;
      case ValueKind::kBool:
        if (boolean) return std::string(*boolean ? "true" : "false");
        problems_.Add(LineOf(node), key, "expected true or false, got {}", TypeName(node));
        return std::nullopt;
    }
    return std::nullopt;
  }

  // One value of `parameter`, canonicalised by the parameter table; nullopt (and a
  // problem) if invalid.
  std::optional<std::string> CanonicalValue(const Parameter& parameter, const toml::node& node,
                                            const std::string& key) {
    auto text = ValueText(parameter, node, key);
    if (!text) return std::nullopt;
    // A path may also be one this spec defines ([path.NAME]).
    if (parameter.axis == AxisKind::kPath &&
        std::any_of(spec_.paths.begin(), spec_.paths.end(), [&](const PathDefinition& p) { return p.name == *text; })) {
      return text;
    }
    auto canonical = parameter.parse(*text, catalog_);
    if (!canonical.ok()) {
      std::string message = canonical.error().what();
      if (parameter.axis == AxisKind::kPath && !spec_.paths.empty()) {
        std::vector<std::string> names;
        for (const auto& p : spec_.paths) names.push_back(p.name);
        message += "; defined in this spec: " + Join(names);
      }
      problems_.Add(LineOf(node), key, "{}", message);
      return std::nullopt;
    }
    return *canonical;
  }

  // Every key of `table` that the parameter table holds for `section`, parsed and set.
  void ParseSettings(const toml::table& table, SpecSection section) {
    for (const Parameter* parameter : ParametersIn(section)) {
      const toml::node* node = table.get(parameter->key);
      if (node == nullptr) continue;
      const std::string key = fmt::format("{}.{}", ToString(section), parameter->key);
      auto canonical = CanonicalValue(*parameter, *node, key);
      if (!canonical) continue;
      if (section == SpecSection::kTrial && parameter->apply != nullptr) {
        spec_.trial.per_trial[std::string(parameter->key)] = *canonical;
      } else {
        parameter->set(*canonical, spec_);
      }
    }
  }

  static std::vector<std::string> KeysOf(SpecSection section) {
    std::vector<std::string> keys;
    for (const Parameter* p : ParametersIn(section)) keys.emplace_back(p->key);
    return keys;
  }

  // Whether an axis varies one option of a key-value parameter (strategy, path or
  // workload options).
  static bool IsOptionAxis(AxisKind kind) {
    const Parameter* parameter = FindAxisParameter(kind);
    return parameter != nullptr && parameter->kind == ValueKind::kKeyValues;
  }

  // The [matrix] parameters with one value per point (the option tables aside).
  static std::vector<const Parameter*> PlainAxes() {
    std::vector<const Parameter*> axes;
    for (const Parameter* p : ParametersIn(SpecSection::kMatrix)) {
      if (p->kind != ValueKind::kKeyValues) axes.push_back(p);
    }
    return axes;
  }

  // Fills `axis.values` from `node` (a value or an array); reports empty axes and repeats.
  void AxisValues(SpecAxis& axis, const toml::node& node) {
    if (const toml::array* array = node.as_array(); array != nullptr && array->empty()) {
      problems_.Add(LineOf(node), axis.key,
                    "empty axis: give at least one value (or leave the key out for the default)");
      return;
    }
    if (node.is_table()) {
      problems_.Add(LineOf(node), axis.key, "expected a value or an array of values, got a table");
      return;
    }
    for (const toml::node* element : Elements(node)) {
      std::optional<std::string> value;
      if (IsOptionAxis(axis.kind)) {
        value = OptionText(*element);
        if (!value)
          problems_.Add(LineOf(*element), axis.key, "expected a string, number or boolean, got {}", TypeName(*element));
      } else if (axis.kind == AxisKind::kStrategy && element->value_exact<std::string>() == "all") {
        if (Elements(node).size() != 1) {
          problems_.Add(LineOf(*element), axis.key, "\"all\" stands alone (it means every registered strategy)");
          return;
        }
        for (const auto& s : catalog_.strategies) axis.values.push_back(s.name);
        continue;
      } else {
        value = CanonicalValue(*FindAxisParameter(axis.kind), *element, axis.key);
      }
      if (!value) continue;
      if (std::find(axis.values.begin(), axis.values.end(), *value) != axis.values.end()) {
        problems_.Add(LineOf(*element), axis.key, "value '{}' is listed twice", *value);
        continue;
      }
      axis.values.push_back(*value);
    }
  }

  void ParseMatrix(const toml::table& t) {
    spec_.matrix_line = LineOf(t);
    CheckKeys(t, "matrix", KeysOf(SpecSection::kMatrix));
    for (const Parameter* parameter : PlainAxes()) {
      const toml::node* node = t.get(parameter->key);
      if (node == nullptr) continue;
      SpecAxis axis{*parameter->axis, fmt::format("matrix.{}", parameter->key), "", {}, LineOf(*node)};
      AxisValues(axis, *node);
      if (!axis.values.empty()) spec_.axes.push_back(std::move(axis));
    }
    if (!t.contains("strategy")) {
      problems_.Add(spec_.matrix_line, "matrix.strategy",
                    "missing: list the strategies to measure, or \"all\" (zcbench list strategies)");
    }
    for (AxisKind kind :
         {AxisKind::kStrategyOption, AxisKind::kPathOption, AxisKind::kWorkloadOption, AxisKind::kSocketOption}) {
      const std::string table_key(AxisKeyName(kind));
      const toml::node* node = t.get(table_key);
      if (node == nullptr) continue;
      const toml::table* options = node->as_table();
      if (options == nullptr) {
        problems_.Add(LineOf(*node), "matrix." + table_key, "expected a table of option = [values], got {}",
                      TypeName(*node));
        continue;
      }
      for (auto&& [key, value] : *options) {
        SpecAxis axis{kind, fmt::format("matrix.{}.{}", table_key, key.str()), std::string(key.str()), {}, LineOf(key)};
        AxisValues(axis, value);
        if (axis.values.empty()) continue;
        if (kind == AxisKind::kStrategyOption) CheckStrategyOption(axis);
        else if (kind == AxisKind::kPathOption) CheckPathOption(axis);
        else if (kind == AxisKind::kSocketOption) CheckSocketOption(axis);
        else CheckWorkloadOption(axis);
        spec_.axes.push_back(std::move(axis));
      }
    }
  }

  std::vector<std::string> AxisOrDefault(AxisKind kind, std::vector<std::string> fallback) const {
    const SpecAxis* axis = spec_.FindAxis(kind);
    return axis != nullptr ? axis->values : fallback;
  }

  // One that may declare an option axis's option: its options and how messages name it
  // ("strategy sendfile", "workload bulk").
  struct OptionOwner {
    const std::vector<OptionSpec>* options;
    std::string owner;
  };

  // Whether one of `owners` declares the axis's option; every value is checked against
  // each that does.
  bool CheckDeclaredOption(const SpecAxis& axis, const std::vector<OptionOwner>& owners) {
    bool declared = false;
    for (const OptionOwner& o : owners) {
      const bool declares = std::any_of(o.options->begin(), o.options->end(),
                                        [&](const OptionSpec& spec) { return spec.name == axis.option; });
      if (!declares) continue;
      declared = true;
      for (const auto& v : axis.values) {
        auto parsed = Options::Parse(*o.options, {{axis.option, v}}, o.owner);
        if (!parsed.ok()) problems_.Add(axis.line, axis.key, "{}", parsed.error().what());
      }
    }
    return declared;
  }

  // An option axis must be declared by at least one strategy of the matrix, and every
  // value must be valid for every strategy that declares it.
  void CheckStrategyOption(const SpecAxis& axis) {
    std::vector<std::string> names;
    std::vector<OptionOwner> owners;
    for (const auto& name : AxisOrDefault(AxisKind::kStrategy, {})) {
      const StrategyInfo* info = catalog_.FindStrategy(name);
      if (info == nullptr) continue;
      names.push_back(name);
      owners.push_back({&info->options, "strategy " + info->name});
    }
    if (!CheckDeclaredOption(axis, owners) && !names.empty()) {
      problems_.Add(axis.line, axis.key,
                    "no strategy of matrix.strategy ({}) has an option '{}' (zcbench help STRATEGY)", Join(names),
                    axis.option);
    }
  }

  // A socket option is one of the table's (stack/socket_options.h), each value of its shape;
  // the values become canonical ("1M" is 1048576), so that a point's key does not depend
  // on how the spec wrote them.
  void CheckSocketOption(SpecAxis& axis) {
    if (const SocketOptionInfo* info = FindSocketOption(axis.option)) {
      const std::vector<std::string> protocols = AxisOrDefault(AxisKind::kProtocol, {"tcp"});
      const bool applies = std::any_of(protocols.begin(), protocols.end(),
                                       [&](const std::string& p) { return info->protocols.Has(*ParseProtocol(p)); });
      if (!applies) {
        problems_.Add(axis.line, axis.key, "{} applies to TCP only, and matrix.protocol has no tcp", axis.option);
      }
    }
    std::vector<std::string> canonical;
    for (const std::string& v : axis.values) {
      auto parsed = ParseSocketOption(axis.option + "=" + v);
      if (!parsed.ok()) {
        problems_.Add(axis.line, axis.key, "{}", parsed.error().what());
        continue;
      }
      std::string value = parsed->substr(axis.option.size() + 1);
      if (std::find(canonical.begin(), canonical.end(), value) != canonical.end()) {
        problems_.Add(axis.line, axis.key, "value '{}' is listed twice", v);
        continue;
      }
      canonical.push_back(std::move(value));
    }
    axis.values = std::move(canonical);
  }

  void CheckPathOption(const SpecAxis& axis) {
    bool declared = false;
    for (const auto& name : AxisOrDefault(AxisKind::kPath, {"loopback"})) {
      const PathDefinition* def = nullptr;
      for (const auto& p : spec_.paths) {
        if (p.name == name) def = &p;
      }
      const PathInfo* info = catalog_.FindPath(def != nullptr ? def->type : name);
      if (info == nullptr) continue;
      const bool declares = std::any_of(info->options.begin(), info->options.end(),
                                        [&](const OptionSpec& o) { return o.name == axis.option; });
      if (!declares) continue;
      declared = true;
      if (def != nullptr && def->options.count(axis.option) != 0) {
        problems_.Add(axis.line, axis.key,
                      "path '{}' fixes {} in [path.{}] (line {}); vary it here or fix it there, not both", name,
                      axis.option, name, def->line);
      }
      for (const auto& v : axis.values) {
        auto parsed = Options::Parse(info->options, {{axis.option, v}}, "path " + info->name);
        if (!parsed.ok()) problems_.Add(axis.line, axis.key, "{}", parsed.error().what());
      }
    }
    if (!declared) {
      problems_.Add(axis.line, axis.key, "no path of matrix.path has an option '{}' (zcbench list paths)", axis.option);
    }
  }

  // A workload option axis must be declared by at least one workload of the matrix (bulk
  // when it has no workload axis), and every value must be valid for every workload that
  // declares it.
  void CheckWorkloadOption(const SpecAxis& axis) {
    const std::string default_workload(FindAxisParameter(AxisKind::kWorkload)->default_text);
    std::vector<std::string> names;
    std::vector<OptionOwner> owners;
    for (const auto& name : AxisOrDefault(AxisKind::kWorkload, {default_workload})) {
      const WorkloadInfo* info = catalog_.FindWorkload(name);
      if (info == nullptr) continue;
      names.push_back(name);
      owners.push_back({&info->options, "workload " + info->name});
    }
    if (!CheckDeclaredOption(axis, owners) && !names.empty()) {
      problems_.Add(axis.line, axis.key,
                    "no workload of matrix.workload ({}) has an option '{}' (zcbench help WORKLOAD)", Join(names),
                    axis.option);
    }
  }

  // The canonical values an [[exclude]] key matches.
  void ExcludeValues(ExcludeRule& rule, const std::string& key, AxisKind kind, const std::string& option,
                     const toml::node& node, const std::string& where) {
    SpecAxis scratch{kind, where, option, {}, LineOf(node)};
    if (kind == AxisKind::kStrategy && node.value_exact<std::string>() == "all") {
      problems_.Add(LineOf(node), where, "\"all\" would exclude every strategy; name the strategies");
      return;
    }
    AxisValues(scratch, node);
    if (kind == AxisKind::kSocketOption) CheckSocketOption(scratch);
    // A value the matrix never takes is a typo, not a rule.
    const SpecAxis* axis = nullptr;
    for (const auto& a : spec_.axes) {
      if (a.kind == kind && a.option == option) axis = &a;
    }
    // The values of the axes that extend it count too (the peers are strategy values).
    std::vector<std::string> taken = axis != nullptr ? axis->values : std::vector<std::string>{};
    for (const auto& a : spec_.axes) {
      const Parameter* parameter = FindAxisParameter(a.kind);
      if (parameter != nullptr && parameter->extends == kind)
        taken.insert(taken.end(), a.values.begin(), a.values.end());
    }
    for (const auto& v : scratch.values) {
      if (axis != nullptr && std::find(taken.begin(), taken.end(), v) == taken.end()) {
        problems_.Add(LineOf(node), where, "'{}' is not a value of {} ({}), so this rule can never match it", v,
                      axis->key, Join(taken));
        continue;
      }
      rule.match[key].insert(v);
    }
  }

  void ParseExcludes(const toml::node& node) {
    const toml::array* rules = node.as_array();
    if (rules == nullptr || !rules->is_array_of_tables()) {
      problems_.Add(LineOf(node), "exclude", "expected [[exclude]] tables, got {}", TypeName(node));
      return;
    }
    int index = 0;
    for (const toml::node& element : *rules) {
      const toml::table& t = *element.as_table();
      const std::string where = fmt::format("exclude[{}]", index++);
      ExcludeRule rule;
      rule.line = LineOf(t);
      for (auto&& [key, value] : t) {
        const std::string k(key.str());
        if (k == "reason") {
          if (auto s = String(value, where + ".reason")) rule.reason = *s;
          continue;
        }
        const Parameter* parameter = FindParameter(k, SpecSection::kMatrix);
        if (parameter != nullptr && parameter->kind == ValueKind::kKeyValues) {
          const toml::table* options = value.as_table();
          if (options == nullptr) {
            problems_.Add(LineOf(key), where + "." + k, "expected a table of option = value, got {}", TypeName(value));
            continue;
          }
          const AxisKind kind = *parameter->axis;
          for (auto&& [okey, ovalue] : *options) {
            const std::string option(okey.str());
            ExcludeValues(rule, k + "." + option, kind, option, ovalue, where + "." + k + "." + option);
          }
          continue;
        }
        if (parameter == nullptr) {
          std::vector<std::string> keys;
          for (const Parameter* p : PlainAxes()) keys.emplace_back(p->key);
          problems_.Add(LineOf(key), where + "." + k,
                        "unknown key; an exclude rule matches {}, strategy_options.NAME, path_options.NAME, "
                        "workload_options.NAME or socket_options.NAME, and may give a reason",
                        Join(keys));
          continue;
        }
        const std::optional<AxisKind> kind = parameter->axis;
        ExcludeValues(rule, k, *kind, "", value, where + "." + k);
      }
      if (rule.match.empty()) {
        problems_.Add(rule.line, where,
                      "matches nothing (it would exclude every point): give at least one axis = value");
        continue;
      }
      spec_.excludes.push_back(std::move(rule));
    }
  }

  // The matrix is multiplied out point by point before the first trial: a few lines can
  // ask for millions of points (minutes and gigabytes to expand, years to run). The product
  // of the axes, before exclusions, is what the expansion walks.
  void CheckMatrixSize() {
    uint64_t points = 1;
    bool overflow = false;
    std::vector<std::string> sizes;
    for (const auto& axis : spec_.axes) {
      if (axis.values.empty()) continue;
      overflow = overflow || points > std::numeric_limits<uint64_t>::max() / axis.values.size();
      points = overflow ? points : points * axis.values.size();
      sizes.push_back(fmt::format("{} {}", axis.values.size(), axis.key));
    }
    if (overflow || points > kMaxMatrixPoints) {
      problems_.Add(spec_.matrix_line, "matrix", "{} points ({}), more than the {} a run may have: split the spec",
                    overflow ? std::string("over 2^64") : std::to_string(points), fmt::join(sizes, " x "),
                    kMaxMatrixPoints);
    }
  }

  // Combinations that no strategy could serve, found before anything runs.
  void CheckCombinations() {
    if (const SpecAxis* cache = spec_.FindAxis(AxisKind::kCache)) {
      const bool cold = std::find(cache->values.begin(), cache->values.end(), "cold") != cache->values.end();
      if (cold && spec_.trial.per_trial.count("file_dir") == 0) {
        problems_.Add(cache->line, cache->key,
                      "a cold page cache needs the payload file on disk (tmpfs pages cannot be dropped): set "
                      "[trial] file_dir to a directory on a disk file system");
      }
    }
    // Path definitions that are never used are most likely a typo in matrix.path.
    const std::vector<std::string> used = AxisOrDefault(AxisKind::kPath, {"loopback"});
    for (const auto& def : spec_.paths) {
      if (std::find(used.begin(), used.end(), def.name) == used.end()) {
        problems_.Add(def.line, "path." + def.name, "defined but not used in matrix.path ({})", Join(used));
      }
    }
  }

  const SpecCatalog& catalog_;
  ExperimentSpec& spec_;
  Problems problems_;
};

std::string StemOf(const std::string& path) {
  std::string base = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  const size_t dot = base.rfind('.');
  return dot == std::string::npos || dot == 0 ? base : base.substr(0, dot);
}

}  // namespace

Result<ExperimentSpec> ParseSpec(std::string_view text, const std::string& file, const SpecCatalog& catalog) {
  ExperimentSpec spec;
  spec.file = file;
  spec.text = std::string(text);
  spec.sha256 = Sha256Hex(text);
  SpecParser parser(file, catalog, spec);
  ZCB_RETURN_IF_ERROR(parser.Parse(text));
  if (spec.name.empty()) spec.name = StemOf(file);
  if (!spec.trial.duration_s && !spec.trial.bytes) spec.trial.duration_s = 2.0;
  return spec;
}

Result<ExperimentSpec> LoadSpecFile(const std::string& path, const SpecCatalog& catalog) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return SysError(fmt::format("open the spec {}", path)).Kind(ErrorKind::kUsage);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return SysError(fmt::format("read the spec {}", path)).Kind(ErrorKind::kUsage);
  return ParseSpec(text.str(), path, catalog);
}

}  // namespace zcb
