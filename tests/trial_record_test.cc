// The typed trial record: what ToJson writes, FromJson reads back unchanged, for the
// records of every flow (TCP and UDP, ok, error and unsupported, with a scheduler's
// verdict); a bad field is refused by name; the status follows the failure's kind.
// (Remote records are read back in remote_serve_test.cc.)

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/trial/trial.h"
#include "harness/trial/trial_record.h"
#include "tests/trial_test_util.h"
#include "tests/udp_test_util.h"

namespace zcb {
namespace {

using testing::RunOrFail;
using testing::UdpSpec;
using testing::VerifiedStream;

// FromJson(record).ToJson() is `record`, byte for byte.
void ExpectRoundTrip(const nlohmann::json& record) {
  ASSERT_TRUE(record.is_object());
  auto back = TrialRecord::FromJson(record);
  ASSERT_TRUE(back.ok()) << back.error().ToString() << "\n" << record.dump();
  EXPECT_EQ(back->ToJson().dump(), record.dump());
}

TEST(TrialRecordTest, RecordsOfEveryLocalFlowReadBackUnchanged) {
  // A verified TCP stream; the zero-copy receiver's own metrics; a UDP flow.
  const nlohmann::json stream = RunOrFail(VerifiedStream("write", 1 << 20));
  ASSERT_EQ(stream["status"], "ok") << stream["error"];
  ExpectRoundTrip(stream);

  TrialSpec zerocopy = VerifiedStream("write", 1 << 20);
  zerocopy.receiver = ReceiverMode::kZeroCopy;
  const nlohmann::json mapped = RunOrFail(zerocopy);
  ASSERT_TRUE(mapped["metrics"].contains("receive_zerocopy")) << mapped.dump();
  ExpectRoundTrip(mapped);

  const nlohmann::json datagrams = RunOrFail(UdpSpec("sendto", 1200, 500));
  ASSERT_EQ(datagrams["status"], "ok") << datagrams["error"];
  ASSERT_TRUE(datagrams["metrics"]["udp"].is_object());
  EXPECT_FALSE(datagrams["metrics"].contains("reuse_gate")) << "a datagram record has no reuse gate";
  ExpectRoundTrip(datagrams);
}

TEST(TrialRecordTest, ASinkRecordReadsBackUnchanged) {
  // No receiver: metrics.udp.sink, a null integrity with its reason, a null recv_calls.
  ZCB_REQUIRE_ROOT();
  TrialSpec spec = UdpSpec("sendto", 1200, 500);
  spec.path = "sink";
  const nlohmann::json sink = RunOrFail(spec);
  ASSERT_EQ(sink["status"], "ok") << sink["error"];
  ASSERT_TRUE(sink["metrics"]["udp"].contains("sink")) << sink["metrics"].dump();
  ASSERT_TRUE(sink["metrics"].contains("integrity_reason"));
  ExpectRoundTrip(sink);
}

TEST(TrialRecordTest, ARequestResponseRecordReadsBackUnchanged) {
  TrialSpec spec = VerifiedStream("write", 50 * 4096, 4096);
  spec.workload = "request_response";
  const nlohmann::json record = RunOrFail(spec);
  ASSERT_EQ(record["status"], "ok") << record["error"];
  ASSERT_TRUE(record["metrics"]["request_response"].is_object()) << record["metrics"].dump();
  ExpectRoundTrip(record);
  // With no transaction: the latency is null with its reason.
  nlohmann::json none = record;
  none["metrics"]["request_response"]["latency_us"] = nullptr;
  none["metrics"]["request_response"]["latency_us_reason"] = "no transaction completed";
  ExpectRoundTrip(none);
  // A bucket that is not a [highest_ns, count] pair is refused by name.
  nlohmann::json bad = record;
  bad["metrics"]["request_response"]["histogram"]["buckets"][0] = {1, 2, 3};
  auto read = TrialRecord::FromJson(bad);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(
      read.error().ToString(),
      "record.metrics.request_response.histogram.buckets: expected [highest_ns, count] pairs of non-negative integers");
}

TEST(TrialRecordTest, AParallelStreamsRecordReadsBackUnchanged) {
  // params.streams and stream_cpus, metrics.streams with each stream's figures (TCP and
  // UDP: datagrams and flow ids); a bad per-stream field is refused by its place.
  TrialSpec spec = VerifiedStream("write", 1 << 20);
  spec.streams = 3;
  const nlohmann::json tcp = RunOrFail(spec);
  ASSERT_EQ(tcp["status"], "ok") << tcp["error"];
  ASSERT_TRUE(tcp["metrics"]["streams"].is_object()) << tcp["metrics"].dump();
  ExpectRoundTrip(tcp);
  TrialSpec udp = UdpSpec("sendto", 1200, 300);
  udp.streams = 2;
  const nlohmann::json datagrams = RunOrFail(udp);
  ASSERT_EQ(datagrams["status"], "ok") << datagrams["error"];
  ExpectRoundTrip(datagrams);

  nlohmann::json bad = tcp;
  bad["metrics"]["streams"]["per_stream"][1]["bytes_sent"] = "many";
  auto read = TrialRecord::FromJson(bad);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().ToString(),
            "record.metrics.streams.per_stream[1].bytes_sent: expected a non-negative integer");
  nlohmann::json miscounted = tcp;
  miscounted["metrics"]["streams"]["count"] = 4;
  read = TrialRecord::FromJson(miscounted);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().ToString(), "record.metrics.streams.count: 4 streams, but per_stream has 3");
}

