#include "harness/plan/run_plan.h"

#include <unistd.h>

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "drivers/privilege.h"
#include "harness/peers/peer_registry.h"
#include "harness/plan/parameters.h"
#include "stack/registry.h"

namespace zcb {
namespace {

// Set-up and teardown around a trial's window: sockets and threads on loopback; on a
// device path also the namespaces, links and their description.
constexpr double kTrialOverheadS = 0.05;
constexpr double kDevicePathOverheadS = 0.4;
// A peer's server start and its client's connection and report.
constexpr double kPeerStartS = 0.3;
// For the estimate of byte-count trials only.
constexpr double kAssumedGoodputBps = 10e9;

// Why no trial of this point can run here, or "".
std::string Unsupported(const ResolvedTrial& trial, const PathInfo& path) {
  // A peer's programs are looked up in the trial's --peer-dir before PATH.
  if (trial.peer != nullptr) {
    for (const std::string& program : trial.peer->programs()) {
      auto found = FindPeerProgram(*trial.peer, program, trial.spec.peer_dir);
      if (!found.ok()) return found.error().what();
    }
  } else if (const Availability& availability = ProbeAvailability(*trial.strategy); !availability.available) {
    return fmt::format("strategy {} is not available here: {}", trial.strategy->name, availability.reason);
  }
  // The same words as the path's and the constraint's own checks, made before anything runs.
  if (path.caps.needs_root) {
    Status privileged = RequireCapabilities({Capability::kNetAdmin, Capability::kSysAdmin}, "path " + path.name,
                                            "to create network namespaces and links");
    if (!privileged.ok()) return privileged.error().what();
  }
  // A CPU quota is a cgroup: creating one takes CAP_SYS_ADMIN.
  if (trial.spec.constraints.sender_cpu_quota) {
    Status privileged = RequireCapabilities({Capability::kSysAdmin}, "a sender CPU quota", "to create a cgroup");
    if (!privileged.ok()) return privileged.error().what();
  }
  return "";
}

}  // namespace

Result<PlannedPoint> PlanPoint(MatrixPoint point, const TrialSpec& measured, const TrialSpec& warmup,
                               const SpecCatalog& catalog) {
  PlannedPoint planned;
  ZCB_ASSIGN_OR_RETURN(planned.measured, ResolveTrial(measured));
  ZCB_ASSIGN_OR_RETURN(planned.warmup, ResolveTrial(warmup));
  planned.params = TrialParams::Of(planned.measured).ToJson();
  planned.params["path_name"] = point.path_name;
  planned.key = PointKey(planned.measured);
  const PathInfo* path = catalog.FindPath(planned.measured.spec.path);
  planned.unsupported = path != nullptr ? Unsupported(planned.measured, *path) : "";
  planned.point = std::move(point);
  return planned;
}

Result<RunPlan> BuildCommandLinePlan(ExperimentSpec spec, const std::vector<TrialSpec>& trials, uint64_t seed) {
  RunPlan plan;
  plan.seed = seed;
  // One trial per point, no warm-up, in the order given.
  plan.policy = RepeatPolicy{0, 1, 1, spec.repeat.confidence_pct / 100, spec.repeat.half_width_pct / 100, false};
  for (TrialSpec trial : trials) {
    trial.seed = seed;
    ZCB_ASSIGN_OR_RETURN(PlannedPoint planned, PlanPoint(MakePoint(trial), trial, trial, SpecCatalog::Registered()));
    // The same strategy twice is measured twice; a record finds its point by key.
    plan.index_by_key.emplace(planned.key, plan.points.size());
    plan.points.push_back(std::move(planned));
  }
  plan.spec = std::move(spec);
  return plan;
}

uint64_t DrawSeed() {
  std::random_device device;
  // 53 bits: the seed stays exact when a JSON reader holds it as a double.
  return ((static_cast<uint64_t>(device()) << 32) | device()) & ((1ull << 53) - 1);
}

Result<RunPlan> BuildRunPlan(ExperimentSpec spec, const SpecCatalog& catalog, uint64_t seed, bool quick) {
  RunPlan plan;
  plan.matrix = ExpandMatrix(spec, catalog);
  plan.seed = seed;
  plan.quick = quick;
  const RepeatSettings& r = spec.repeat;
  plan.policy = RepeatPolicy{spec.trial.warmup, r.min, r.max, r.confidence_pct / 100, r.half_width_pct / 100};
  if (quick) plan.policy = RepeatPolicy{0, 1, 1, plan.policy.confidence, plan.policy.half_width};

  // Problems with the same cause are reported once, with how many points they hit.
  struct Problem {
    std::string first_label;
    size_t points = 0;
  };
  std::map<std::string, Problem> problems;
  std::vector<std::string> problem_order;
  auto problem = [&](const std::string& message, const std::string& label) {
    auto [it, inserted] = problems.try_emplace(message, Problem{label, 0});
    if (inserted) problem_order.push_back(message);
    ++it->second.points;
  };

  for (MatrixPoint& point : plan.matrix.points) {
    TrialSpec measured = point.spec;
    measured.seed = seed;
    if (quick) {
      if (measured.duration_s) measured.duration_s = std::min(*measured.duration_s, kQuickDurationS);
      if (measured.bytes) measured.bytes = std::min(*measured.bytes, kQuickBytes);
    }
    TrialSpec warmup = measured;
    if (warmup.duration_s && spec.trial.warmup_duration_s) warmup.duration_s = spec.trial.warmup_duration_s;
    if (warmup.bytes && spec.trial.warmup_bytes) warmup.bytes = spec.trial.warmup_bytes;

    const std::string label = point.label;
    auto planned_point = PlanPoint(std::move(point), measured, warmup, catalog);
    if (!planned_point.ok()) {
      problem(planned_point.error().ToString(), label);
      continue;
    }
    PlannedPoint& planned = *planned_point;
    auto [existing, inserted] = plan.index_by_key.emplace(planned.key, plan.points.size());
    if (!inserted) {
      problem(fmt::format("points '{}' and '{}' are the same measurement (key {}); two [path.NAME] tables with the "
                          "same type and options?",
                          plan.points[existing->second].point.label, planned.point.label, planned.key),
              planned.point.label);
      continue;
    }
    plan.points.push_back(std::move(planned));
  }
  if (!problems.empty()) {
    std::string message;
    for (const auto& text : problem_order) {
      const Problem& p = problems[text];
      if (!message.empty()) message += "\n";
      message += fmt::format("{}: matrix: {}{}: {}", spec.Where(spec.matrix_line), p.first_label,
                             p.points > 1 ? fmt::format(" (and {} more points)", p.points - 1) : "", text);
    }
    return Usagef("{}", message);
  }
  if (plan.points.empty()) {
    return Usagef("{}: matrix: no point is left to run ({} left out by capability, {} excluded); see --dry-run",
                  spec.Where(spec.matrix_line), plan.matrix.left_out.size(), plan.matrix.excluded.size());
  }
  plan.spec = std::move(spec);
  return plan;
}

double EstimateTrialSeconds(const PlannedPoint& point, bool warmup) {
  const TrialSpec& s = warmup ? point.warmup.spec : point.measured.spec;
  double window = s.duration_s ? *s.duration_s : static_cast<double>(s.bytes.value_or(0)) * 8 / kAssumedGoodputBps;
  // A peer runs as long as its tool does (whole seconds for iperf3 and sockperf), after
  // its server has started.
  if (const PeerTool* peer = point.measured.peer; peer != nullptr && s.duration_s) {
    PeerInvocation invocation;
    invocation.duration_s = *s.duration_s;
    window = peer->Commands(invocation).client_run_s + kPeerStartS;
  }
  if (s.rate_bps > 0 && s.bytes) window = static_cast<double>(*s.bytes) * 8 / static_cast<double>(s.rate_bps);
  const PathInfo* path = SpecCatalog::Registered().FindPath(s.path);
  return window + kTrialOverheadS + (path != nullptr && path->caps.needs_root ? kDevicePathOverheadS : 0);
}

std::string FormatDuration(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02d}:{:02d}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02d}", s / 60, s % 60);
}

