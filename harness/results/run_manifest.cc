#include "harness/results/run_manifest.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "drivers/network_path.h"
#include "harness/results/host_profile.h"
#include "harness/trial/trial_record.h"

namespace zcb {
namespace {

// The name a path variant goes by in manifest.paths: the matrix's path name, plus the
// options that vary on it ("veth sg=off").
std::string PathVariantName(const PlannedPoint& p, const ExperimentSpec& spec) {
  std::string name = p.point.path_name;
  const PathDefinition* def = nullptr;
  for (const auto& d : spec.paths) {
    if (d.name == p.point.path_name) def = &d;
  }
  for (const auto& [k, v] : p.measured.spec.path_options) {
    if (def != nullptr && def->options.count(k) != 0) continue;  // part of the definition's name
    name += fmt::format(" {}={}", k, v);
  }
  return name;
}

}  // namespace

std::vector<std::string> ProcessCommandLine() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::ostringstream data;
  data << in.rdbuf();
  std::vector<std::string> args;
  std::string text = data.str();
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\0', start);
    if (end == std::string::npos) end = text.size();
    args.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return args;
}

std::string NewRunId(const std::string& experiment_name) {
  std::string name;
  for (char c : experiment_name) {
    name += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ? c : '-';
  }
  if (name.empty() || name[0] == '.') name = "run" + name;
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  return fmt::format("{}-{}", name, stamp);
}

nlohmann::json DescribePlanPaths(const RunPlan& plan) {
  nlohmann::json paths = nlohmann::json::object();
  for (const auto& p : plan.points) {
    const std::string name = PathVariantName(p, plan.spec);
    if (paths.contains(name)) continue;
    const TrialSpec& s = p.measured.spec;
    nlohmann::json entry;
    entry["type"] = s.path;
    entry["options"] = s.path_options;
    const PathInfo* info = SpecCatalog::Registered().FindPath(s.path);
    if (info != nullptr && info->caps.needs_root && p.unsupported.find("path ") == 0) {
      entry["description"] = info->summary;
      entry["interfaces"] = nlohmann::json::array();
      entry["error"] = p.unsupported;
      paths[name] = entry;
      continue;
    }
    // Set the path up once to read what the kernel made of it; torn down at once.
    auto path = CreatePath(s.path, s.path_options);
    if (!path.ok()) {
      entry["description"] = info != nullptr ? nlohmann::json(info->summary) : nlohmann::json(nullptr);
      entry["interfaces"] = nlohmann::json::array();
      entry["error"] = path.error().ToString();
    } else {
      nlohmann::json described = (*path)->Describe();
      for (auto& [k, v] : described.items()) entry[k] = v;
      if (!entry.contains("interfaces")) entry["interfaces"] = nlohmann::json::array();
      if (!entry.contains("description")) entry["description"] = info != nullptr ? info->summary : "";
      entry["capabilities"] = {{"needs_root", (*path)->capabilities().needs_root},
                               {"has_link_layer", (*path)->capabilities().has_link_layer},
                               {"local_delivery", (*path)->capabilities().local_delivery},
                               {"has_receiver", (*path)->capabilities().has_receiver}};
    }
    paths[name] = entry;
  }
  return paths;
}

nlohmann::json PlanJson(const RunPlan& plan) {
  nlohmann::json points = nlohmann::json::array();
  for (const auto& p : plan.points) {
    nlohmann::json entry = {{"label", p.point.label}, {"point", p.key}};
    if (!p.unsupported.empty()) entry["unsupported"] = p.unsupported;
    points.push_back(entry);
  }
  nlohmann::json left_out = nlohmann::json::array();
  for (const auto& l : plan.matrix.left_out) {
    left_out.push_back({{"combination", l.combination}, {"reason", l.reason}, {"points", l.points}});
  }
  nlohmann::json excluded = nlohmann::json::array();
  for (const auto& e : plan.matrix.excluded) {
    excluded.push_back({{"label", e.label}, {"rule_line", e.rule_line}, {"reason", e.reason}});
  }
  return {{"points", points}, {"left_out", left_out}, {"excluded", excluded}, {"notes", plan.matrix.notes}};
}

nlohmann::json NewManifest(const RunPlan& plan, const ManifestInputs& inputs) {
  const RepeatPolicy& policy = plan.policy;
  nlohmann::json m;
  m["schema"] = kRunSchema;
  m["run_id"] = inputs.run_id;
  m["state"] = "running";
  m["started_at"] = NowIso8601();
  m["ended_at"] = nullptr;
  m["command_line"] = inputs.command_line;
  // A run started from the command line (`run -s ... --out DIR`) has no spec: its
  // command_line is what it ran, and `spec` is null rather than an empty text and hash.
  if (plan.spec.sha256.empty()) {
    m["spec"] = nullptr;
  } else {
    m["spec"] = {{"text", plan.spec.text},
                 {"sha256", plan.spec.sha256},
                 {"path", plan.spec.file},
                 {"name", plan.spec.name},
                 {"description", plan.spec.description}};
  }
  m["seed"] = plan.seed;
  m["run_options"] = {{"quick", plan.quick}, {"fail_fast", inputs.fail_fast}};
  m["repeat"] = {{"warmup", policy.warmup},
                 {"min", policy.min},
                 {"max", policy.max},
                 {"confidence", policy.confidence},
                 {"relative_half_width", policy.half_width},
                 {"metrics", {"goodput_bps", "cpu.ns_per_kib"}},
                 {"max_consecutive_errors", Scheduler::kMaxConsecutiveErrors}};
  m["probes"] = plan.spec.trial.probes;
  m["zcbench"] = ZcbenchInfo();
  m["build"] = BuildInfo();
  m["libraries"] = LibraryVersions();
  m["host"] = HostProfile();
  m["paths"] = DescribePlanPaths(plan);
  m["plan"] = PlanJson(plan);
  m["counts"] = {{"ok", 0}, {"error", 0}, {"unsupported", 0}, {"warmup", 0}, {"trials", 0}};
  m["pid"] = ::getpid();
  m["resumes"] = nlohmann::json::array();
  return m;
}

}  // namespace zcb
