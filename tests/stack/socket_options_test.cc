// The socket-option table: parsing to canonical text, which socket each option goes on,
// and set-then-read-back on a real socket.

#include <sys/socket.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "stack/socket_options.h"
#include "stack/unique_fd.h"

namespace zcb {
namespace {

std::string ErrorOf(std::string_view text) {
  auto parsed = ParseSocketOption(text);
  EXPECT_FALSE(parsed.ok()) << text;
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.error().kind(), ErrorKind::kUsage) << text;
  return parsed.error().what();
}

TEST(SocketOptionTable, ParsesToCanonicalText) {
  EXPECT_EQ(*ParseSocketOption("sndbuf=1M"), "sndbuf=1048576");
  EXPECT_EQ(*ParseSocketOption("rcvbuf=65536"), "rcvbuf=65536");
  EXPECT_EQ(*ParseSocketOption("nodelay=1"), "nodelay=true");
  EXPECT_EQ(*ParseSocketOption("nodelay=off"), "nodelay=false");
  EXPECT_EQ(*ParseSocketOption("busy_poll=50"), "busy_poll=50");
  EXPECT_NE(ErrorOf("window=1M").find("unknown socket option 'window'; known: sndbuf, rcvbuf"), std::string::npos);
  EXPECT_NE(ErrorOf("sndbuf").find("expected key=value"), std::string::npos);
  EXPECT_NE(ErrorOf("sndbuf=0").find("'0' is not a size"), std::string::npos);
  EXPECT_NE(ErrorOf("sndbuf=4G").find("'4G' is not a size"), std::string::npos) << "over an int";
  EXPECT_NE(ErrorOf("busy_poll=-1").find("not an integer from 0"), std::string::npos);
  EXPECT_NE(ErrorOf("congestion=zcb_none").find("net.ipv4.tcp_allowed_congestion_control"), std::string::npos);
  for (const std::string& allowed : AllowedCongestionControls()) {
    EXPECT_EQ(*ParseSocketOption("congestion=" + allowed), "congestion=" + allowed);
  }
}

TEST(SocketOptionTable, EachOptionGoesOnItsSocketWhereItApplies) {
  const std::map<std::string, std::string> all = {
      {"sndbuf", "1"}, {"rcvbuf", "1"}, {"nodelay", "true"}, {"congestion", "reno"}, {"busy_poll", "1"}};
  using Options = std::map<std::string, std::string>;
  EXPECT_EQ(SocketOptionsFor(SocketSide::kSender, Protocol::kTcp, all),
            (Options{{"congestion", "reno"}, {"nodelay", "true"}, {"sndbuf", "1"}}));
  EXPECT_EQ(SocketOptionsFor(SocketSide::kSender, Protocol::kUdp, all), (Options{{"sndbuf", "1"}}));
  EXPECT_EQ(SocketOptionsFor(SocketSide::kReceiver, Protocol::kTcp, all),
            (Options{{"busy_poll", "1"}, {"rcvbuf", "1"}}));
  EXPECT_EQ(ReceiveBufferFor(all, 7), 1u);
  EXPECT_EQ(ReceiveBufferFor({}, 7), 7u);
  EXPECT_EQ(WithoutReceiveBuffer(all).count("rcvbuf"), 0u);
  EXPECT_EQ(WithoutReceiveBuffer(all).size(), all.size() - 1);
}

TEST(SocketOptionTable, SetThenReadBackShowsWhatTheKernelApplied) {
  UniqueFd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(sock.valid());
  std::ifstream wmem("/proc/sys/net/core/wmem_max");
  uint64_t wmem_max = 0;
  ASSERT_TRUE(wmem >> wmem_max);
  const std::map<std::string, std::string> options = {{"sndbuf", "65536"}, {"nodelay", "true"}, {"rcvbuf", "65536"}};
  ASSERT_TRUE(SetSocketOptions(sock.get(), SocketSide::kSender, Protocol::kTcp, options).ok());
  auto applied = ReadSocketOptions(sock.get(), SocketSide::kSender, Protocol::kTcp, options, "the test's socket");
  ASSERT_TRUE(applied.ok()) << applied.error().ToString();
  ASSERT_EQ(applied->size(), 2u) << "rcvbuf goes on the receiver's socket";
  EXPECT_EQ((*applied)[0].info->key, "nodelay");
  EXPECT_EQ((*applied)[0].applied, "true");
  EXPECT_EQ((*applied)[0].source, "getsockopt(TCP_NODELAY) on the test's socket");
  EXPECT_EQ((*applied)[1].info->key, "sndbuf");
  EXPECT_EQ((*applied)[1].asked, "65536");
  EXPECT_EQ((*applied)[1].applied, std::to_string(2 * std::min<uint64_t>(65536, wmem_max)));
  EXPECT_EQ((*applied)[1].socket, "sender");
}

}  // namespace
}  // namespace zcb
