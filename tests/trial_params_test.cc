// What a trial record says about the conditions it ran under, read back from the kernel.

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/trial_test_util.h"

namespace zcb {
namespace {

// The congestion control decides how a loopback stream is paced (BBR paces itself with
// an hrtimer, cubic and reno do not), which moves goodput by a factor on some hosts: the
// record names the one the sending socket got, as the kernel reports it.
TEST(TrialParamsTest, TcpRecordNamesTheSendingSocketsCongestionControl) {
  std::ifstream sysctl("/proc/sys/net/ipv4/tcp_congestion_control");
  std::string host_default;
  ASSERT_TRUE(sysctl >> host_default) << "cannot read net.ipv4.tcp_congestion_control";
  const nlohmann::json r = testing::RunOrFail(testing::VerifiedStream("write", 1 << 20));
  // Compared as std::string: GCC 12 warns falsely (-Warray-bounds) on json == literal here.
  ASSERT_EQ(r.value("status", ""), "ok") << r["error"];
  const nlohmann::json& cc = r["params"]["tcp_congestion"];
  ASSERT_TRUE(cc.is_object()) << r["params"].dump();
  EXPECT_EQ(cc.value("name", ""), host_default);
  EXPECT_EQ(cc.value("source", ""), "getsockopt(TCP_CONGESTION) on the sending socket");
}

}  // namespace
}  // namespace zcb
