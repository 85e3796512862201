// Parallel streams (--streams N, iperf3's -P) through whole trials over loopback: N
// connections (or UDP flows, or request/response clients), each with its own sender and
// receiver thread, every stream delivered and verified by its own receiver, the
// per-stream figures summing to the trial's, and a trial of one stream written exactly
// as before (no streams member at all).

#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "harness/trial/trial.h"
#include "tests/trial_test_util.h"
#include "tests/udp_test_util.h"

namespace zcb {
namespace {

constexpr int kStreams = 4;

// The per-stream figures of an ok record of kStreams streams: each stream's bytes as the
// sender sent them, each verified by its own receiver, and their sums the trial's.
void ExpectEveryStreamVerified(const nlohmann::json& record, uint64_t bytes_per_stream) {
  ASSERT_TRUE(record.is_object());
  ASSERT_EQ(record["status"], "ok") << record["error"];
  EXPECT_EQ(record["params"]["streams"], kStreams);
  const auto& m = record["metrics"];
  ASSERT_TRUE(m.contains("streams")) << m.dump();
  const auto& streams = m["streams"];
  ASSERT_EQ(streams["per_stream"].size(), static_cast<size_t>(kStreams));
  uint64_t sent = 0, received = 0, verified = 0;
  std::set<int64_t> sender_tids, receiver_tids;
  for (const auto& s : streams["per_stream"]) {
    EXPECT_EQ(s["bytes_sent"].get<uint64_t>(), bytes_per_stream) << s.dump();
    EXPECT_EQ(s["bytes_received"].get<uint64_t>(), bytes_per_stream) << s.dump();
    ASSERT_TRUE(s["integrity"].is_object()) << s.dump();
    EXPECT_EQ(s["integrity"]["verified_bytes"].get<uint64_t>(), bytes_per_stream) << s.dump();
    EXPECT_EQ(s["integrity"]["mismatches"].get<uint64_t>(), 0u);
    EXPECT_GT(s["goodput_bps"].get<double>(), 0.0);
    EXPECT_GT(s["sender_thread_s"].get<double>(), 0.0);
    sent += s["bytes_sent"].get<uint64_t>();
    received += s["bytes_received"].get<uint64_t>();
    verified += s["integrity"]["verified_bytes"].get<uint64_t>();
    sender_tids.insert(s["sender_tid"].get<int64_t>());
    receiver_tids.insert(s["receiver_tid"].get<int64_t>());
  }
  // Every stream had threads of its own.
  EXPECT_EQ(sender_tids.size(), static_cast<size_t>(kStreams));
  EXPECT_EQ(receiver_tids.size(), static_cast<size_t>(kStreams));
  // The per-stream figures add up to the trial's, exactly (no stream counted twice).
  EXPECT_EQ(sent, m["bytes_sent"].get<uint64_t>());
  EXPECT_EQ(received, m["bytes_received"].get<uint64_t>());
  EXPECT_EQ(verified, m["integrity"]["verified_bytes"].get<uint64_t>());
  EXPECT_EQ(m["bytes_received"].get<uint64_t>(), kStreams * bytes_per_stream);
  // The spread: the slowest stream at most the fastest, Jain's index in [1/N, 1].
  const double lowest = streams["goodput_min_bps"], highest = streams["goodput_max_bps"];
  EXPECT_GT(lowest, 0.0);
  EXPECT_LE(lowest, highest);
  const double jain = streams["fairness_jain"];
  EXPECT_GE(jain, 1.0 / kStreams - 1e-9);
  EXPECT_LE(jain, 1.0 + 1e-9);
  const auto slowest = streams["slowest_stream"].get<size_t>();
  ASSERT_LT(slowest, static_cast<size_t>(kStreams));
  EXPECT_DOUBLE_EQ(streams["per_stream"][slowest]["goodput_bps"].get<double>(), lowest);
  // The aggregate goodput is the sum of the bytes over the trial's window, at most the sum
  // of the per-stream rates (each stream's window ends at its own last byte).
  double rates = 0;
  for (const auto& s : streams["per_stream"]) rates += s["goodput_bps"].get<double>();
  EXPECT_GT(m["goodput_bps"].get<double>(), 0.0);
  EXPECT_LE(m["goodput_bps"].get<double>(), rates * (1 + 1e-9));
}

TEST(ParallelStreams, FourTcpWriteStreamsEachDeliveredAndVerified) {
  constexpr uint64_t kBytes = 8ull << 20;
  TrialSpec spec = testing::VerifiedStream("write", kBytes);
  spec.streams = kStreams;
  ExpectEveryStreamVerified(testing::RunOrFail(spec), kBytes);
}

TEST(ParallelStreams, FourUdpSendtoFlowsEachDeliveredAndVerified) {
  constexpr uint64_t kDatagrams = 300;
  TrialSpec spec = testing::UdpSpec("sendto", 1472, kDatagrams);
  spec.streams = kStreams;
  spec.rate_bps = 100'000'000;  // per stream, as iperf3's -b: the receive queues keep up
  const nlohmann::json record = testing::RunOrFail(spec);
  ExpectEveryStreamVerified(record, kDatagrams * 1472);
  uint64_t datagrams = 0;
  std::set<uint64_t> flows;
  for (const auto& s : record["metrics"]["streams"]["per_stream"]) {
    EXPECT_EQ(s["datagrams_sent"].get<uint64_t>(), kDatagrams);
    EXPECT_EQ(s["datagrams_received"].get<uint64_t>(), kDatagrams);
    datagrams += s["datagrams_received"].get<uint64_t>();
    flows.insert(s["flow_id"].get<uint64_t>());
  }
  EXPECT_EQ(flows.size(), static_cast<size_t>(kStreams));  // a flow id per stream
  EXPECT_EQ(datagrams, record["metrics"]["udp"]["datagrams_received"].get<uint64_t>());
  EXPECT_EQ(record["metrics"]["udp"]["datagrams_sent"].get<uint64_t>(), kStreams * kDatagrams);
}

TEST(ParallelStreams, RequestResponseRunsAClientPerStream) {
  constexpr uint64_t kTransactions = 200, kResponse = 4096;
  TrialSpec spec = testing::VerifiedStream("write", kTransactions * kResponse, kResponse);
  spec.workload = "request_response";
  spec.streams = 2;
  const nlohmann::json record = testing::RunOrFail(spec);
  ASSERT_EQ(record["status"], "ok") << record["error"];
  const auto& per_stream = record["metrics"]["streams"]["per_stream"];
  ASSERT_EQ(per_stream.size(), 2u);
  uint64_t transactions = 0;
  for (const auto& s : per_stream) {
    EXPECT_EQ(s["transactions"].get<uint64_t>(), kTransactions);
    EXPECT_EQ(s["integrity"]["verified_bytes"].get<uint64_t>(), kTransactions * kResponse);
    transactions += s["transactions"].get<uint64_t>();
  }
  const auto& rr = record["metrics"]["request_response"];
  EXPECT_EQ(rr["transactions"].get<uint64_t>(), transactions);
  // The latency histogram holds every stream's transactions.
  uint64_t counted = 0;
  for (const auto& bucket : rr["histogram"]["buckets"]) counted += bucket[1].get<uint64_t>();
  EXPECT_EQ(counted, transactions);
}

TEST(ParallelStreams, OneStreamIsTodaysRecord) {
  constexpr uint64_t kBytes = 1 << 20;
  const nlohmann::json record = testing::RunOrFail(testing::VerifiedStream("write", kBytes));
  testing::ExpectVerified(record, kBytes);
  EXPECT_FALSE(record["params"].contains("streams"));
  EXPECT_FALSE(record["params"].contains("stream_cpus"));
  EXPECT_FALSE(record["metrics"].contains("streams"));
}

TEST(ParallelStreams, SpreadPlacesStreamsOnSuccessiveCpusAndSameOnTheFirstStreams) {
  const int cpus = static_cast<int>(std::thread::hardware_concurrency());
  constexpr uint64_t kBytes = 1 << 20;
  TrialSpec spec = testing::VerifiedStream("write", kBytes);
  spec.sender_cpu = 0;
  spec.receiver_cpu = cpus > 1 ? 1 : 0;
  spec.streams = 3;
  const nlohmann::json spread = testing::RunOrFail(spec);
  ASSERT_EQ(spread["status"], "ok") << spread["error"];
  EXPECT_EQ(spread["params"]["stream_cpus"], "spread");
  for (int i = 0; i < 3; ++i) {
    const auto& s = spread["metrics"]["streams"]["per_stream"][i];
    EXPECT_EQ(s["sender_cpu"].get<int>(), i % cpus);
    EXPECT_EQ(s["receiver_cpu"].get<int>(), (*spec.receiver_cpu + i) % cpus);
  }
  spec.stream_cpus = StreamCpus::kSame;
  const nlohmann::json same = testing::RunOrFail(spec);
  ASSERT_EQ(same["status"], "ok") << same["error"];
  EXPECT_EQ(same["params"]["stream_cpus"], "same");
  for (const auto& s : same["metrics"]["streams"]["per_stream"]) {
    EXPECT_EQ(s["sender_cpu"].get<int>(), 0);
    EXPECT_EQ(s["receiver_cpu"].get<int>(), *spec.receiver_cpu);
  }
  // Unpinned streams stay unpinned: null, the scheduler placed them.
  spec.sender_cpu.reset();
  spec.receiver_cpu.reset();
  spec.stream_cpus = StreamCpus::kSpread;
  const nlohmann::json unpinned = testing::RunOrFail(spec);
  ASSERT_EQ(unpinned["status"], "ok") << unpinned["error"];
  for (const auto& s : unpinned["metrics"]["streams"]["per_stream"]) {
    EXPECT_TRUE(s["sender_cpu"].is_null());
    EXPECT_TRUE(s["receiver_cpu"].is_null());
  }
}

// The namespace paths: a veth pair, each stream verified by its own receiver in the
// receiver's namespace (root).
TEST(ParallelStreams, VethStreamsEachDeliveredAndVerified) {
  ZCB_REQUIRE_ROOT();
  constexpr uint64_t kBytes = 4ull << 20;
  TrialSpec spec = testing::VerifiedStream("write", kBytes);
  spec.path = "veth";
  spec.streams = kStreams;
  ExpectEveryStreamVerified(testing::RunOrFail(spec), kBytes);
}

// The sink has no receiver: one end counts every stream's datagrams together, so the
// per-stream receive figures and the spread are null with their reasons, and what is per
// stream is what each sender sent.
TEST(ParallelStreams, SinkCountsEveryStreamTogether) {
  ZCB_REQUIRE_ROOT();
  constexpr uint64_t kDatagrams = 500, kSize = 1400;
  TrialSpec spec = testing::UdpSpec("sendto", kSize, kDatagrams);
  spec.path = "sink";
  spec.streams = 3;
  const nlohmann::json record = testing::RunOrFail(spec);
  ASSERT_EQ(record["status"], "ok") << record["error"];
  const auto& m = record["metrics"];
  EXPECT_EQ(m["udp"]["sink"]["udp_datagrams"].get<uint64_t>(), 3 * kDatagrams) << m["udp"].dump();
  EXPECT_EQ(m["bytes_received"].get<uint64_t>(), 3 * kDatagrams * kSize);
  const auto& streams = m["streams"];
  ASSERT_EQ(streams["per_stream"].size(), 3u);
  for (const auto& s : streams["per_stream"]) {
    EXPECT_EQ(s["bytes_sent"].get<uint64_t>(), kDatagrams * kSize);
    EXPECT_EQ(s["datagrams_sent"].get<uint64_t>(), kDatagrams);
    EXPECT_GT(s["sender_rate_bps"].get<double>(), 0.0);
    EXPECT_TRUE(s["bytes_received"].is_null());
    EXPECT_TRUE(s["goodput_bps"].is_null());
    EXPECT_TRUE(s["receiver_tid"].is_null());
    EXPECT_NE(s["receiver_reason"].get<std::string>().find("every stream together"), std::string::npos);
  }
  EXPECT_TRUE(streams["fairness_jain"].is_null());
  EXPECT_TRUE(streams["goodput_min_bps"].is_null());
  EXPECT_NE(streams["spread_reason"].get<std::string>().find("sender_rate_bps"), std::string::npos);
}

// A sender CPU quota is one cgroup: every stream's sender thread joins it (they share
// the quota), each once (root: cgroups).
TEST(ParallelStreams, EverySendersThreadSharesTheSenderCpuQuota) {
  ZCB_REQUIRE_ROOT();
  constexpr uint64_t kBytes = 2ull << 20;
  TrialSpec spec = testing::VerifiedStream("write", kBytes);
  spec.streams = 3;
  spec.constraints.sender_cpu_quota = 0.5;
  const nlohmann::json record = testing::RunOrFail(spec);
  ASSERT_EQ(record["status"], "ok") << record["error"];
  std::multiset<int64_t> in_cgroup, senders;
  for (const auto& tid : record["constraints"]["sender_cpu_quota"]["threads"]) in_cgroup.insert(tid.get<int64_t>());
  for (const auto& s : record["metrics"]["streams"]["per_stream"]) senders.insert(s["sender_tid"].get<int64_t>());
  EXPECT_EQ(in_cgroup, senders) << record["constraints"].dump();
}

TEST(ParallelStreams, ACountOutOfRangeIsAUsageErrorNamingStreams) {
  for (int bad : {0, -1, 1025}) {
    TrialSpec spec = testing::VerifiedStream("write", 1 << 20);
    spec.streams = bad;
    testing::ExpectUsageErrorNaming(spec, {"streams"});
  }
}

}  // namespace
}  // namespace zcb
