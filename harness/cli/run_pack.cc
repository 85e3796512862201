// zcbench run DIR: a pack is a loop over the specs of a folder, each run by RunSpec into
// its own subfolder of the pack's output folder, with pack.json saying which specs, their
// sha256 and how far each got. Nothing here runs a trial: a pack adds only the loop.

#include "harness/cli/run_pack.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/cli/commands.h"
#include "harness/plan/run_plan.h"
#include "harness/plan/spec.h"
#include "harness/results/json_fields.h"
#include "harness/results/results_store.h"
#include "harness/results/run_manifest.h"
#include "harness/trial/trial_record.h"

namespace zcb::cli {
namespace {

namespace fs = std::filesystem;

int Stop(const Error& error) { return StopOn("run", error); }

// One spec of the pack: its file in the pack's folder and its run's subfolder.
struct PackSpec {
  std::string file;     // "s1_shaped.toml"
  std::string path;     // the pack folder as given + file
  std::string run_dir;  // "s1_shaped": a subfolder of the pack's output folder
  std::string sha256;
  RunPlan plan;  // checked before anything runs
};

Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Usagef("cannot read {}", path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The spec files of a pack folder, sorted by name; claims.toml is not a spec.
Result<std::vector<std::string>> SpecFilesOf(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && entry.path().extension() == ".toml" && name != kClaimsFile) files.push_back(name);
  }
  if (ec) return Usagef("pack {}: {}", dir, ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) return Usagef("pack {}: no *.toml experiment spec in this folder", dir);
  return files;
}

// Loads and plans one spec of the pack; the error names its file (as the parser's do).
Result<PackSpec> CheckSpec(const std::string& pack_dir, const std::string& file, bool quick) {
  PackSpec s;
  s.file = file;
  s.path = (fs::path(pack_dir) / file).string();
  s.run_dir = fs::path(file).stem().string();
  const SpecCatalog& catalog = SpecCatalog::Registered();
  auto spec = LoadSpecFile(s.path, catalog);
  if (!spec.ok()) return Usagef("pack {}: {}", pack_dir, spec.error().ToString());
  s.sha256 = spec->sha256;
  const uint64_t seed = spec->seed.value_or(0);
  auto plan = BuildRunPlan(std::move(*spec), catalog, seed, quick);
  if (!plan.ok()) return Usagef("pack {}: {}", pack_dir, plan.error().ToString());
  s.plan = std::move(*plan);
  return s;
}

std::string PackName(const std::string& dir) {
  const std::string name = fs::path(dir).lexically_normal().filename().string();
  return name.empty() ? fs::absolute(dir).lexically_normal().parent_path().filename().string() : name;
}

// The state a spec's run folder records: its manifest's state, or "pending" before it has one.
std::string RunState(const std::string& run_dir) {
  std::ifstream in(fs::path(run_dir) / "manifest.json");
  if (!in) return "pending";
  const nlohmann::json manifest = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  const std::string state = StringField(manifest, "state");
  return state.empty() ? "pending" : state;
}

// The pack's state from its specs': interrupted or failed if one is, complete if all are.
std::string PackState(const nlohmann::json& specs) {
  bool all_complete = true;
  for (const auto& s : specs) {
    const std::string state = StringField(s, "state");
    if (state == "interrupted" || state == "failed") return state;
    all_complete = all_complete && state == "complete";
  }
  return all_complete ? "complete" : "interrupted";
}

std::string ResumePackCommand(const std::string& out) {
  return fmt::format("zcbench run --resume {}", ShellQuote(out));
}

int PrintDryRun(const std::string& name, const std::vector<PackSpec>& specs) {
  PlanSeconds total;
  for (const PackSpec& s : specs) {
    fmt::print("=== {} (into {}/) ===\n{}\n", s.path, s.run_dir, FormatPlan(s.plan));
    const PlanSeconds seconds = EstimatePlanSeconds(s.plan);
    total.at_least += seconds.at_least;
    total.at_most += seconds.at_most;
  }
  fmt::print("pack {}: {} specs; estimated time {}", name, specs.size(), FormatDuration(total.at_least));
  if (total.at_most > total.at_least + 0.5) fmt::print(" to {}", FormatDuration(total.at_most));
  fmt::print("\n");
  return kExitOk;
}

// A new pack run: every spec checked, the output folder made, claims.toml copied.
Result<nlohmann::json> StartPack(const SpecRunArgs& args, const std::vector<PackSpec>& specs, std::string& out) {
  const std::string name = PackName(args.spec_path);
  out = args.out.empty() ? fmt::format("results/{}", NewRunId(name)) : args.out;
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return Errorf("cannot create {}: {}", out, ec.message());
  if (!fs::is_empty(out, ec)) return Usagef("--out {}: the folder exists and is not empty", out);
  nlohmann::json claims = nullptr;
  const fs::path claims_source = fs::path(args.spec_path) / kClaimsFile;
  if (fs::exists(claims_source)) {
    ZCB_ASSIGN_OR_RETURN(const std::string text, ReadText(claims_source.string()));
    ZCB_RETURN_IF_ERROR(WriteFileAtomically((fs::path(out) / kClaimsFile).string(), text));
    claims = {{"file", kClaimsFile}, {"sha256", Sha256Hex(text)}};
  }
  nlohmann::json entries = nlohmann::json::array();
  for (const PackSpec& s : specs) {
    entries.push_back({{"file", s.file}, {"sha256", s.sha256}, {"run_dir", s.run_dir}, {"state", "pending"}});
  }
  return nlohmann::json{{"schema", kPackSchema},
                        {"name", name},
                        {"source", args.spec_path},
                        {"started_at", NowIso8601()},
                        {"ended_at", nullptr},
                        {"state", "running"},
                        {"quick", args.quick},
                        {"fail_fast", args.fail_fast},
                        {"command_line", ProcessCommandLine()},
                        {"claims", claims},
                        {"specs", entries}};
}

Result<nlohmann::json> ReadPackManifest(const std::string& dir) {
  ZCB_ASSIGN_OR_RETURN(const std::string text, ReadText((fs::path(dir) / kPackManifestFile).string()));
  nlohmann::json pack = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!pack.is_object() || StringField(pack, "schema") != kPackSchema || !pack.contains("specs") ||
      !pack["specs"].is_array()) {
    return Usagef("--resume {}: {} is not a {} manifest", dir, kPackManifestFile, kPackSchema);
  }
  return pack;
}

