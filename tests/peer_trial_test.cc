// A peer's trial end to end: each peer runs over loopback and over a veth pair (root),
// pinned to the trial's CPUs, and yields a record with its goodput from its own output,
// integrity "not verified by zcbench", the CPUs its processes were allowed (read from
// /proc while they ran), and the same CPU and system-wide figures as zcbench's trials.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "harness/peers/peer_registry.h"
#include "harness/plan/parameters.h"
#include "harness/trial/trial.h"
#include "tests/ci_requirements.h"

namespace zcb {
namespace {

// Why the peer cannot run on `path` here ("" when it can): its programs, root for a veth
// pair, two CPUs to pin its two sides to.
std::string CannotRun(const PeerTool& peer, const std::string& path) {
  for (const std::string& program : peer.programs()) {
    if (auto found = FindPeerProgram(peer, program); !found.ok()) return found.error().what();
  }
  if (path != "loopback" && ::geteuid() != 0) return "a veth path needs root";
  if (std::thread::hardware_concurrency() < 2) return "pinning two sides needs two CPUs";
  return "";
}

// A one-second trial of `peer`, its client on CPU 0 and its server on CPU 1.
TrialSpec OneSecondPinned(const std::string& peer, const std::string& workload, const std::string& path) {
  TrialSpec spec;
  spec.strategy = peer;
  spec.workload = workload;
  spec.path = path;
  spec.duration_s = 1;
  spec.sender_cpu = 0;
  spec.receiver_cpu = 1;
  return spec;
}

// Resolves and runs one peer trial; a spec that does not resolve fails the test and
// yields no record.
std::optional<TrialRecord> RunPeerTrial(const TrialSpec& spec) {
  auto trial = ResolveTrial(spec);
  if (!trial.ok()) {
    ADD_FAILURE() << trial.error().what();
    return std::nullopt;
  }
  TrialContext context;
  context.run_id = "peer-test";
  return RunTrial(*trial, context);
}

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
  if (const std::string why = CannotRun(*peer, path); !why.empty()) ZCB_SKIP_OR_FAIL_UNDER_CI(why);

  TrialSpec spec = OneSecondPinned(c.peer, c.workload, path);
  spec.message_size = c.message_size;
  const std::optional<TrialRecord> run = RunPeerTrial(spec);
  ASSERT_TRUE(run.has_value());
  const TrialRecord& record = *run;
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

INSTANTIATE_TEST_SUITE_P(
    Peers, PeerTrial,
    ::testing::Combine(::testing::Values(PeerCase{"iperf3", "bulk", 65536}, PeerCase{"iperf3_zerocopy", "bulk", 65536},
                                         PeerCase{"sockperf", "bulk", 16384},
                                         PeerCase{"sockperf_pingpong", "request_response", 64}),
                       ::testing::Values("loopback", "veth")),
    [](const auto& info) { return std::string(std::get<0>(info.param).peer) + "_" + std::get<1>(info.param); });

// nginx serving the point's file set to wrk: the same files file_serving makes (their
// sizes in the record), requests answered, the trial's directory and files removed after.
class FileServerPeerTrial : public ::testing::TestWithParam<std::tuple<const char*, const char*>> {};

// The nginx peers' trial directories in the temporary directory.
std::set<std::string> NginxDirectories() {
  std::set<std::string> dirs;
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::temp_directory_path()))
    if (entry.path().filename().string().rfind("zcb-nginx.", 0) == 0) dirs.insert(entry.path().string());
  return dirs;
}

