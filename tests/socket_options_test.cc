// Socket options through whole trials: each goes on the socket its table entry names,
// before connect (or listen), and the record shows what the kernel applied, read back
// with getsockopt (SO_SNDBUF and SO_RCVBUF come back doubled, capped by the sysctl).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>

#include "harness/plan/parameters.h"
#include "harness/trial/trial.h"
#include "stack/socket_options.h"
#include "tests/trial_test_util.h"
#include "tests/udp_test_util.h"

namespace zcb {
namespace {

uint64_t Sysctl(const char* path) {
  std::ifstream in(path);
  uint64_t value = 0;
  in >> value;
  return value;
}

// What the kernel makes of a buffer size: doubled (its own bookkeeping), capped at twice
// the sysctl (socket(7)).
uint64_t Doubled(uint64_t asked, const char* max_sysctl) { return 2 * std::min(asked, Sysctl(max_sysctl)); }

TEST(SocketOptionsTrial, SndbufAndRcvbufAreRecordedAsAskedAndAsTheKernelAppliedThem) {
  TrialSpec spec = testing::VerifiedStream("write", 4 << 20);
  spec.socket_options = {{"sndbuf", "1048576"}, {"rcvbuf", "524288"}, {"nodelay", "true"}};
  const nlohmann::json r = testing::RunOrFail(spec);
  testing::ExpectVerified(r, 4 << 20);
  const nlohmann::json& so = r["params"]["socket_options"];
  ASSERT_EQ(so.size(), 3u) << so.dump();
  EXPECT_EQ(so["sndbuf"]["asked"].get<uint64_t>(), 1048576u);
  EXPECT_EQ(so["sndbuf"]["applied"].get<uint64_t>(), Doubled(1048576, "/proc/sys/net/core/wmem_max"));
  EXPECT_EQ(so["sndbuf"].value("socket", ""), "sender");
  EXPECT_EQ(so["sndbuf"].value("source", ""), "getsockopt(SO_SNDBUF) on the sending socket");
  EXPECT_EQ(so["rcvbuf"]["asked"].get<uint64_t>(), 524288u);
  EXPECT_EQ(so["rcvbuf"]["applied"].get<uint64_t>(), Doubled(524288, "/proc/sys/net/core/rmem_max"));
  EXPECT_EQ(so["rcvbuf"].value("socket", ""), "receiver");
  EXPECT_EQ(so["rcvbuf"].value("source", ""), "getsockopt(SO_RCVBUF) on the receiving socket");
  EXPECT_TRUE(so["nodelay"]["asked"].get<bool>());
  EXPECT_TRUE(so["nodelay"]["applied"].get<bool>());
  EXPECT_FALSE(so["nodelay"].contains("applied_reason"));
  EXPECT_EQ(PointKey(*ResolveTrial(spec)),
            "tcp/write/loopback/bulk/memory/65536/verify,sock.nodelay=true,sock.rcvbuf=524288,sock.sndbuf=1048576");
}

// TCP_CONGESTION is set before connect: the socket's congestion control, as
// params.tcp_congestion reads it, is the one asked for, whatever the default.
TEST(SocketOptionsTrial, CongestionIsTheSendingSocketsAndAgreesWithTcpCongestion) {
  const std::vector<std::string> allowed = AllowedCongestionControls();
  std::ifstream sysctl("/proc/sys/net/ipv4/tcp_congestion_control");
  std::string host_default;
  sysctl >> host_default;
  // Prefer one that differs from the default, so that the test shows the option working.
  std::string chosen;
  for (const std::string& name : allowed) {
    if (chosen.empty() || (name != host_default && chosen == host_default)) chosen = name;
  }
  if (chosen.empty()) ZCB_SKIP_OR_FAIL_UNDER_CI("net.ipv4.tcp_allowed_congestion_control lists nothing");
  TrialSpec spec = testing::VerifiedStream("write", 1 << 20);
  spec.socket_options = {{"congestion", chosen}};
  const nlohmann::json r = testing::RunOrFail(spec);
  testing::ExpectVerified(r, 1 << 20);
  EXPECT_EQ(r["params"]["socket_options"]["congestion"].value("applied", ""), chosen);
  EXPECT_EQ(r["params"]["tcp_congestion"].value("name", ""), chosen);
}

// The UDP receiver sizes its own queue: rcvbuf is that size, read back from its socket.
TEST(SocketOptionsTrial, UdpRcvbufIsTheReceiversQueue) {
  TrialSpec spec = testing::UdpSpec("sendto", 1472, 200);
  spec.socket_options = {{"rcvbuf", "262144"}, {"sndbuf", "131072"}};
  const nlohmann::json r = testing::RunOrFail(spec);
  ASSERT_EQ(r.value("status", ""), "ok") << r["error"];
  const nlohmann::json& so = r["params"]["socket_options"];
  // 2 x 256K, unless SO_RCVBUFFORCE was refused and rmem_max is lower.
  const uint64_t applied = so["rcvbuf"]["applied"].get<uint64_t>();
  const bool forced = r["metrics"]["udp"]["receive_buffer_forced"].get<bool>();
  EXPECT_EQ(applied, forced ? 2 * 262144u : Doubled(262144, "/proc/sys/net/core/rmem_max"));
  EXPECT_EQ(applied, r["metrics"]["udp"]["receive_buffer_bytes"].get<uint64_t>()) << "the two read-backs agree";
  EXPECT_EQ(so["sndbuf"]["applied"].get<uint64_t>(), Doubled(131072, "/proc/sys/net/core/wmem_max"));
}

// A value the kernel refuses fails the trial naming the option and the errno; the record
// still says what was asked, with why nothing was read back.
TEST(SocketOptionsTrial, AnOptionTheKernelRefusesFailsTheTrialNamingIt) {
  auto resolved = ResolveTrial(testing::VerifiedStream("write", 1 << 20));
  ASSERT_TRUE(resolved.ok()) << resolved.error().ToString();
  // Past the parser's check (a name no kernel has), as if the allowed list had changed.
  resolved->spec.socket_options = {{"congestion", "zcb_none"}};
  TrialContext context;
  context.run_id = "test";
  const nlohmann::json r = RunTrial(*resolved, context).ToJson();
  EXPECT_EQ(r.value("status", ""), "error");
  const std::string error = r["error"].dump();
  EXPECT_NE(error.find("setsockopt(TCP_CONGESTION, zcb_none) on the sending socket"), std::string::npos) << error;
  EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;
  const nlohmann::json& entry = r["params"]["socket_options"]["congestion"];
  EXPECT_EQ(entry.value("asked", ""), "zcb_none");
  EXPECT_TRUE(entry["applied"].is_null());
  EXPECT_FALSE(entry.value("applied_reason", "").empty());
}

TEST(SocketOptionsTrial, ATcpOptionOnAUdpTrialIsAUsageError) {
  TrialSpec spec = testing::UdpSpec("sendto", 1472, 10);
  spec.socket_options = {{"nodelay", "true"}};
  auto resolved = ResolveTrial(spec);
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.error().kind(), ErrorKind::kUsage);
  EXPECT_NE(std::string(resolved.error().what()).find("nodelay: a TCP socket option"), std::string::npos)
      << resolved.error().what();
}

}  // namespace
}  // namespace zcb
