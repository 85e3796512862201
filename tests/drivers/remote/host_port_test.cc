// HOST:PORT as the remote path's --peer and zcbench serve's --listen take it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include "drivers/remote/host_port.h"
#include "drivers/remote/protocol.h"

namespace zcb::remote {
namespace {

TEST(RemoteHostPortTest, ParsesHostPort) {
  auto v4 = ResolveHostPort("127.0.0.1:7000", kDefaultPort);
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(ntohs(reinterpret_cast<sockaddr_in*>(&*v4)->sin_port), 7000);
  auto no_port = ResolveHostPort("198.18.0.2", kDefaultPort);
  ASSERT_TRUE(no_port.ok());
  EXPECT_EQ(ntohs(reinterpret_cast<sockaddr_in*>(&*no_port)->sin_port), kDefaultPort);
  auto v6 = ResolveHostPort("[::1]:7001", kDefaultPort);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->ss_family, AF_INET6);
  EXPECT_FALSE(ResolveHostPort("127.0.0.1:70000", kDefaultPort).ok());
  EXPECT_FALSE(ResolveHostPort("127.0.0.1:x", kDefaultPort).ok());
  EXPECT_FALSE(ResolveHostPort(":80", kDefaultPort).ok());
}

}  // namespace
}  // namespace zcb::remote
