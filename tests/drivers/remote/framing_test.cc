// The control protocol's framing: messages round-trip, and truncated, oversize and
// malformed frames are refused with what was wrong; a peer's error message is quoted.

#include <arpa/inet.h>
#include <sys/socket.h>

#include <string>

#include <gtest/gtest.h>

#include "drivers/remote/framing.h"
#include "stack/unique_fd.h"

namespace zcb::remote {
namespace {

struct SocketPair {
  UniqueFd a, b;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    a.Reset(fds[0]);
    b.Reset(fds[1]);
  }
};

void SendRaw(int fd, const std::string& bytes) {
  ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), ssize_t(bytes.size()));
}

std::string Frame(uint32_t len, const std::string& body) {
  const uint32_t be = htonl(len);
  return std::string(reinterpret_cast<const char*>(&be), 4) + body;
}

TEST(RemoteFramingTest, MessagesRoundTrip) {
  SocketPair p;
  ASSERT_TRUE(WriteMessage(p.a.get(), {{"type", "hello"}, {"n", 5}}).ok());
  auto m = ReadMessage(p.b.get());
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  EXPECT_EQ((*m)["type"], "hello");
  EXPECT_EQ((*m)["n"], 5);
}

TEST(RemoteFramingTest, RejectsTruncatedOversizeAndMalformedMessages) {
  struct Case {
    std::string bytes;
    std::string error;
  } cases[] = {
      {"", "closed"},
      {std::string("\x00\x00", 2), "truncated message"},
      {Frame(100, "{\"type\":"), "truncated message: the connection closed after 8 of 100 bytes"},
      {Frame(0xffffffffu, ""), "oversize message"},
      {Frame(kMaxMessageBytes + 1, ""), "oversize message"},
      {Frame(0, ""), "length 0"},
      {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "oversize message"},
      {Frame(5, "\x01\x02\x03\x04\x05"), "not JSON"},
      {Frame(4, "[1,2"), "not JSON"},
      {Frame(5, "[1,2]"), "not a JSON object"},
      {Frame(9, "{\"t\":\"x\"}"), "no string member 'type'"},
      {Frame(10, "{\"type\":1}"), "no string member 'type'"},
      {Frame(3, "\"\xff\""), "not JSON"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.error);
    SocketPair p;
    SendRaw(p.a.get(), c.bytes);
    ::shutdown(p.a.get(), SHUT_WR);
    auto m = ReadMessage(p.b.get());
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.error().ToString().find(c.error), std::string::npos) << m.error().ToString();
  }
}

TEST(RemoteFramingTest, ErrorMessagesFromThePeerAreQuoted) {
  SocketPair p;
  SendError(p.a.get(), "auth", "authentication failed: wrong token");
  auto m = ReadMessageOfType(p.b.get(), "welcome");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().ToString().find("wrong token"), std::string::npos);
  ASSERT_TRUE(WriteMessage(p.a.get(), {{"type", "ready"}}).ok());
  auto other = ReadMessageOfType(p.b.get(), "welcome");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().ToString().find("unexpected message 'ready'"), std::string::npos);
}

// A server that cannot serve a trial here says "unsupported": the client's record is then
// unsupported (with the server's reason), not an error, as a local trial's would be.
TEST(RemoteFramingTest, APeersUnsupportedRefusalKeepsItsKind) {
  SocketPair p;
  SendError(p.a.get(), "unsupported", "workload files expects a file sequence");
  auto m = ReadMessageOfType(p.b.get(), "ready");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind(), ErrorKind::kUnsupported);
  EXPECT_NE(m.error().ToString().find("file sequence"), std::string::npos);
  SendError(p.a.get(), "malformed", "expected 'trial' or 'bye'");
  auto other = ReadMessageOfType(p.b.get(), "ready");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().kind(), ErrorKind::kFailed);
}

TEST(RemoteFramingTest, WriterRefusesOversizeMessages) {
  SocketPair p;
  auto s = WriteMessage(p.a.get(), {{"type", "x"}, {"blob", std::string(kMaxMessageBytes, 'a')}});
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace zcb::remote