TEST_P(FileServerPeerTrial, ServesThePointsFileSet) {
  const auto& [name, path] = GetParam();
  const PeerTool* peer = FindPeer(name);
  ASSERT_NE(peer, nullptr);
  if (const std::string why = CannotRun(*peer, path); !why.empty()) ZCB_SKIP_OR_FAIL_UNDER_CI(why);

  TrialSpec spec = OneSecondPinned(name, "file_serving", path);
  spec.workload_options = {{"distribution", "fixed"}, {"size", "16K"}, {"files", "3"}};
  const std::set<std::string> nginx_dirs_before = NginxDirectories();
  const std::optional<TrialRecord> run = RunPeerTrial(spec);
  ASSERT_TRUE(run.has_value());
  const TrialRecord& record = *run;
  ASSERT_EQ(record.status, TrialStatus::kOk) << record.error.value_or("");
  const nlohmann::json m = record.metrics->ToJson();

  EXPECT_EQ(m["integrity"], "not verified by zcbench");
  const nlohmann::json& rr = m["request_response"];
  const auto requests = rr["transactions"].get<uint64_t>();
  EXPECT_GT(requests, 10u);
  EXPECT_GT(rr["transactions_per_s"].get<double>(), 10);
  // Bytes are the files' bodies: every request one 16 KiB file.
  EXPECT_EQ(m["bytes_received"].get<uint64_t>(), requests * 16384);
  EXPECT_GT(m["goodput_bps"].get<double>(), 1e5);
  EXPECT_LT(m["goodput_bps"].get<double>(), 1e12);

  const nlohmann::json& p = m["peer"];
  EXPECT_EQ(p["server"]["cpus_allowed"], "1");
  EXPECT_EQ(p["client"]["cpus_allowed"], "0");
  const nlohmann::json& set = p["prepared"]["file_set"];
  EXPECT_EQ(set["files"], 3);
  EXPECT_EQ(set["smallest_bytes"], 16384);
  EXPECT_EQ(set["largest_bytes"], 16384);
  EXPECT_NE(p["prepared"]["nginx_version"].get<std::string>().find("nginx/"), std::string::npos);
  EXPECT_NE(p["prepared"]["wrk_version"].get<std::string>().find("wrk"), std::string::npos);
  EXPECT_EQ(p["parsed"]["latency_percentiles_us"].size(), 4u);

  // The record names the trial's directory by a placeholder, not by its temporary name.
  const std::string server_line = p["server"]["command_line"].get<std::string>();
  EXPECT_NE(server_line.find(" -c $WORK_DIR/nginx.conf"), std::string::npos) << server_line;
  EXPECT_EQ(server_line.find("zcb-nginx."), std::string::npos) << server_line;
  EXPECT_EQ(p["client"]["command_line"].get<std::string>().find("zcb-nginx."), std::string::npos);
  // The trial's directory (nginx.conf, the wrk script) is gone.
  EXPECT_EQ(NginxDirectories(), nginx_dirs_before);
}

INSTANTIATE_TEST_SUITE_P(Nginx, FileServerPeerTrial,
                         ::testing::Combine(::testing::Values("nginx_wrk", "nginx_wrk_nosendfile"),
                                            ::testing::Values("loopback", "veth")),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)) + "_" + std::get<1>(info.param);
                         });

// --peer-dir: a program there is used before the one on PATH; a missing one names both.
TEST(PeerTrial, ThePeerDirectoryIsSearchedBeforePath) {
  char dir[] = "/tmp/zcb-peer-dir.XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string fake = std::string(dir) + "/sockperf";
  {
    std::ofstream out(fake);
    out << "#!/bin/sh\nexit 0\n";
  }
  ASSERT_EQ(::chmod(fake.c_str(), 0755), 0);
  auto found = FindPeerProgram(*FindPeer("sockperf"), "sockperf", dir);
  ASSERT_TRUE(found.ok()) << found.error().what();
  EXPECT_EQ(*found, fake);

  const char* saved = std::getenv("PATH");
  const std::string restore = saved != nullptr ? saved : "";
  ::setenv("PATH", "/nonexistent-peer-path", 1);
  auto missing = FindPeerProgram(*FindPeer("iperf3"), "iperf3", dir);
  ::setenv("PATH", restore.c_str(), 1);
  ::unlink(fake.c_str());
  ::rmdir(dir);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(
      missing.error().what().find(fmt::format("not found in --peer-dir {} nor on PATH (/nonexistent-peer-path)", dir)),
      std::string::npos)
      << missing.error().what();
}

// The spec key ([trial] peer_dir) and its flag (--peer-dir) reach the trial.
TEST(PeerTrial, ThePeerDirectoryIsATrialParameter) {
  const Parameter* parameter = FindParameter("peer_dir", SpecSection::kTrial);
  ASSERT_NE(parameter, nullptr);
  EXPECT_EQ(parameter->flags, "--peer-dir");
  TrialSpec spec;
  parameter->apply("/opt/peers", spec);
  EXPECT_EQ(spec.peer_dir, "/opt/peers");
}

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
