// Fuzz target: a results folder as `zcbench run --resume DIR` reads it. The input is the
// folder's two files, manifest.json and trials.jsonl, split at the first NUL byte (no NUL:
// all of it is trials.jsonl beside an empty manifest object). The store reads them (a
// partial last line is cut off, lines that are not objects are set aside); every record
// is read back with TrialRecord::FromJson, counted, replayed into a scheduler of a small
// plan, and put into the CSV, as a resume and the end of a run do. A record the reader
// takes must write itself out again into a record it takes.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "harness/plan/experiment_run.h"
#include "harness/plan/run_plan.h"
#include "harness/plan/scheduler.h"
#include "harness/plan/spec.h"
#include "harness/results/results_store.h"
#include "harness/trial/trial_record.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

// The spec of the seed corpus's run (corpus/resume/): a TCP and a UDP point over loopback,
// so that its records replay into this plan's points.
constexpr char kSpec[] = R"(
[experiment]
name = "seed"
seed = 7
[matrix]
protocol = ["tcp", "udp"]
strategy = ["write", "sendto"]
message_size = ["4K"]
path = ["loopback"]
receiver = ["verify"]
[[exclude]]
protocol = "tcp"
strategy = "sendto"
reason = "UDP only"
[[exclude]]
protocol = "udp"
strategy = "write"
[trial]
duration = "100ms"
warmup = 1
warmup_duration = "50ms"
[repeat]
min = 1
max = 1
)";

const zcb::RunPlan& Plan() {
  static const zcb::RunPlan plan = [] {
    const zcb::SpecCatalog& catalog = zcb::SpecCatalog::Registered();
    auto spec = zcb::ParseSpec(kSpec, "fuzz.toml", catalog);
    if (!spec.ok()) zcb::fuzz::Fail("the plan's spec");
    auto built = zcb::BuildRunPlan(std::move(*spec), catalog, /*seed=*/7, /*quick=*/false);
    if (!built.ok()) zcb::fuzz::Fail("the plan");
    return std::move(*built);
  }();
  return plan;
}

// A folder of this process's own, removed at exit (the name outlives every static).
const char* Folder() {
  static char* const dir = [] {
    static std::string pattern = (std::filesystem::temp_directory_path() / "zcb-fuzz-resume-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) zcb::fuzz::Fail("mkdtemp");
    char* name = ::strdup(pattern.c_str());
    std::atexit([] { std::filesystem::remove_all(Folder()); });
    return name;
  }();
  return dir;
}

void WriteFile(const std::string& path, const char* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data, static_cast<std::streamsize>(size));
  if (!out) zcb::fuzz::Fail(path.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* text = reinterpret_cast<const char*>(data);
  const char* nul = static_cast<const char*>(std::memchr(text, '\0', size));
  const std::string dir = Folder();
  if (nul == nullptr) {
    WriteFile(dir + "/manifest.json", "{}", 2);
    WriteFile(dir + "/trials.jsonl", text, size);
  } else {
    WriteFile(dir + "/manifest.json", text, static_cast<size_t>(nul - text));
    WriteFile(dir + "/trials.jsonl", nul + 1, size - static_cast<size_t>(nul - text) - 1);
  }
  auto store = zcb::ResultsStore::OpenForResume(dir, /*read_only=*/true);
  if (!store.ok()) return 0;

  const std::vector<nlohmann::json>& records = store->existing_records();
  zcb::RunCounts counts;
  for (const nlohmann::json& json : records) {
    counts.Add(json);
    auto record = zcb::TrialRecord::FromJson(json);
    if (!record.ok()) continue;
    auto again = zcb::TrialRecord::FromJson(record->ToJson());
    if (!again.ok() || again->ToJson() != record->ToJson()) zcb::fuzz::Broken("a record does not read back as written");
  }
  // Every record read counts once: as what it says, or as an error when it is unreadable.
  if (counts.ok + counts.error + counts.unsupported + counts.warmup != records.size())
    zcb::fuzz::Broken("the run counts do not count every record once");
  const zcb::RunPlan& plan = Plan();
  zcb::Scheduler scheduler(plan.points.size(), plan.policy, plan.seed);
  const zcb::ReplayResult replay = zcb::ReplayRecords(plan, scheduler, records);
  if (replay.replayed + replay.unknown_points + replay.duplicates != records.size())
    zcb::fuzz::Broken("the replay does not account for every record once");
  (void)zcb::FormatCsv(records);
  return 0;
}
