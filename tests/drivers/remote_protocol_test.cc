// The remote path's control protocol: HMAC, framing limits, token files, validation.

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "drivers/remote_protocol.h"
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

void SendRaw(int fd, const std::string& bytes) { ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), ssize_t(bytes.size())); }

std::string Frame(uint32_t len, const std::string& body) {
  const uint32_t be = htonl(len);
  return std::string(reinterpret_cast<const char*>(&be), 4) + body;
}

TEST(RemoteProtocolTest, HmacSha256MatchesRfc4231) {
  // RFC 4231, test case 2.
  const auto mac = HmacSha256("Jefe", "what do ya want for nothing?");
  EXPECT_EQ(ToHex(mac.data(), mac.size()), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(RemoteProtocolTest, ProofsDependOnTokenNoncesAndDirection) {
  const std::string token = "0123456789abcdef0123";
  const std::string s = "aa", c = "bb";
  EXPECT_EQ(ClientProof(token, s, c), ClientProof(token, s, c));
  EXPECT_NE(ClientProof(token, s, c), ClientProof(token + "x", s, c));
  EXPECT_NE(ClientProof(token, s, c), ClientProof(token, "ab", c));
  EXPECT_NE(ClientProof(token, s, c), ServerProof(token, s, c)) << "a server cannot replay the client's proof";
  EXPECT_TRUE(ProofsEqual("abc", "abc"));
  EXPECT_FALSE(ProofsEqual("abc", "abd"));
  EXPECT_FALSE(ProofsEqual("abc", "abcd"));
  auto n1 = NewNonce(), n2 = NewNonce();
  ASSERT_TRUE(n1.ok() && n2.ok());
  EXPECT_EQ(n1->size(), 2 * kNonceBytes);
  EXPECT_NE(*n1, *n2);
  EXPECT_EQ(*FromHex("00ff10"), std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(FromHex("0g").has_value());
  EXPECT_FALSE(FromHex("abc").has_value());
}

TEST(RemoteProtocolTest, MessagesRoundTrip) {
  SocketPair p;
  ASSERT_TRUE(WriteMessage(p.a.get(), {{"type", "hello"}, {"n", 5}}).ok());
  auto m = ReadMessage(p.b.get());
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  EXPECT_EQ((*m)["type"], "hello");
  EXPECT_EQ((*m)["n"], 5);
}

TEST(RemoteProtocolTest, RejectsTruncatedOversizeAndMalformedMessages) {
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

TEST(RemoteProtocolTest, ErrorMessagesFromThePeerAreQuoted) {
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

TEST(RemoteProtocolTest, WriterRefusesOversizeMessages) {
  SocketPair p;
  auto s = WriteMessage(p.a.get(), {{"type", "x"}, {"blob", std::string(kMaxMessageBytes, 'a')}});
  EXPECT_FALSE(s.ok());
}

// The request's generic form: parameters as text and the flow id. What the keys mean is
// the harness's (tests/harness/remote/remote_request_test.cc).
TEST(RemoteProtocolTest, TrialRequestsCarryTextParametersAndTheFlowId) {
  TrialRequest r;
  r.parameters = {{"protocol", "udp"}, {"seed", "9"}};
  r.flow_id = 0xabcdef01;
  auto back = TrialRequest::FromJson(r.ToJson());
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->parameters, r.parameters);
  EXPECT_EQ(back->flow_id, 0xabcdef01u);
  auto refused = [&](const char* key, nlohmann::json value) {
    nlohmann::json m = r.ToJson();
    if (value.is_discarded()) {
      m.erase(key);
    } else {
      m[key] = value;
    }
    auto e = TrialRequest::FromJson(m);
    EXPECT_FALSE(e.ok()) << key << " " << value.dump();
    return e.ok() ? std::string() : e.error().ToString();
  };
  const nlohmann::json absent(nlohmann::json::value_t::discarded);
  EXPECT_NE(refused("flow_id", 1ull << 32).find("'flow_id'"), std::string::npos);
  EXPECT_NE(refused("flow_id", -1).find("'flow_id'"), std::string::npos);
  EXPECT_NE(refused("flow_id", absent).find("'flow_id'"), std::string::npos);
  EXPECT_NE(refused("parameters", absent).find("'parameters'"), std::string::npos);
  EXPECT_NE(refused("parameters", nlohmann::json::array()).find("'parameters'"), std::string::npos);
  EXPECT_NE(refused("parameters", {{"seed", 9}}).find("'parameters.seed'"), std::string::npos);
  EXPECT_NE(refused("parameters", {{"seed", std::string(300, '1')}}).find("'parameters.seed'"), std::string::npos);
  nlohmann::json many = nlohmann::json::object();
  for (size_t i = 0; i <= kMaxRequestParameters; ++i) many[fmt::format("k{}", i)] = "v";
  EXPECT_NE(refused("parameters", many).find("at most"), std::string::npos);
}

TEST(RemoteProtocolTest, DatagramCountsRoundTripAndAreChecked) {
  DatagramReceiveStats s;
  s.datagrams_received = 10;
  s.duplicated = 1;
  s.reordered = 2;
  s.stale = 3;
  s.malformed = 4;
  s.empty = 5;
  s.corrupt = 6;
  s.first_corrupt_sequence = 7;
  s.bytes_received = 1000;
  s.unique_bytes = 900;
  s.recv_calls = 8;
  s.coalesced_buffers = 9;
  s.queue_drops = 11;
  s.queue_drops_known = true;
  s.receive_buffer_bytes = 4096;
  s.receive_buffer_forced = true;
  s.all_arrived = true;
  s.integrity.mode = ReceiverMode::kRead;
  s.integrity.verified_bytes = 12;
  s.integrity.mismatches = 13;
  const nlohmann::json json = DatagramStatsToJson(s);
  EXPECT_TRUE(json["highest_sequence"].is_null());
  auto back = DatagramStatsFromJson(json);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(DatagramStatsToJson(*back), json);
  nlohmann::json bad = json;
  bad["lost"] = 1;  // not one of its fields: ignored
  bad["corrupt"] = -1;
  auto e = DatagramStatsFromJson(bad);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().ToString(), "result: datagrams: field 'corrupt' must be a non-negative integer");
  auto sent = DatagramsSent::FromJson(DatagramsSent{42, true}.ToJson());
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->datagrams, 42u);
  EXPECT_TRUE(sent->aborted);
  EXPECT_FALSE(DatagramsSent::FromJson({{"type", "sent"}, {"datagrams", "42"}, {"aborted", false}}).ok());
}

TEST(RemoteProtocolTest, TokenFilesMustBePrivateAndLongEnough) {
  const auto dir = std::filesystem::temp_directory_path() / ("zcb-token-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& content, mode_t mode) {
    const auto path = (dir / name).string();
    std::ofstream(path) << content;
    ::chmod(path.c_str(), mode);
    return path;
  };
  auto good = ReadTokenFile(write("good", "0123456789abcdef0123456789abcdef\n", 0600));
  ASSERT_TRUE(good.ok()) << good.error().ToString();
  EXPECT_EQ(*good, "0123456789abcdef0123456789abcdef");
  auto open = ReadTokenFile(write("open", "0123456789abcdef0123456789abcdef\n", 0644));
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().ToString().find("chmod 600"), std::string::npos);
  auto short_token = ReadTokenFile(write("short", "secret\n", 0600));
  ASSERT_FALSE(short_token.ok());
  EXPECT_NE(short_token.error().ToString().find("at least 16"), std::string::npos);
  EXPECT_FALSE(ReadTokenFile((dir / "missing").string()).ok());
  std::filesystem::remove_all(dir);
}

TEST(RemoteProtocolTest, ParsesHostPort) {
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
