#include "harness/plan/matrix.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "harness/peers/peer_registry.h"
#include "harness/plan/parameters.h"
#include "stack/socket_options.h"
#include "stack/types.h"

namespace zcb {
namespace {

std::vector<std::string> Values(const ExperimentSpec& spec, AxisKind kind, std::vector<std::string> fallback) {
  const SpecAxis* axis = spec.FindAxis(kind);
  return axis != nullptr ? axis->values : fallback;
}

bool Declares(const std::vector<OptionSpec>& options, const std::string& name) {
  return std::any_of(options.begin(), options.end(), [&](const OptionSpec& o) { return o.name == name; });
}

// Every combination of the given axes (an odometer); one empty combination for none.
std::vector<std::vector<std::pair<const SpecAxis*, std::string>>> Combinations(
    const std::vector<const SpecAxis*>& axes) {
  std::vector<std::vector<std::pair<const SpecAxis*, std::string>>> out(1);
  for (const SpecAxis* axis : axes) {
    std::vector<std::vector<std::pair<const SpecAxis*, std::string>>> next;
    for (const auto& partial : out) {
      for (const auto& v : axis->values) {
        auto extended = partial;
        extended.emplace_back(axis, v);
        next.push_back(std::move(extended));
      }
    }
    out = std::move(next);
  }
  return out;
}

bool Matches(const ExcludeRule& rule, const std::map<std::string, std::string>& coords) {
  for (const auto& [key, values] : rule.match) {
    auto it = coords.find(key);
    if (it == coords.end() || values.count(it->second) == 0) return false;
  }
  return true;
}

class Expander {
 public:
  Expander(const ExperimentSpec& spec, const SpecCatalog& catalog) : spec_(spec), catalog_(catalog) {}

  Matrix Expand() {
    for (const auto& axis : spec_.axes) {
      if (axis.kind == AxisKind::kStrategyOption) strategy_option_axes_.push_back(&axis);
      if (axis.kind == AxisKind::kPathOption) path_option_axes_.push_back(&axis);
      if (axis.kind == AxisKind::kWorkloadOption) workload_option_axes_.push_back(&axis);
      if (axis.kind == AxisKind::kSocketOption) socket_option_axes_.push_back(&axis);
    }
    for (const Parameter* p : ParametersIn(SpecSection::kMatrix)) {
      if (p->apply != nullptr) plain_axes_.push_back(p);
    }
    rule_hits_.assign(spec_.excludes.size(), 0);
    Walk(0, TrialSpec{});
    Notes();
    return std::move(matrix_);
  }

 private:
  // The plain axes in table order (an odometer, the first varying slowest): each axis's
  // values, or its default for the point so far (the strategy's first source, the
  // protocol's message size).
  void Walk(size_t index, const TrialSpec& so_far) {
    if (index == plain_axes_.size()) {
      AddPoints(so_far);
      return;
    }
    const Parameter& parameter = *plain_axes_[index];
    std::vector<std::string> values;
    if (const SpecAxis* axis = spec_.FindAxis(*parameter.axis)) {
      values = axis->values;
      // The values of the axes that extend this one (the peers, the strategy's), after its own.
      for (const Parameter* extension : ParametersIn(SpecSection::kMatrix)) {
        if (extension->extends != parameter.axis) continue;
        const std::vector<std::string> more = Values(spec_, *extension->axis, {});
        values.insert(values.end(), more.begin(), more.end());
      }
    } else if (parameter.default_for != nullptr) {
      values = {parameter.default_for(so_far, catalog_)};
    } else if (!parameter.default_text.empty()) {
      values = {std::string(parameter.default_text)};
    }
    for (const auto& value : values) {
      TrialSpec next = so_far;
      parameter.apply(value, next);
      Walk(index + 1, next);
    }
  }

  const PathDefinition* Definition(const std::string& name) const {
    for (const auto& def : spec_.paths) {
      if (def.name == name) return &def;
    }
    return nullptr;
  }