// The specs of a pack being resumed that have not started: checked against the sha256
// recorded, like a single spec's resume.
Result<std::vector<PackSpec>> CheckUnstarted(const std::string& out, const nlohmann::json& pack) {
  std::vector<PackSpec> unstarted;
  for (const auto& entry : pack["specs"]) {
    if (RunState((fs::path(out) / StringField(entry, "run_dir")).string()) != "pending") continue;
    ZCB_ASSIGN_OR_RETURN(
        PackSpec s, CheckSpec(StringField(pack, "source"), StringField(entry, "file"), pack.value("quick", false)));
    if (s.sha256 != StringField(entry, "sha256")) {
      return Usagef(
          "refusing to resume {}: {} has changed since the pack started (sha256 {} now, {} recorded); restore it "
          "or start a new pack",
          out, s.path, s.sha256, StringField(entry, "sha256"));
    }
    unstarted.push_back(std::move(s));
  }
  return unstarted;
}

}  // namespace

bool IsPackPath(const std::string& path) {
  std::error_code ec;
  return !path.empty() && fs::is_directory(path, ec);
}

int RunPack(const SpecRunArgs& args) {
  const bool resuming = !args.resume.empty();
  std::string out = args.resume;
  nlohmann::json pack;
  std::vector<PackSpec> to_check;  // checked before anything runs
  if (resuming) {
    auto read = ReadPackManifest(args.resume);
    if (!read.ok()) return Stop(read.error());
    pack = std::move(*read);
    if (!args.spec_path.empty() &&
        fs::path(args.spec_path).lexically_normal() != fs::path(StringField(pack, "source")).lexically_normal()) {
      return Stop(Usagef("--resume {}: this pack was started from {}, not {}", args.resume, StringField(pack, "source"),
                         args.spec_path));
    }
    if (args.quick && !pack.value("quick", false)) {
      return Stop(Usagef("--resume {}: the pack was started without --quick; resume it without --quick", out));
    }
    auto unstarted = CheckUnstarted(out, pack);
    if (!unstarted.ok()) return Stop(unstarted.error());
    to_check = std::move(*unstarted);
  } else {
    auto files = SpecFilesOf(args.spec_path);
    if (!files.ok()) return Stop(files.error());
    for (const std::string& file : *files) {
      auto s = CheckSpec(args.spec_path, file, args.quick);
      if (!s.ok()) return Stop(s.error());
      to_check.push_back(std::move(*s));
    }
    if (args.dry_run) return PrintDryRun(PackName(args.spec_path), to_check);
    auto started = StartPack(args, to_check, out);
    if (!started.ok()) return Stop(started.error());
    pack = std::move(*started);
  }
  const fs::path pack_file = fs::path(out) / kPackManifestFile;
  auto write_pack = [&] {
    Status s = WriteFileAtomically(pack_file.string(), pack.dump(2) + "\n");
    if (!s.ok()) fmt::print(stderr, "zcbench run: {}\n", s.error().ToString());
    return s.ok();
  };
  if (resuming) {
    pack["state"] = "running";
    pack["ended_at"] = nullptr;
    if (!pack["resumes"].is_array()) pack["resumes"] = nlohmann::json::array();
    pack["resumes"].push_back({{"at", NowIso8601()}, {"command_line", ProcessCommandLine()}});
  }
  if (!args.dry_run && !write_pack()) return kExitFailed;

  const bool quick = pack.value("quick", false);
  const bool fail_fast = pack.value("fail_fast", false) || args.fail_fast;
  int exit_code = kExitOk;
  for (auto& entry : pack["specs"]) {
    const std::string run_dir = (fs::path(out) / StringField(entry, "run_dir")).string();
    const std::string state = RunState(run_dir);
    SpecRunArgs one;
    one.dry_run = args.dry_run;
    one.fail_fast = fail_fast;
    one.clean = args.clean;
    if (state == "complete" && !args.dry_run) {
      entry["state"] = state;
      continue;
    }
    if (state == "pending") {
      one.spec_path = (fs::path(StringField(pack, "source")) / StringField(entry, "file")).string();
      if (args.dry_run) {
        fmt::print("=== {} (not started) ===\n", one.spec_path);
        const auto it = std::find_if(to_check.begin(), to_check.end(),
                                     [&](const PackSpec& s) { return s.file == StringField(entry, "file"); });
        if (it != to_check.end()) fmt::print("{}\n", FormatPlan(it->plan));
        continue;
      }
      one.out = run_dir;
      one.quick = quick;
    } else {
      one.resume = run_dir;  // the spec text recorded in its manifest
      if (args.dry_run) fmt::print("=== {} ({}) ===\n", run_dir, state);
    }
    fmt::print(stderr, "zcbench run: pack {}: {} ({})\n", StringField(pack, "name"), StringField(entry, "file"),
               state == "pending" ? "starting" : "resuming");
    if (!args.dry_run) {
      entry["state"] = "running";
      write_pack();
    }
    const int code = RunSpec(one);
    if (args.dry_run) continue;
    entry["state"] = RunState(run_dir);
    entry["exit_code"] = code;
    if (code == kExitInterrupted || (code != kExitOk && fail_fast)) {
      exit_code = code;
      break;
    }
    if (code != kExitOk) exit_code = kExitFailed;
  }
  if (args.dry_run) return kExitOk;

  pack["state"] = exit_code == kExitInterrupted ? "interrupted" : PackState(pack["specs"]);
  pack["ended_at"] = NowIso8601();
  if (pack["state"] != "complete") {
    pack["resume_command"] = ResumePackCommand(out);
  } else {
    pack.erase("resume_command");
  }
  if (!write_pack()) return kExitFailed;
  fmt::print(stderr, "zcbench run: pack {} {}: results in {}\n", StringField(pack, "name"), StringField(pack, "state"),
             out);
  if (pack["state"] != "complete")
    fmt::print(stderr, "zcbench run: resume the pack with:\n  {}\n", ResumePackCommand(out));
  return exit_code;
}

}  // namespace zcb::cli
