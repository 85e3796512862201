// A whole run through ExecuteRun with a fake trial runner (no sockets): every record is
// written with its verdict, an interruption drops the trial in progress, and a resume
// (after Ctrl-C, or after kill -9 left a partial line) ends with exactly the trials of an
// uninterrupted run, each once.

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "harness/plan/experiment_run.h"
#include "harness/plan/run_plan.h"
#include "harness/results/results_store.h"
#include "harness/trial/measured_window.h"

namespace zcb {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "zcb-resume-test-XXXXXX").string();
    path_ = ::mkdtemp(templ.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

RunPlan MakePlan(const std::string& repeat) {
  auto spec = ParseSpec(R"([experiment]
name = "resume"
seed = 11
[matrix]
strategy = ["write", "writev", "sendfile"]
message_size = ["4K", "64K"]
path = ["loopback"]
[trial]
bytes = "1M"
warmup = 1
)" + repeat,
                        "resume.toml", SpecCatalog::Registered());
  EXPECT_TRUE(spec.ok()) << spec.error().what();
  auto plan = BuildRunPlan(*spec, SpecCatalog::Registered(), 11, false);
  EXPECT_TRUE(plan.ok()) << plan.error().what();
  return std::move(*plan);
}

// A fake source: goodput depends on the point and the repetition, CPU is steady. It
// can set the cancel flag while "running" the n-th trial, like a Ctrl-C mid-trial.
struct FakeRunner {
  std::atomic<bool>* cancel = nullptr;
  int cancel_on_call = -1;
  int fail_on_call = -1;    // this call (counted from 1) returns an error record
  std::string fail_reason;  // with this reason
  int calls = 0;

  TrialRecord operator()(const PlannedPoint& point, const ResolvedTrial& trial, const TrialContext& context) {
    if (calls++ == cancel_on_call && cancel != nullptr) cancel->store(true);
    TrialRecord record = NewTrialRecord(trial, context);
    if (calls == fail_on_call) {
      record.Fail(Errorf("{}", fail_reason));
      return record;
    }
    const double wobble =
        (context.repetition % 2 == 0 ? 1 : -1) * 0.01 * static_cast<double>(point.measured.spec.message_size % 7);
    record.metrics.emplace();
    record.metrics->goodput_bps = 1e9 * (1 + wobble);
    record.metrics->cpu = {{"ns_per_kib", 800.0}};
    return record;
  }
};

using Key = std::tuple<std::string, bool, int>;