  // Counts `points` left out for `combination`, listed once with its reason.
  void LeaveOut(const std::string& combination, const std::string& reason, size_t points) {
    auto it = std::find_if(matrix_.left_out.begin(), matrix_.left_out.end(),
                           [&](const LeftOut& l) { return l.combination == combination && l.reason == reason; });
    if (it == matrix_.left_out.end())
      it = matrix_.left_out.insert(matrix_.left_out.end(), LeftOut{combination, reason, 0});
    it->points += points;
  }

  void AddPoints(TrialSpec base) {
    const PeerTool* peer = FindPeer(base.strategy);
    const StrategyInfo* info = peer != nullptr ? &PeerStrategyInfo(*peer) : catalog_.FindStrategy(base.strategy);
    if (info == nullptr) return;  // the spec parser has reported it
    const PathDefinition* def = Definition(base.path_name);
    if (def != nullptr) {
      base.path = def->type;
      base.path_options = def->options;
    }
    const PathInfo* path_info = catalog_.FindPath(base.path);
    if (path_info == nullptr) return;  // reported by the spec parser
    // A peer runs where its capabilities hold (its options: none; the axes of zcbench's
    // own strategies and workloads do not vary it).
    if (peer != nullptr) {
      const std::string path_name = base.path_name.empty() ? base.path : base.path_name;
      const auto gaps = PeerGaps(*peer, base.protocol, base.workload, base.message_size, *path_info, path_name);
      if (!gaps.empty()) {
        LeaveOut(gaps.front().combination, gaps.front().reason, 1);
        return;
      }
    }

    std::vector<const SpecAxis*> applicable;
    for (const SpecAxis* axis : strategy_option_axes_) {
      if (Declares(info->options, axis->option)) applicable.push_back(axis);
    }
    for (const SpecAxis* axis : path_option_axes_) {
      if (Declares(path_info->options, axis->option)) applicable.push_back(axis);
    }
    // A peer takes no socket options of zcbench's (its tool has its own), and the workload's
    // options only when it serves what they describe (nginx_wrk: the file set).
    const bool takes_workload_options = peer == nullptr || peer->capabilities().takes_workload_options;
    const WorkloadInfo* workload = takes_workload_options ? catalog_.FindWorkload(base.workload) : nullptr;
    if (workload != nullptr) {
      for (const SpecAxis* axis : workload_option_axes_) {
        if (Declares(workload->options, axis->option)) applicable.push_back(axis);
      }
    }
    // A socket option varies where it applies (nodelay: on the TCP points).
    for (const SpecAxis* axis : socket_option_axes_) {
      if (peer == nullptr && FindSocketOption(axis->option)->protocols.Has(base.protocol)) applicable.push_back(axis);
    }
    const auto combinations = Combinations(applicable);

    const auto gaps = CheckCompatibility(*info, *path_info, base, base.source.value_or(info->DefaultSource()),
                                         catalog_.FindWorkload(base.workload));
    if (!gaps.empty()) {
      LeaveOut(gaps.front().combination, gaps.front().reason, combinations.size());
      return;
    }

    ApplyTrialSettings(spec_.trial, base, /*where_applicable=*/true);
    for (const auto& combination_values : combinations) {
      TrialSpec spec = base;
      std::vector<std::pair<std::string, std::string>> option_coords;
      for (const auto& [axis, value] : combination_values) {
        (spec.*FindAxisParameter(axis->kind)->key_values)[axis->option] = value;
        option_coords.emplace_back(axis->key.substr(std::string_view("matrix.").size()), value);
      }
      if (peer != nullptr) {
        const std::string path_name = base.path_name.empty() ? base.path : base.path_name;
        const auto option_gaps = PeerGaps(*peer, spec.protocol, spec.workload, spec.message_size, *path_info, path_name,
                                          spec.workload_options);
        if (!option_gaps.empty()) {
          LeaveOut(option_gaps.front().combination, option_gaps.front().reason, 1);
          continue;
        }
      }
      MatrixPoint point = MakePoint(std::move(spec));
      // The label names the varied options in the order of their axes.
      for (const auto& [axis, value] : combination_values) point.label += fmt::format(" {}={}", axis->option, value);
      for (auto& [key, value] : option_coords) point.coords[key] = value;

      bool excluded = false;
      for (size_t i = 0; i < spec_.excludes.size() && !excluded; ++i) {
        if (!Matches(spec_.excludes[i], point.coords)) continue;
        ++rule_hits_[i];
        matrix_.excluded.push_back({point.label, spec_.excludes[i].line, spec_.excludes[i].reason});
        excluded = true;
      }
      if (!excluded) matrix_.points.push_back(std::move(point));
    }
  }