TEST(TrialRecordTest, FailedAndUnsupportedRecordsReadBackUnchanged) {
  // A strategy that writes Ethernet frames has no link layer on loopback: unsupported,
  // decided before anything runs.
  TrialSpec frames = UdpSpec("packet_tx_ring", 1200, 10);
  if (FindStrategy("packet_tx_ring").ok()) {
    const nlohmann::json record = RunOrFail(frames);
    EXPECT_EQ(record["status"], "unsupported") << record.dump();
    EXPECT_NE(record["error"].get<std::string>().find("needs a path with a link layer"), std::string::npos)
        << record["error"];
    EXPECT_TRUE(record["metrics"].is_null());
    ExpectRoundTrip(record);
  }
  // A sender that cannot set up: an error, with the path described.
  TrialSpec bad = VerifiedStream("write", 1 << 20);
  bad.sender_cpu = 1000;  // no such CPU (within a cpu_set_t): the sender's set-up fails
  const nlohmann::json failed = RunOrFail(bad);
  EXPECT_EQ(failed["status"], "error");
  EXPECT_NE(failed["error"].get<std::string>().find("pin the sender to CPU 1000"), std::string::npos)
      << failed["error"];
  EXPECT_TRUE(failed["path"].is_object());
  ExpectRoundTrip(failed);
}

TEST(TrialRecordTest, AVerdictAndProbeResultsReadBackUnchanged) {
  nlohmann::json record = RunOrFail(VerifiedStream("write", 256 * 1024));
  ASSERT_EQ(record["status"], "ok") << record["error"];
  record["converged"] = true;
  record["convergence"] = {{"good_repetitions", 3}, {"point_done", true}};
  record["params"]["path_name"] = "lo";
  // Members of metrics the record does not type are the probes': kept as they are.
  record["metrics"]["counters"] = nullptr;
  record["metrics"]["counters_reason"] = "not requested (--probes)";
  ExpectRoundTrip(record);
  record["converged"] = nullptr;
  record["convergence"] = nullptr;
  ExpectRoundTrip(record);
}

TEST(TrialRecordTest, ABadFieldIsRefusedByName) {
  const nlohmann::json good = RunOrFail(UdpSpec("sendto", 1200, 100));
  ASSERT_EQ(good["status"], "ok") << good["error"];
  struct Case {
    const char* pointer;
    nlohmann::json value;
    const char* error;
  } cases[] = {
      {"/metrics/udp/lost", "many", "record.metrics.udp.lost: expected a non-negative integer"},
      {"/params/protocol", "sctp", "record.params.protocol: expected a known name, got 'sctp'"},
      {"/status", "fine", "record.status: expected a known name, got 'fine'"},
      {"/metrics/integrity", 3, "record.metrics.integrity: expected an object"},
      {"/params/options", {{"k", 1}}, "record.params.options.k: expected a string"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.pointer);
    nlohmann::json bad = good;
    bad[nlohmann::json::json_pointer(c.pointer)] = c.value;
    auto read = TrialRecord::FromJson(bad);
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.error().ToString(), c.error);
  }
  nlohmann::json missing = good;
  missing["params"].erase("seed");
  auto read = TrialRecord::FromJson(missing);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().ToString(), "record.params.seed: missing");
}

// The analysis fixtures shipped under tests/ are records of schema version 1: the reader
// reads this version's records only, and says so naming the schema.
TEST(TrialRecordTest, ShippedRecordsOfAnOlderSchemaAreRefusedNamingIt) {
  std::filesystem::path fixtures;
  for (std::filesystem::path dir : {std::filesystem::path(__FILE__).parent_path(), std::filesystem::current_path()}) {
    for (int up = 0; up < 4 && fixtures.empty(); ++up, dir = dir.parent_path()) {
      for (const char* sub : {"analysis/fixtures", "tests/analysis/fixtures"}) {
        if (std::filesystem::is_directory(dir / sub)) fixtures = dir / sub;
      }
    }
  }
  ASSERT_FALSE(fixtures.empty()) << "tests/analysis/fixtures not found from " << std::filesystem::current_path();
  int records = 0;
  for (const auto& run : std::filesystem::directory_iterator(fixtures)) {
    std::ifstream in(run.path() / "trials.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      const nlohmann::json json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!json.is_object()) continue;  // the malformed fixture's broken lines
      ++records;
      auto read = TrialRecord::FromJson(json);
      if (json.value("schema", "") == kTrialSchema) {
        ASSERT_TRUE(read.ok()) << read.error().ToString();
        EXPECT_EQ(read->ToJson().dump(), json.dump());
      } else {
        ASSERT_FALSE(read.ok());
        EXPECT_NE(read.error().ToString().find("record.schema"), std::string::npos) << read.error().ToString();
      }
    }
  }
  EXPECT_GT(records, 100);
}

TEST(TrialRecordTest, TheStatusFollowsTheFailuresKind) {
  TrialRecord record;
  record.Fail(Unsupportedf("path {} has no link layer", "loopback").Context("unused context"));
  EXPECT_EQ(record.status, TrialStatus::kUnsupported);
  EXPECT_EQ(*record.error, "unused context: path loopback has no link layer");
  record.Fail(Errorf("the receiver got {} of the {} bytes sent", 1, 2));
  EXPECT_EQ(record.status, TrialStatus::kError);
  record.Fail(Error(ECONNRESET, "sender: send"));
  EXPECT_EQ(record.status, TrialStatus::kError);
  EXPECT_EQ(*record.error, Error(ECONNRESET, "sender: send").ToString());
  EXPECT_EQ(Usagef("--size must be at least 1").kind(), ErrorKind::kUsage);
  EXPECT_EQ(Error(0, "x").kind(), ErrorKind::kFailed);
}

}  // namespace
}  // namespace zcb
