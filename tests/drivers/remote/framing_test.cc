// The control protocol's framing: messages round-trip, and truncated, oversize and
// malformed frames are refused with what was wrong; a peer's error message is quoted.

#include <arpa/inet.h>
#include <sys/socket.h>

#include <string>
#include <vector>

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

struct BadFrame {
  std::string bytes;
  std::string error;
};

const std::vector<BadFrame>& BadFrames() {
  static const std::vector<BadFrame> cases = {
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
  return cases;
}

TEST(RemoteFramingTest, RejectsTruncatedOversizeAndMalformedMessages) {
  for (const auto& c : BadFrames()) {
    SCOPED_TRACE(c.error);
    SocketPair p;
    SendRaw(p.a.get(), c.bytes);
    ::shutdown(p.a.get(), SHUT_WR);
    auto m = ReadMessage(p.b.get());
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.error().ToString().find(c.error), std::string::npos) << m.error().ToString();
  }
}

// The assembler (the server's non-blocking handshakes) takes bytes as they come, one at
// a time here, and gives the message only once whole, never reading past it; a bad frame
// gives the blocking reader's error, as soon as its bytes show it or at the end of stream.
TEST(RemoteFramingTest, TheAssemblerGivesWholeMessagesAndTheReadersErrors) {
  const std::string body = R"({"type":"hello","n":5})";
  const std::string two = Frame(static_cast<uint32_t>(body.size()), body) + Frame(12, R"({"type":"x"})");
  MessageAssembler assembler;
  size_t fed = 0, messages = 0;
  while (fed < two.size()) {
    ASSERT_GE(assembler.wanted(), 1u);
    ASSERT_LE(fed + assembler.wanted(), two.size()) << "wanted more than the frame";
    assembler.Append(reinterpret_cast<const uint8_t*>(two.data() + fed), 1);
    ++fed;
    auto next = assembler.Next();
    ASSERT_TRUE(next.ok()) << next.error().ToString();
    if (next->has_value()) {
      ++messages;
      EXPECT_EQ(fed, messages == 1 ? 4 + body.size() : two.size()) << "a message only once whole";
      EXPECT_EQ((**next)["type"], messages == 1 ? "hello" : "x");
    }
  }
  EXPECT_EQ(messages, 2u);
  EXPECT_TRUE(PeerClosed(assembler.AtEnd())) << assembler.AtEnd().ToString();

  for (const auto& c : BadFrames()) {
    SCOPED_TRACE(c.error);
    MessageAssembler bad;
    bad.Append(reinterpret_cast<const uint8_t*>(c.bytes.data()), c.bytes.size());
    auto next = bad.Next();
    const std::string error = !next.ok()          ? next.error().ToString()
                              : next->has_value() ? "a message"
                                                  : bad.AtEnd().ToString();
    EXPECT_NE(error.find(c.error), std::string::npos) << error;
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