  void Notes() {
    for (size_t i = 0; i < spec_.excludes.size(); ++i) {
      if (rule_hits_[i] == 0) {
        matrix_.notes.push_back(
            fmt::format("{}: the [[exclude]] rule here matched no point (its points may have been "
                        "left out by capability already)",
                        spec_.Where(spec_.excludes[i].line)));
      }
    }
    for (const SpecAxis* axis : strategy_option_axes_) {
      std::vector<std::string> with, without;
      for (const auto& name : Values(spec_, AxisKind::kStrategy, {})) {
        const StrategyInfo* info = catalog_.FindStrategy(name);
        if (info == nullptr) continue;
        (Declares(info->options, axis->option) ? with : without).push_back(name);
      }
      if (!without.empty()) {
        matrix_.notes.push_back(fmt::format("{} varies for {} only; {} run with their defaults", axis->key,
                                            fmt::join(with, ", "), fmt::join(without, ", ")));
      }
    }
  }

  const ExperimentSpec& spec_;
  const SpecCatalog& catalog_;
  std::vector<const Parameter*> plain_axes_;
  std::vector<const SpecAxis*> strategy_option_axes_;
  std::vector<const SpecAxis*> path_option_axes_;
  std::vector<const SpecAxis*> workload_option_axes_;
  std::vector<const SpecAxis*> socket_option_axes_;
  std::vector<size_t> rule_hits_;
  Matrix matrix_;
};

}  // namespace

Matrix ExpandMatrix(const ExperimentSpec& spec, const SpecCatalog& catalog) { return Expander(spec, catalog).Expand(); }

MatrixPoint MakePoint(TrialSpec spec) {
  PointIdentity identity = IdentifyPoint(spec);
  MatrixPoint point;
  point.path_name = spec.path_name.empty() ? spec.path : spec.path_name;
  point.coords = std::move(identity.coords);
  point.label = std::move(identity.label);
  point.spec = std::move(spec);
  return point;
}

void ApplyTrialSettings(const TrialSettings& t, TrialSpec& s, bool where_applicable) {
  s.duration_s = t.duration_s;
  s.bytes = t.bytes;
  if (t.pin) {
    s.sender_cpu = t.sender_cpu;
    s.receiver_cpu = t.receiver_cpu;
    ApplyDefaultPinning(s);
    // -1: this side is not pinned (the other keeps its default).
    if (s.sender_cpu == -1) s.sender_cpu.reset();
    if (s.receiver_cpu == -1) s.receiver_cpu.reset();
  }
  // The settings that are a field of each trial, through the table. A setting that does
  // not apply to the point's protocol (UDP_GRO on the TCP points of a spec shared by both)
  // is left at its default there; on the command line it is applied, and ResolveTrial
  // refuses it with a message.
  for (const auto& [key, canonical] : t.per_trial) {
    const Parameter* parameter = FindParameter(key, SpecSection::kTrial);
    if (where_applicable && !parameter->applies.Holds(s.protocol)) continue;
    parameter->apply(canonical, s);
  }
}

}  // namespace zcb
