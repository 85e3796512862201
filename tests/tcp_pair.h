#pragma once

// A connected loopback TCP pair for the tests that drive a sender or a receiver by hand:
// the connecting (sending) end and the accepted (receiving) end. Shared by the stack's and
// the cross-layer test binaries.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include "stack/unique_fd.h"

namespace zcb::testing {

struct TcpPair {
  UniqueFd sending, receiving;
};

inline TcpPair ConnectLoopback() {
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  EXPECT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(listener.get(), 1), 0);
  EXPECT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  TcpPair pair;
  pair.sending.Reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_EQ(::connect(pair.sending.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  pair.receiving.Reset(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  return pair;
}

}  // namespace zcb::testing