PlanSeconds EstimatePlanSeconds(const RunPlan& plan) {
  const RepeatPolicy& policy = plan.policy;
  PlanSeconds seconds;
  for (const auto& p : plan.points) {
    if (!p.unsupported.empty()) continue;  // recorded once, without a trial
    const double w = policy.warmup * EstimateTrialSeconds(p, true);
    seconds.at_least += w + policy.min * EstimateTrialSeconds(p, false);
    seconds.at_most += w + policy.max * EstimateTrialSeconds(p, false);
  }
  return seconds;
}

std::string FormatPlan(const RunPlan& plan) {
  const ExperimentSpec& spec = plan.spec;
  const RepeatPolicy& policy = plan.policy;
  std::string out;
  out += fmt::format("experiment {}{}\n", spec.name, spec.description.empty() ? "" : ": " + spec.description);
  out += fmt::format("spec {} (sha256 {})\n", spec.file, spec.sha256);
  out += fmt::format("seed {}{}\n", plan.seed, spec.seed ? "" : " (drawn for this run; recorded in the manifest)");
  if (plan.quick)
    out += "--quick: one repetition per point, no warm-up, short trials (a smoke test, not a measurement)\n";
  const TrialSpec& first = plan.points.front().measured.spec;
  out += fmt::format(
      "trials: {}; warm-up: {} per point; repetitions: {} to {}, until the {:g}% confidence interval of "
      "goodput and of CPU per KiB is within +-{:g}% of the mean\n",
      first.duration_s ? fmt::format("{:g} s each", *first.duration_s)
                       : fmt::format("{} bytes each", FormatSize(first.bytes.value_or(0))),
      policy.warmup, policy.min, policy.max, policy.confidence * 100, policy.half_width * 100);

  size_t unsupported = 0;
  out += fmt::format("\npoints ({}):\n", plan.points.size());
  for (const auto& p : plan.points) {
    out +=
        fmt::format("  {}{}\n", p.point.label, p.unsupported.empty() ? "" : "  [unsupported: " + p.unsupported + "]");
    if (!p.unsupported.empty()) ++unsupported;
  }
  if (!plan.matrix.left_out.empty()) {
    size_t total = 0;
    for (const auto& l : plan.matrix.left_out) total += l.points;
    out += fmt::format("\nleft out by capability ({} points):\n", total);
    for (const auto& l : plan.matrix.left_out) {
      out += fmt::format("  {}: {} ({} point{})\n", l.combination, l.reason, l.points, l.points == 1 ? "" : "s");
    }
  }
  if (!plan.matrix.excluded.empty()) {
    out += fmt::format("\nexcluded by [[exclude]] ({} points):\n", plan.matrix.excluded.size());
    for (const auto& e : plan.matrix.excluded) {
      out += fmt::format("  {}  ({}{})\n", e.label, spec.Where(e.rule_line), e.reason.empty() ? "" : ": " + e.reason);
    }
  }
  for (const auto& note : plan.matrix.notes) out += fmt::format("\nnote: {}\n", note);

  size_t warmups = 0, at_least = 0, at_most = 0;
  for (const auto& p : plan.points) {
    if (!p.unsupported.empty()) {
      ++at_least;
      ++at_most;
      continue;
    }
    warmups += static_cast<size_t>(policy.warmup);
    at_least += static_cast<size_t>(policy.min);
    at_most += static_cast<size_t>(policy.max);
  }
  const PlanSeconds seconds = EstimatePlanSeconds(plan);
  out += fmt::format("\ntrials: {} warm-up + {} measured{}", warmups, at_least,
                     at_most != at_least ? fmt::format(" (up to {} if points do not converge)", at_most) : "");
  if (unsupported > 0)
    out += fmt::format("; {} unsupported point{} recorded once", unsupported, unsupported == 1 ? "" : "s");
  out += fmt::format("\nestimated time: {}", FormatDuration(seconds.at_least));
  if (seconds.at_most > seconds.at_least + 0.5) out += fmt::format(" to {}", FormatDuration(seconds.at_most));
  out += "\n";
  return out;
}

}  // namespace zcb
