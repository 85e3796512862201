#include "harness/matrix.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "drivers/host_constraints.h"
#include "stack/types.h"
#include "stack/udp_limits.h"

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
std::vector<std::vector<std::pair<const SpecAxis*, std::string>>> Combinations(const std::vector<const SpecAxis*>& axes) {
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
    }
    rule_hits_.assign(spec_.excludes.size(), 0);
    const auto sources = spec_.FindAxis(AxisKind::kSource);
    for (const auto& protocol : Values(spec_, AxisKind::kProtocol, {"tcp"})) {
      for (const auto& strategy : Values(spec_, AxisKind::kStrategy, {})) {
        const StrategyInfo* info = catalog_.FindStrategy(strategy);
        if (info == nullptr) continue;  // the spec parser has reported it
        const std::vector<std::string> strategy_sources =
            sources != nullptr ? sources->values : std::vector<std::string>{std::string(ToString(info->DefaultSource()))};
        const auto parsed_protocol = ParseProtocol(protocol);
        const std::string default_size =
            std::to_string(DefaultMessageSize(parsed_protocol ? *parsed_protocol : Protocol::kTcp));
        for (const auto& source : strategy_sources) {
          for (const auto& size : Values(spec_, AxisKind::kMessageSize, {default_size})) {
            for (const auto& path : Values(spec_, AxisKind::kPath, {"loopback"})) {
              for (const auto& receiver : Values(spec_, AxisKind::kReceiver, {"verify"})) {
                for (const auto& workload : Values(spec_, AxisKind::kWorkload, {"bulk"})) {
                  for (const auto& rate : Values(spec_, AxisKind::kRate, {"0"})) {
                    for (const auto& cache : Values(spec_, AxisKind::kCache, {"warm"})) {
                      for (const auto& quota : Values(spec_, AxisKind::kSenderCpuQuota, {"none"})) {
                        for (const auto& membw : Values(spec_, AxisKind::kMembwAntagonist, {"none"})) {
                          Base base{protocol, info, source, size, path, receiver, workload, rate, cache, quota, membw};
                          AddPoints(base);
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    Notes();
    return std::move(matrix_);
  }

 private:
  struct Base {
    const std::string& protocol;
    const StrategyInfo* strategy;
    const std::string& source;
    const std::string& size;
    const std::string& path;
    const std::string& receiver;
    const std::string& workload;
    const std::string& rate;
    const std::string& cache;
    const std::string& sender_cpu_quota;  // "none" or a fraction of one CPU
    const std::string& membw_antagonist;  // "none" or a CPU list
  };

  const PathDefinition* Definition(const std::string& name) const {
    for (const auto& def : spec_.paths) {
      if (def.name == name) return &def;
    }
    return nullptr;
  }

  // Why no trial can serve this combination, as (the deciding axes, the reason); empty
  // when it can be served.
  std::pair<std::string, std::string> CapabilityGap(const Base& b, const PathInfo& path) const {
    const StrategyInfo& info = *b.strategy;
    const Protocol protocol = *ParseProtocol(b.protocol);
    if (!info.Speaks(protocol)) {
      std::vector<std::string> spoken;
      for (Protocol p : AllProtocols()) {
        if (info.Speaks(p)) spoken.emplace_back(ToString(p));
      }
      return {fmt::format("protocol={} strategy={}", b.protocol, info.name),
              fmt::format("{} does not speak {} (it speaks {})", info.name, b.protocol, fmt::join(spoken, ", "))};
    }
    const SourceKind source = *ParseSourceKind(b.source);
    if (!info.CanSend(source)) {
      std::vector<std::string> can;
      for (SourceKind s : info.caps.sources) can.emplace_back(ToString(s));
      return {fmt::format("strategy={} source={}", info.name, b.source),
              fmt::format("{} cannot send from a {} source (it sends from {})", info.name, b.source, fmt::join(can, ", "))};
    }
    if (b.cache == "cold" && source != SourceKind::kFile) {
      return {fmt::format("source={} cache=cold", b.source), "a cold page cache applies to the file source only"};
    }
    if (info.caps.needs_link_layer && !path.caps.has_link_layer) {
      return {fmt::format("strategy={} path={}", info.name, b.path),
              fmt::format("{} writes Ethernet frames; path {} has no link layer", info.name, b.path)};
    }
    if (protocol == Protocol::kUdp && path.caps.remote_receiver) {
      return {fmt::format("protocol=udp path={}", b.path),
              fmt::format("path {} has its receiver on another host, which takes TCP streams only", b.path)};
    }
    if (protocol == Protocol::kUdp && std::stoull(b.size) > kMaxUdpPayloadIpv4) {
      // A size sweep shared with TCP (64K, 1M) has sizes no UDP send can carry.
      return {fmt::format("protocol=udp message_size={}", b.size),
              fmt::format("a UDP send carries at most {} bytes (one datagram, or one UDP_SEGMENT buffer per call)",
                          kMaxUdpPayloadIpv4)};
    }
    if (protocol == Protocol::kUdp && b.receiver == "zerocopy") {
      return {"protocol=udp receiver=zerocopy", "TCP_ZEROCOPY_RECEIVE has no UDP form"};
    }
    return {};
  }

  void AddPoints(const Base& b) {
    const PathDefinition* def = Definition(b.path);
    const PathInfo* path_info = catalog_.FindPath(def != nullptr ? def->type : b.path);
    if (path_info == nullptr) return;  // reported by the spec parser

    std::vector<const SpecAxis*> applicable;
    for (const SpecAxis* axis : strategy_option_axes_) {
      if (Declares(b.strategy->options, axis->option)) applicable.push_back(axis);
    }
    for (const SpecAxis* axis : path_option_axes_) {
      if (Declares(path_info->options, axis->option)) applicable.push_back(axis);
    }
    const auto combinations = Combinations(applicable);

    auto [combination, reason] = CapabilityGap(b, *path_info);
    if (!reason.empty()) {
      auto it = std::find_if(matrix_.left_out.begin(), matrix_.left_out.end(),
                             [&](const LeftOut& l) { return l.combination == combination && l.reason == reason; });
      if (it == matrix_.left_out.end()) it = matrix_.left_out.insert(matrix_.left_out.end(), LeftOut{combination, reason, 0});
      it->points += combinations.size();
      return;
    }

    for (const auto& combination_values : combinations) {
      MatrixPoint point;
      TrialSpec& s = point.spec;
      s.protocol = *ParseProtocol(b.protocol);
      s.strategy = b.strategy->name;
      s.source = *ParseSourceKind(b.source);
      s.message_size = std::stoull(b.size);
      s.receiver = *ParseReceiverMode(b.receiver);
      s.workload = b.workload;
      s.rate_bps = std::stoull(b.rate);
      s.cold_cache = b.cache == "cold";
      s.path = path_info->name;
      if (def != nullptr) s.path_options = def->options;
      const TrialSettings& t = spec_.trial;
      s.duration_s = t.duration_s;
      s.bytes = t.bytes;
      if (t.pin) {
        s.sender_cpu = t.sender_cpu;
        s.receiver_cpu = t.receiver_cpu;
        ApplyDefaultPinning(s);
      }
      s.receive_timeout_s = t.receive_timeout_s;
      if (s.protocol == Protocol::kUdp) {
        s.gro = t.udp_gro;
        s.drain_s = t.drain_s;
      }
      if (b.sender_cpu_quota != "none") s.constraints.sender_cpu_quota = std::stod(b.sender_cpu_quota);
      if (b.membw_antagonist != "none") {
        s.constraints.membw_cpus = ParseCpuList(b.membw_antagonist).value_or(std::vector<int>{});
        s.constraints.membw_buffer_bytes = t.membw_antagonist_size;
      }
      s.pattern_period = t.pattern_period;
      s.working_set = t.working_set;
      s.file_dir = t.file_dir;
      point.path_name = b.path;

      point.coords = {{"protocol", b.protocol}, {"strategy", b.strategy->name}, {"source", b.source},
                      {"message_size", b.size}, {"path", b.path},             {"receiver", b.receiver},
                      {"workload", b.workload}, {"rate", b.rate},             {"cache", b.cache},
                      {"sender_cpu_quota", b.sender_cpu_quota},                {"membw_antagonist", b.membw_antagonist}};
      point.label = fmt::format("{} {} {} {} {} {}", b.protocol, b.strategy->name, b.source, FormatSize(s.message_size),
                                b.path, b.receiver);
      if (spec_.FindAxis(AxisKind::kWorkload) != nullptr) point.label += " " + b.workload;
      if (s.rate_bps != 0) point.label += fmt::format(" rate={}", b.rate);
      if (s.cold_cache) point.label += " cold";
      if (b.sender_cpu_quota != "none") point.label += fmt::format(" quota={}", b.sender_cpu_quota);
      if (b.membw_antagonist != "none") point.label += fmt::format(" membw={}", b.membw_antagonist);
      for (const auto& [axis, value] : combination_values) {
        point.coords[axis->key.substr(std::string_view("matrix.").size())] = value;
        if (axis->kind == AxisKind::kStrategyOption) s.options[axis->option] = value;
        else s.path_options[axis->option] = value;
        point.label += fmt::format(" {}={}", axis->option, value);
      }

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
        matrix_.notes.push_back(fmt::format("{}: the [[exclude]] rule here matched no point (its points may have been "
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
  std::vector<const SpecAxis*> strategy_option_axes_;
  std::vector<const SpecAxis*> path_option_axes_;
  std::vector<size_t> rule_hits_;
  Matrix matrix_;
};

}  // namespace

Matrix ExpandMatrix(const ExperimentSpec& spec, const SpecCatalog& catalog) { return Expander(spec, catalog).Expand(); }

}  // namespace zcb
