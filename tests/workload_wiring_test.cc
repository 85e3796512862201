// A workload is wired through the trial by its WorkloadInfo alone: the runner makes the
// trial's workload with its resolved options, the workload drives the sender, the
// receiving end checks what it expects, and the record names the workload and every
// option value. A test-only workload (not registered) shows that nothing else is needed.

#include <gtest/gtest.h>

#include "harness/trial/trial.h"
#include "harness/trial/trial_resolve.h"
#include "tests/trial_test_util.h"
#include "workloads/workload.h"

namespace zcb {
namespace {

// Sends exactly `messages` messages of the trial's message size, then finishes.
class CountedMessages final : public Workload {
 public:
  explicit CountedMessages(int64_t messages) : messages_(messages) {}
  Status Send(const WorkloadSend& send, TrialClock::time_point* sends_done) override {
    const uint64_t size = send.schedule.message_size;
    for (int64_t i = 0; i < messages_; ++i)
      ZCB_RETURN_IF_ERROR(send.strategy->Send(static_cast<uint64_t>(i) * size, size));
    *sends_done = TrialClock::now();
    return send.strategy->Finish();
  }
  ReceiverExpectation expectation() const override { return ReceiverExpectation::kPatternStream; }

 private:
  int64_t messages_;
};

WorkloadInfo CountedMessagesInfo() {
  WorkloadInfo info;
  info.name = "test_counted_messages";
  info.summary = "a test's workload: a given number of messages";
  info.needs.protocols = EnumSet<Protocol>{Protocol::kTcp};
  info.needs.sources = {SourceKind::kMemory};
  info.options = {OptionSpec{"messages", OptionType::kInt, "2", "messages to send"}.InRange(1, 64),
                  OptionSpec{"note", OptionType::kString, "none", "recorded, not used"}};
  info.create = [](const Options& options) -> Result<std::unique_ptr<Workload>> {
    return std::unique_ptr<Workload>(std::make_unique<CountedMessages>(options.GetInt("messages")));
  };
  return info;
}

TEST(WorkloadWiring, TheTrialsWorkloadDrivesTheSenderWithItsOptionsAndIsRecorded) {
  static const WorkloadInfo info = CountedMessagesInfo();
  constexpr uint64_t kSize = 4096;
  TrialSpec spec = testing::VerifiedStream("write", 1 << 30, kSize);  // the workload stops after its messages
  auto resolved = ResolveTrial(spec);
  ASSERT_TRUE(resolved.ok()) << resolved.error().ToString();
  ResolvedTrial trial = *resolved;
  trial.spec.workload = info.name;
  trial.spec.workload_options = {{"messages", "3"}};
  trial.workload = &info;
  auto options = info.ParseOptions(trial.spec.workload_options);
  ASSERT_TRUE(options.ok()) << options.error().ToString();
  trial.workload_options = *options;

  TrialContext context;
  context.run_id = "test";
  const nlohmann::json record = RunTrial(trial, context).ToJson();
  testing::ExpectVerified(record, 3 * kSize);
  EXPECT_EQ(record["metrics"]["send_calls"].get<uint64_t>(), 3u);
  const nlohmann::json& params = record["params"];
  EXPECT_EQ(params["workload"], info.name);
  EXPECT_EQ(params["workload_options"], nlohmann::json({{"messages", "3"}}));
  EXPECT_EQ(params["workload_option_values"], nlohmann::json({{"messages", "3"}, {"note", "none"}}));
  EXPECT_EQ(record["point"], "tcp/write/loopback/test_counted_messages/memory/4096/verify,workload.messages=3");
  auto back = TrialRecord::FromJson(record);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->ToJson().dump(), record.dump());
}

// A workload the strategy cannot serve (a protocol it does not run over) is a record with
// status unsupported naming both, never a silent run of another workload.
TEST(WorkloadWiring, AWorkloadTheStrategyCannotServeIsRecordedUnsupported) {
  static const WorkloadInfo info = CountedMessagesInfo();  // TCP only
  TrialSpec spec = testing::VerifiedStream("sendto", 1 << 20, 1000);
  spec.protocol = Protocol::kUdp;
  auto resolved = ResolveTrial(spec);
  ASSERT_TRUE(resolved.ok()) << resolved.error().ToString();
  ResolvedTrial trial = *resolved;
  trial.spec.workload = info.name;
  trial.workload = &info;
  TrialContext context;
  context.run_id = "test";
  const nlohmann::json record = RunTrial(trial, context).ToJson();
  EXPECT_EQ(record["status"], "unsupported") << record.dump();
  EXPECT_NE(
      record["error"].get<std::string>().find("workload test_counted_messages cannot be served by sendto over udp"),
      std::string::npos)
      << record["error"];
}

}  // namespace
}  // namespace zcb
