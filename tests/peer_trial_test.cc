// A peer's trial end to end: each peer runs over loopback and over a veth pair (root),
// pinned to the trial's CPUs, and yields a record with its goodput from its own output,
// integrity "not verified by zcbench", the CPUs its processes were allowed (read from
// /proc while they ran), and the same CPU and system-wide figures as zcbench's trials.

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "harness/peers/peer_registry.h"
#include "harness/trial/trial.h"
#include "tests/ci_requirements.h"

namespace zcb {
namespace {

struct PeerCase {
  const char* peer;
  const char* workload;
  uint64_t message_size;
};

class PeerTrial : public ::testing::TestWithParam<std::tuple<PeerCase, const char*>> {};

TEST_P(PeerTrial, RunsPinnedOnThePathAndRecordsItsOwnFigures) {
  const auto& [c, path] = GetParam();
  const PeerTool* peer = FindPeer(c.peer);
  ASSERT_NE(peer, nullptr);
  for (const std::string& program : peer->programs()) {
    if (auto found = FindPeerProgram(*peer, program); !found.ok()) ZCB_SKIP_OR_FAIL_UNDER_CI(found.error().what());
  }
  if (std::string(path) != "loopback" && ::geteuid() != 0) ZCB_SKIP_OR_FAIL_UNDER_CI("a veth path needs root");
  if (std::thread::hardware_concurrency() < 2) ZCB_SKIP_OR_FAIL_UNDER_CI("pinning two sides needs two CPUs");

  TrialSpec spec;
  spec.strategy = c.peer;
  spec.workload = c.workload;
  spec.message_size = c.message_size;
  spec.path = path;
  spec.duration_s = 1;
  spec.sender_cpu = 0;
  spec.receiver_cpu = 1;
  auto trial = ResolveTrial(spec);
  ASSERT_TRUE(trial.ok()) << trial.error().what();
  TrialContext context;
  context.run_id = "peer-test";
  const TrialRecord record = RunTrial(*trial, context);
  ASSERT_EQ(record.status, TrialStatus::kOk) << record.error.value_or("");
  ASSERT_TRUE(record.metrics.has_value());
  const nlohmann::json m = record.metrics->ToJson();

  // Its own figure, within what the machine can do (a double count would show above); one
  // 64-byte message at a time makes a small goodput, a stream a large one.
  const bool exchange = std::string(c.workload) == "request_response";
  EXPECT_GT(m["goodput_bps"].get<double>(), exchange ? 1e3 : 1e6);
  EXPECT_LT(m["goodput_bps"].get<double>(), 1e12);
  EXPECT_GT(m["elapsed_s"].get<double>(), 0.2);
  EXPECT_LT(m["elapsed_s"].get<double>(), 3);
  EXPECT_EQ(m["integrity"], "not verified by zcbench");
  EXPECT_TRUE(m["zerocopy"].is_null());

  // Pinned: the CPUs each process was allowed, read from /proc once it ran its program.
  const nlohmann::json& p = m["peer"];
  EXPECT_EQ(p["client"]["cpus_allowed"], "0");
  EXPECT_EQ(p["server"]["cpus_allowed"], "1");
  EXPECT_EQ(p["label"], peer->label());
  EXPECT_FALSE(p["version"].is_null());
  EXPECT_NE(p["client"]["command_line"].get<std::string>().find(peer->programs().front()), std::string::npos);

  // CPU: the processes' rusage in the places of the thread clocks, and /proc/stat.
  const nlohmann::json& cpu = m["cpu"];
  EXPECT_EQ(cpu["method"], "peer_process_rusage");
  EXPECT_GT(cpu["sender_thread_s"].get<double>() + cpu["receiver_thread_s"].get<double>(), 0);
  // Two processes over about a second on two CPUs: at most the CPUs' time, plus start-up.
  EXPECT_LT(cpu["sender_thread_s"].get<double>() + cpu["receiver_thread_s"].get<double>(), 2 * 3.0);
  EXPECT_TRUE(cpu["system_wide"].is_object());

  if (exchange) {
    const nlohmann::json& rr = m["request_response"];
    EXPECT_GT(rr["transactions"].get<uint64_t>(), 0u);
    EXPECT_GT(rr["latency_us"]["p50"].get<double>(), 0);
    EXPECT_LE(rr["latency_us"]["p50"].get<double>(), rr["latency_us"]["p99"].get<double>());
  }
  EXPECT_EQ(record.ToJson()["params"]["peer"], peer->label());
  ASSERT_TRUE(record.path.has_value());
}

INSTANTIATE_TEST_SUITE_P(Peers, PeerTrial,
                         ::testing::Combine(::testing::Values(PeerCase{"iperf3", "bulk", 65536},
                                                              PeerCase{"iperf3_zerocopy", "bulk", 65536},
                                                              PeerCase{"sockperf", "bulk", 16384},
                                                              PeerCase{"sockperf_pingpong", "request_response", 64}),
                                            ::testing::Values("loopback", "veth")),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).peer) + "_" + std::get<1>(info.param);
                         });

TEST(PeerTrial, AMissingProgramIsNamedWithItsPackage) {
  const char* saved = std::getenv("PATH");
  const std::string restore = saved != nullptr ? saved : "";
  ::setenv("PATH", "/nonexistent-peer-dir", 1);
  auto found = FindPeerProgram(*FindPeer("sockperf"), "sockperf");
  ::setenv("PATH", restore.c_str(), 1);
  ASSERT_FALSE(found.ok());
  EXPECT_NE(found.error().what().find("'sockperf' was not found on PATH (/nonexistent-peer-dir)"), std::string::npos)
      << found.error().what();
  EXPECT_NE(found.error().what().find("Debian package sockperf"), std::string::npos);
}

}  // namespace
}  // namespace zcb