std::vector<nlohmann::json> ReadRecords(const std::string& dir) {
  std::ifstream in(dir + "/trials.jsonl");
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::map<int, Key> KeysByIndex(const std::vector<nlohmann::json>& records) {
  std::map<int, Key> out;
  for (const auto& r : records) {
    const int index = r["trial"].get<int>();
    EXPECT_EQ(out.count(index), 0u) << "trial " << index << " recorded twice";
    out[index] = Key{r["point"].get<std::string>(), r["warmup"].get<bool>(), r["repetition"].get<int>()};
  }
  return out;
}

ExecuteResult Execute(const RunPlan& plan, ResultsStore& store, FakeRunner& runner, std::atomic<bool>& cancel) {
  Scheduler scheduler(plan.points.size(), plan.policy, plan.seed);
  const ReplayResult replay = ReplayRecords(plan, scheduler, store.existing_records());
  EXPECT_EQ(replay.unknown_points, 0u);
  EXPECT_EQ(replay.duplicates, 0u);
  ExecuteOptions options;
  options.run_id = "resume-run";
  options.cancel = &cancel;
  std::vector<TrialRecord> records;
  TrialRunner run = [&runner](const PlannedPoint& p, const ResolvedTrial& t, const TrialContext& c) {
    return runner(p, t, c);
  };
  return ExecuteRun(plan, scheduler, store, replay.next_index, store.existing_records().size(), run, options, records);
}

std::map<int, Key> Uninterrupted(const RunPlan& plan, const std::string& root) {
  auto store = ResultsStore::Create(root + "/whole");
  EXPECT_TRUE(store.ok());
  FakeRunner runner;
  std::atomic<bool> cancel{false};
  EXPECT_EQ(Execute(plan, *store, runner, cancel).state, RunState::kComplete);
  return KeysByIndex(ReadRecords(store->dir()));
}

// A run in `path` that a "Ctrl-C" stops during trial `cancel_on_call` + 1; its folder.
std::string InterruptedRun(const RunPlan& plan, const std::string& path, int cancel_on_call, ExecuteResult& result) {
  auto store = ResultsStore::Create(path);
  EXPECT_TRUE(store.ok());
  EXPECT_TRUE(store->WriteManifest({{"schema", "zcbench.run/1"}}).ok());
  FakeRunner runner;
  std::atomic<bool> cancel{false};
  runner.cancel = &cancel;
  runner.cancel_on_call = cancel_on_call;
  result = Execute(plan, *store, runner, cancel);
  return store->dir();
}

// Resuming `resumed` completes the run with the same trials as one never interrupted.
void ExpectResumeCompletes(const RunPlan& plan, ResultsStore& resumed, const std::map<int, Key>& whole) {
  FakeRunner runner;
  std::atomic<bool> cancel{false};
  ASSERT_EQ(Execute(plan, resumed, runner, cancel).state, RunState::kComplete);
  EXPECT_EQ(KeysByIndex(ReadRecords(resumed.dir())), whole);
}

TEST(ExecuteRun, EveryRecordCarriesItsVerdict) {
  TempDir tmp;
  const RunPlan plan = MakePlan("[repeat]\nmin = 2\nmax = 4\nhalf_width_pct = 5\n");
  auto store = ResultsStore::Create(tmp.path() + "/verdicts");
  ASSERT_TRUE(store.ok());
  FakeRunner runner;
  std::atomic<bool> cancel{false};
  ASSERT_EQ(Execute(plan, *store, runner, cancel).state, RunState::kComplete);
  const auto records = ReadRecords(store->dir());
  std::map<std::string, int> closing;
  for (const auto& r : records) {
    ASSERT_TRUE(r.contains("converged"));
    ASSERT_TRUE(r.contains("convergence"));
    EXPECT_EQ(r["params"]["path_name"], "loopback");
    if (r["warmup"].get<bool>()) {
      EXPECT_TRUE(r["converged"].is_null());
      continue;
    }
    if (!r["converged"].is_null()) ++closing[r["point"].get<std::string>()];
    EXPECT_EQ(r["convergence"]["point_done"].get<bool>(), !r["converged"].is_null());
  }
  EXPECT_EQ(closing.size(), plan.points.size());  // each point ended exactly once
  for (const auto& [point, n] : closing) EXPECT_EQ(n, 1) << point;
}

TEST(ExecuteRun, CtrlCDropsTheTrialInProgressAndResumeCompletesTheSameSet) {
  TempDir tmp;
  const RunPlan plan = MakePlan("[repeat]\nmin = 3\nmax = 3\n");
  const auto whole = Uninterrupted(plan, tmp.path());
  ASSERT_EQ(whole.size(), plan.points.size() * 4);

  ExecuteResult result;
  const std::string dir = InterruptedRun(plan, tmp.path() + "/cut", 9, result);  // "Ctrl-C" during the 10th trial
  EXPECT_EQ(result.state, RunState::kInterrupted);
  EXPECT_EQ(result.trials_run, 9u);  // the 10th was dropped
  EXPECT_EQ(ReadRecords(dir).size(), 9u);
  auto resumed = ResultsStore::OpenForResume(dir);
  ASSERT_TRUE(resumed.ok()) << resumed.error().ToString();
  ExpectResumeCompletes(plan, *resumed, whole);
}

// A trials.jsonl edited by hand (or damaged) may hold any integer as a trial index; one
// outside 0 to INT_MAX - 1 leaves the next index where the other records put it (found by
// tests/fuzz/resume_fuzzer: INT_MAX overflowed the next index, a larger one wrapped into it).
TEST(ReplayRecords, TrialIndicesOutsideTheIntRangeDoNotMoveTheNextIndex) {
  TempDir tmp;
  const RunPlan plan = MakePlan("[repeat]\nmin = 3\nmax = 3\n");
  ExecuteResult result;
  const std::string dir = InterruptedRun(plan, tmp.path() + "/cut", 3, result);
  std::vector<nlohmann::json> records = ReadRecords(dir);
  ASSERT_EQ(records.size(), 3u);
  for (const int64_t edited : {int64_t{std::numeric_limits<int>::max()}, (int64_t{1} << 40) + 41, int64_t{-7}}) {
    nlohmann::json copy = records[0];
    copy["trial"] = edited;
    records.push_back(copy);
  }
  Scheduler scheduler(plan.points.size(), plan.policy, plan.seed);
  const ReplayResult replay = ReplayRecords(plan, scheduler, records);
  EXPECT_EQ(replay.next_index, 3);
  EXPECT_EQ(replay.replayed, 3u);
  EXPECT_EQ(replay.duplicates, 3u);  // the copies are of a trial already counted
}

TEST(ExecuteRun, KillMinusNineLeavesAPartialLineThatResumeReplaces) {
  TempDir tmp;
  const RunPlan plan = MakePlan("[repeat]\nmin = 2\nmax = 2\n");
  const auto whole = Uninterrupted(plan, tmp.path());

  ExecuteResult result;
  const std::string dir = InterruptedRun(plan, tmp.path() + "/killed", 5, result);
  // What a kill -9 in the middle of the 6th append would leave.
  {
    FakeRunner runner;
    TrialContext context;
    context.trial = 5;
    const std::string line = runner(plan.points[0], plan.points[0].measured, context).ToJson().dump();
    std::ofstream out(dir + "/trials.jsonl", std::ios::app | std::ios::binary);
    out << line.substr(0, line.size() / 2);
  }
  auto resumed = ResultsStore::OpenForResume(dir);
  ASSERT_TRUE(resumed.ok()) << resumed.error().ToString();
  EXPECT_GT(resumed->truncated_bytes(), 0u);
  EXPECT_EQ(resumed->existing_records().size(), 5u);
  ExpectResumeCompletes(plan, *resumed, whole);
}

TEST(ExecuteRun, FailFastStopsAtTheFirstFailedTrial) {
  TempDir tmp;
  const RunPlan plan = MakePlan("[repeat]\nmin = 2\nmax = 2\n");
  auto store = ResultsStore::Create(tmp.path() + "/ff");
  ASSERT_TRUE(store.ok());
  Scheduler scheduler(plan.points.size(), plan.policy, plan.seed);
  ExecuteOptions options;
  options.fail_fast = true;
  FakeRunner failing;
  failing.fail_on_call = 3;
  failing.fail_reason = "receiver: connection reset";
  std::vector<TrialRecord> records;
  const ExecuteResult result = ExecuteRun(plan, scheduler, *store, 0, 0, std::ref(failing), options, records);
  EXPECT_EQ(result.state, RunState::kFailed);
  EXPECT_NE(result.failure.find("receiver: connection reset"), std::string::npos);
  EXPECT_EQ(records.size(), 3u);  // the failed trial is recorded, with its reason
  EXPECT_EQ(records.back().status, TrialStatus::kError);
}

TEST(ExecuteRun, WithoutFailFastAnErrorIsRecordedAndTheRunGoesOn) {
  TempDir tmp;
  const RunPlan plan = MakePlan("[repeat]\nmin = 2\nmax = 2\n");
  auto store = ResultsStore::Create(tmp.path() + "/errors");
  ASSERT_TRUE(store.ok());
  Scheduler scheduler(plan.points.size(), plan.policy, plan.seed);
  FakeRunner failing;
  failing.fail_on_call = 8;
  failing.fail_reason = "sender: broken pipe";
  std::vector<TrialRecord> records;
  const ExecuteResult result = ExecuteRun(plan, scheduler, *store, 0, 0, std::ref(failing), ExecuteOptions{}, records);
  EXPECT_EQ(result.state, RunState::kComplete);
  // The point whose trial failed ends at its max (the error counts as a repetition);
  // every other point runs as usual.
  EXPECT_EQ(scheduler.points_done(), plan.points.size());
  size_t errors = 0;
  for (const TrialRecord& r : records) errors += r.status == TrialStatus::kError;
  EXPECT_EQ(errors, 1u);
}

TEST(ExecuteRun, UnsupportedPointsAreRecordedOnceWithTheirReason) {
  TempDir tmp;
  RunPlan plan = MakePlan("[repeat]\nmin = 2\nmax = 2\n");
  plan.points[1].unsupported = "path x needs root";
  auto store = ResultsStore::Create(tmp.path() + "/unsupported");
  ASSERT_TRUE(store.ok());
  FakeRunner runner;
  std::atomic<bool> cancel{false};
  ASSERT_EQ(Execute(plan, *store, runner, cancel).state, RunState::kComplete);
  size_t unsupported = 0;
  for (const auto& r : ReadRecords(store->dir())) {
    if (r["point"] != plan.points[1].key) continue;
    ++unsupported;
    EXPECT_EQ(r["status"], "unsupported");
    EXPECT_EQ(r["error"], "path x needs root");
    EXPECT_FALSE(r["warmup"].get<bool>());  // reports skip warm-ups: it must be seen
  }
  EXPECT_EQ(unsupported, 1u);
}

}  // namespace
}  // namespace zcb
