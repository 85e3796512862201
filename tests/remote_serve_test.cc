// zcbench serve and the remote path: verified trials through the control protocol (TCP
// streams and UDP datagrams), on loopback and from one namespace of the veth path to
// the other; the server surviving
// wrong tokens, bad messages and vanishing clients; the client reporting a vanished
// server as a trial error.

#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "drivers/network_path.h"
#include "drivers/remote/auth.h"
#include "drivers/remote/framing.h"
#include "drivers/remote/host_port.h"
#include "drivers/remote/protocol.h"
#include "harness/remote/refusal_log.h"
#include "harness/remote/remote_request.h"
#include "harness/remote/remote_server.h"
#include "harness/trial/trial_record.h"
#include "stack/registry.h"
#include "stack/socket_io.h"
#include "stack/unique_fd.h"
#include "tests/trial_test_util.h"
#include "tests/udp_test_util.h"

namespace zcb {
namespace {

using testing::ExpectBalancedAndVerified;
using testing::ExpectVerified;
using testing::RunOrFail;
using testing::UdpSpec;
using testing::VerifiedStream;

// A token file of the test's own, removed at the end.
class TokenFile {
 public:
  explicit TokenFile(const std::string& token) {
    static std::atomic<int> counter{0};
    path_ =
        (std::filesystem::temp_directory_path() / fmt::format("zcb-test-token-{}-{}", ::getpid(), ++counter)).string();
    std::ofstream(path_) << token << "\n";
    ::chmod(path_.c_str(), 0600);
  }
  ~TokenFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

constexpr char kToken[] = "f3b1c2d4e5a6978812345678deadbeefcafe0123";

// `zcbench serve` on a thread: listening on `address` (port 0: any), in the caller's
// network namespace unless `enter` moves the serving thread first.
class TestServer {
 public:
  explicit TestServer(const std::string& address = "127.0.0.1:0", std::function<Status()> enter = nullptr,
                      std::function<void(ServeConfig&)> configure = nullptr) {
    auto bound_future = bound_.get_future();
    thread_ = std::thread([this, address, enter, configure] {
      auto& bound = bound_;
      if (enter) {
        if (auto s = enter(); !s.ok()) {
          bound.set_value(std::move(s).error());
          return;
        }
      }
      ServeConfig config;
      auto listen = remote::ResolveHostPort(address, 0);
      if (!listen.ok()) {
        bound.set_value(std::move(listen).error());
        return;
      }
      config.listen = *listen;
      config.token = kToken;
      config.handshake_timeout_s = 2;
      config.stop = &stop_;
      config.log = [this](const std::string& line) {
        std::lock_guard lock(mutex_);
        log_.push_back(line);
      };
      if (configure) configure(config);
      auto server = RemoteServer::Listen(config);
      if (!server.ok()) {
        bound.set_value(std::move(server).error());
        return;
      }
      bound.set_value(server->address());
      status_ = server->Serve();
      sessions_ = server->sessions();
      failed_ = server->failed_sessions();
      refusals_ = server->refusals();
      peak_pending_ = server->peak_pending();
    });
    auto address_or = bound_future.get();
    if (address_or.ok()) address_ = *address_or;
    else error_ = address_or.error().ToString();
  }
  ~TestServer() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  std::string peer() const { return FormatSockaddr(address_); }
  const sockaddr_storage& address() const { return address_; }
  std::string Log() {
    std::lock_guard lock(mutex_);
    std::string all;
    for (const auto& l : log_) all += l + "\n";
    return all;
  }
  bool LogContains(const std::string& text) { return Log().find(text) != std::string::npos; }
  // After Stop.
  int sessions() const { return sessions_; }
  int failed() const { return failed_; }
  uint64_t refused(RefusalKind kind) const { return refusals_[static_cast<size_t>(kind)]; }
  int peak_pending() const { return peak_pending_; }

 private:
  std::promise<Result<sockaddr_storage>> bound_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  sockaddr_storage address_{};
  std::string error_;
  std::mutex mutex_;
  std::vector<std::string> log_;
  Status status_ = OkStatus();
  int sessions_ = 0, failed_ = 0;
  RefusalLog::Counts refusals_{};
  int peak_pending_ = 0;
};

TrialSpec RemoteStream(const std::string& strategy, uint64_t bytes, const std::string& peer, const TokenFile& token) {
  TrialSpec spec = VerifiedStream(strategy, bytes);
  spec.path = "remote";
  spec.path_options = {{"peer", peer}, {"token_file", token.path()}};
  spec.receive_timeout_s = 5;
  return spec;
}

// `count` sends of `size` bytes through `strategy` to the server, verified there.
TrialSpec RemoteDatagrams(const std::string& strategy, uint64_t size, uint64_t count, const std::string& peer,
                          const TokenFile& token, std::map<std::string, std::string> options = {}) {
  TrialSpec spec = UdpSpec(strategy, size, count, std::move(options));
  spec.path = "remote";
  spec.path_options = {{"peer", peer}, {"token_file", token.path()}};
  spec.receive_timeout_s = 5;
  return spec;
}

// A UDP record whose receiving side came from the server: its counts balance with what
// was sent here, everything that arrived verified there, and the server's CPU and host
// are in it. The record reads back as it was written.
void ExpectRemoteDatagrams(const nlohmann::json& record, uint64_t datagrams, const std::string& peer) {
  ExpectBalancedAndVerified(record, datagrams);
  const auto& m = record["metrics"];
  EXPECT_EQ(m["remote"]["peer"], peer);
  EXPECT_TRUE(m["remote"]["host"].is_object()) << m["remote"].dump();
  EXPECT_TRUE(m["cpu"]["receiver_host"].is_object()) << "the receiver's CPU came back from the server";
  EXPECT_TRUE(m["cpu"]["receiver_thread_s"].is_number());
  EXPECT_GT(m["recv_calls"].get<uint64_t>(), 0u);
  EXPECT_GT(m["udp"]["flow_id"].get<uint64_t>(), 0u);
  EXPECT_TRUE(m["integrity"]["first_mismatch_sequence"].is_null()) << m["integrity"].dump();
  EXPECT_EQ(record["path"]["name"], "remote");
  EXPECT_FALSE(record["params"].contains("tcp_congestion")) << "a datagram sender has no congestion control";
  auto back = TrialRecord::FromJson(record);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->ToJson().dump(), record.dump());
}

// Waits until the server log shows `text` (sessions end asynchronously to the client).
bool AwaitLog(TestServer& server, const std::string& text) {
  for (int i = 0; i < 200; ++i) {
    if (server.LogContains(text)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

UniqueFd ConnectTo(const sockaddr_storage& addr) {
  UniqueFd fd(::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), SockaddrLength(addr)), 0);
  return fd;
}

void ExpectGoodTrial(TestServer& server, const TokenFile& token) {
  const nlohmann::json record = RunOrFail(RemoteStream("write", 1 << 20, server.peer(), token));
  ExpectVerified(record, 1 << 20);
}

// A client written by hand, stopped where a test wants it to misbehave: authenticated,
// a trial asked for, its data stream connected and `bytes` of the pattern sent.
struct HandClient {
  UniqueFd control, data;
};

// A control connection written by hand, authenticated.
UniqueFd AuthenticateByHand(TestServer& server) {
  UniqueFd control = ConnectTo(server.address());
  EXPECT_TRUE(SetTimeout(control.get(), SO_RCVTIMEO, 5).ok());
  auto nonce = remote::NewNonce();
  EXPECT_TRUE(nonce.ok());
  if (!nonce.ok()) return control;
  EXPECT_TRUE(remote::WriteMessage(control.get(), {{"type", "hello"},
                                                   {"protocol", "zcbench-control"},
                                                   {"version", remote::kProtocolVersion},
                                                   {"client_nonce", *nonce}})
                  .ok());
  auto challenge = remote::ReadMessageOfType(control.get(), "challenge");
  EXPECT_TRUE(challenge.ok()) << challenge.error().ToString();
  if (!challenge.ok()) return control;
  const std::string proof = remote::ClientProof(kToken, (*challenge)["server_nonce"].get<std::string>(), *nonce);
  EXPECT_TRUE(remote::WriteMessage(control.get(), {{"type", "auth"}, {"proof", proof}}).ok());
  EXPECT_TRUE(remote::ReadMessageOfType(control.get(), "welcome").ok());
  return control;
}

HandClient StartTrialByHand(TestServer& server, size_t bytes) {
  HandClient c;
  c.control = AuthenticateByHand(server);
  TrialSpec spec;  // a TCP trial with the defaults
  EXPECT_TRUE(remote::WriteMessage(c.control.get(), MakeTrialRequest(spec, 0).ToJson()).ok());
  auto ready = remote::ReadMessageOfType(c.control.get(), "ready");
  EXPECT_TRUE(ready.ok()) << ready.error().ToString();
  if (!ready.ok()) return c;
  sockaddr_storage data_addr = server.address();
  reinterpret_cast<sockaddr_in*>(&data_addr)->sin_port = htons((*ready)["data_port"].get<uint16_t>());
  c.data = ConnectTo(data_addr);
  std::vector<uint8_t> payload(bytes);
  Pattern(spec.seed, spec.pattern_period).Fill(0, payload);
  EXPECT_EQ(::send(c.data.get(), payload.data(), payload.size(), MSG_NOSIGNAL), ssize_t(payload.size()));
  return c;
}

TEST(RemoteServeTest, LoopbackTrialsVerifyWithEveryStrategy) {
  TestServer server;
  ASSERT_TRUE(server.ok()) << server.error();
  TokenFile token(kToken);
  for (const char* strategy : {"write", "sendfile", "msg_zerocopy"}) {
    SCOPED_TRACE(strategy);
    if (!FindStrategy(strategy).ok()) continue;
    const nlohmann::json record = RunOrFail(RemoteStream(strategy, 4 << 20, server.peer(), token));
    ExpectVerified(record, 4 << 20);
    // The receiver's side of the record came from the server.
    EXPECT_TRUE(record["metrics"]["cpu"]["receiver_thread_s"].is_number());
    EXPECT_TRUE(record["metrics"]["cpu"]["receiver_host"].is_object());
    EXPECT_GT(record["metrics"]["recv_calls"].get<uint64_t>(), 0u);
    EXPECT_EQ(record["metrics"]["remote"]["peer"], server.peer());
    EXPECT_EQ(record["path"]["name"], "remote");
    EXPECT_TRUE(record["path"]["same_kernel"].get<bool>()) << "a peer on this kernel is recognised as such";
    // The sending socket is on this host: its congestion control is read back here.
    EXPECT_TRUE(record["params"]["tcp_congestion"]["name"].is_string()) << record["params"].dump();
  }
}

TEST(RemoteServeTest, LoopbackDatagramsAreVerifiedAndCountedByTheServer) {
  TestServer server;
  ASSERT_TRUE(server.ok()) << server.error();
  TokenFile token(kToken);
  // 2000 datagrams of 1400 bytes each time; udp_gso cuts 8 of them from each call.
  struct Case {
    const char* strategy;
    uint64_t size, calls;
    std::map<std::string, std::string> options;
  } cases[] = {
      {"sendto", 1400, 2000, {}}, {"sendmmsg", 1400, 2000, {}}, {"udp_gso", 8 * 1400, 250, {{"segment", "1400"}}}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.strategy);
    if (!FindStrategy(c.strategy).ok()) continue;
    const nlohmann::json record =
        RunOrFail(RemoteDatagrams(c.strategy, c.size, c.calls, server.peer(), token, c.options));
    ExpectRemoteDatagrams(record, 2000, server.peer());
  }
  // The server logged each trial with what it received.
  EXPECT_TRUE(AwaitLog(server, "trial 1: ")) << server.Log();
  // And the same server still takes a stream.
  ExpectGoodTrial(server, token);
}

// The receiver's socket options travel in the request; the server sets them on its
// socket and reads them back, and the record has its read-back beside the sender's.
TEST(RemoteServeTest, TheReceiversSocketOptionsAreSetAndReadBackByTheServer) {
  TestServer server;
  ASSERT_TRUE(server.ok()) << server.error();
  TokenFile token(kToken);
  std::ifstream rmem("/proc/sys/net/core/rmem_max"), wmem("/proc/sys/net/core/wmem_max");
  uint64_t rmem_max = 0, wmem_max = 0;
  rmem >> rmem_max;
  wmem >> wmem_max;
  TrialSpec spec = RemoteStream("write", 4 << 20, server.peer(), token);
  spec.socket_options = {{"rcvbuf", "524288"}, {"sndbuf", "1048576"}};
  const nlohmann::json record = RunOrFail(spec);
  ExpectVerified(record, 4 << 20);
  const nlohmann::json& so = record["params"]["socket_options"];
  EXPECT_EQ(so["rcvbuf"].value("socket", ""), "remote receiver") << so.dump();
  EXPECT_EQ(so["rcvbuf"]["applied"].get<uint64_t>(), 2 * std::min<uint64_t>(524288, rmem_max)) << so.dump();
  EXPECT_EQ(so["rcvbuf"].value("source", ""), "getsockopt(SO_RCVBUF) on the remote receiver's socket (zcbench serve)");
  EXPECT_EQ(so["sndbuf"].value("socket", ""), "sender");
  EXPECT_EQ(so["sndbuf"]["applied"].get<uint64_t>(), 2 * std::min<uint64_t>(1048576, wmem_max));

  TrialSpec udp = RemoteDatagrams("sendto", 1400, 200, server.peer(), token);
  udp.socket_options = {{"rcvbuf", "262144"}};
  const nlohmann::json datagrams = RunOrFail(udp);
  ExpectRemoteDatagrams(datagrams, 200, server.peer());
  const nlohmann::json& rcvbuf = datagrams["params"]["socket_options"]["rcvbuf"];
  EXPECT_EQ(rcvbuf.value("socket", ""), "remote receiver") << rcvbuf.dump();
  EXPECT_EQ(rcvbuf["applied"].get<uint64_t>(), datagrams["metrics"]["udp"]["receive_buffer_bytes"].get<uint64_t>())
      << "the server's two read-backs of its queue agree";
}

TEST(RemoteServeTest, DatagramCountsComeFromTheServersReceiver) {
  TestServer server;
  ASSERT_TRUE(server.ok()) << server.error();
  TokenFile token(kToken);
  // The read receiver does not check the payload: goodput counts what arrived, and
  // the server says how many of them came (not the sender's count echoed back).
  TrialSpec spec = RemoteDatagrams("sendto", 1000, 1500, server.peer(), token);
  spec.receiver = ReceiverMode::kRead;
  const nlohmann::json record = RunOrFail(spec);
  ASSERT_EQ(record["status"], "ok") << record["error"];
  const auto& udp = record["metrics"]["udp"];
  EXPECT_EQ(udp["datagrams_sent"].get<uint64_t>(), 1500u);
  EXPECT_EQ(udp["datagrams_received"].get<uint64_t>() + udp["lost"].get<uint64_t>(), 1500u);
  EXPECT_GE(udp["datagrams_received"].get<uint64_t>(), 1350u);
  EXPECT_EQ(record["metrics"]["integrity"]["mode"], "read");
  EXPECT_EQ(record["metrics"]["integrity"]["verified_bytes"].get<uint64_t>(), 0u);
  // bytes_arrived counts every datagram the server's receiver took, 1000 bytes each.
  EXPECT_EQ(udp["bytes_arrived"].get<uint64_t>() % 1000, 0u);
  EXPECT_GE(udp["bytes_arrived"].get<uint64_t>(), udp["datagrams_received"].get<uint64_t>() * 1000);
  EXPECT_GT(udp["receive_buffer_bytes"].get<uint64_t>(), 0u) << "the server's socket buffer, read back there";
}

TEST(RemoteServeTest, WrongTokenIsRejectedAndTheServerKeepsServing) {
  TestServer server;
  ASSERT_TRUE(server.ok()) << server.error();
  TokenFile wrong("0000000000000000000000000000000000000000");
  const nlohmann::json record = RunOrFail(RemoteStream("write", 1 << 20, server.peer(), wrong));
  EXPECT_EQ(record["status"], "error");
  EXPECT_NE(record["error"].get<std::string>().find("wrong token"), std::string::npos) << record["error"];
  EXPECT_TRUE(AwaitLog(server, "authentication failed: wrong token")) << server.Log();
  TokenFile right(kToken);
  ExpectGoodTrial(server, right);
}

TEST(RemoteServeTest, BadMessagesAreRejectedWithoutCrashing) {
  TestServer server;
  ASSERT_TRUE(server.ok()) << server.error();
  auto frame = [](uint32_t len, const std::string& body) {
    const uint32_t be = htonl(len);
    return std::string(reinterpret_cast<const char*>(&be), 4) + body;
  };
  auto whole = [&](const std::string& body) { return frame(static_cast<uint32_t>(body.size()), body); };
  auto hello = [](nlohmann::json patch) {
    nlohmann::json m = {{"type", "hello"},
                        {"protocol", "zcbench-control"},
                        {"version", remote::kProtocolVersion},
                        {"client_nonce", std::string(64, 'a')}};
    m.merge_patch(patch);
    return m.dump();
  };
  struct Case {
    std::string name, bytes, code, log;
    bool close_after = true;
  } cases[] = {
      {"truncated", frame(100, "{\"type\":\"hel"), "malformed", "truncated message"},
      {"oversize", frame(0x7fffffff, ""), "malformed", "oversize message"},
      {"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage", "malformed", "oversize message"},
      {"not json", whole("not json!"), "malformed", "not JSON"},
      {"wrong first message", whole("{\"type\":\"trial\"}"), "malformed", "expected 'hello'"},
      {"unknown version", whole(hello({{"version", 99}})), "version", "unsupported protocol version 99"},
      // Version 1 sent the trial's parameters as typed fields: refused in the hello.
      {"version 1 client", whole(hello({{"version", 1}})), "version", "unsupported protocol version 1"},
      {"bad nonce", whole(hello({{"client_nonce", "xyz"}})), "malformed", "no valid client_nonce"},
      {"silent", "", "malformed", "timed out", /*close_after=*/false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    UniqueFd fd = ConnectTo(server.address());
    if (!c.bytes.empty()) {
      ASSERT_EQ(::send(fd.get(), c.bytes.data(), c.bytes.size(), MSG_NOSIGNAL), ssize_t(c.bytes.size()));
    }
    if (c.close_after) ::shutdown(fd.get(), SHUT_WR);
    // The server answers with an error message naming the problem, then hangs up.
    timeval tv{5, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    auto reply = remote::ReadMessage(fd.get());
    ASSERT_TRUE(reply.ok()) << reply.error().ToString();
    EXPECT_EQ((*reply)["type"], "error");
    EXPECT_EQ((*reply)["code"], c.code) << reply->dump();
    EXPECT_TRUE(AwaitLog(server, c.log)) << server.Log();
  }
  TokenFile token(kToken);
  ExpectGoodTrial(server, token);
}

// The request names the trial's workload; a server that does not know it (one older than
// the client) or cannot take its options refuses the trial, naming the field, and goes on
// serving.
TEST(RemoteServeTest, AWorkloadTheServerDoesNotKnowIsRefusedByName) {
  TestServer server;
  ASSERT_TRUE(server.ok()) << server.error();
  struct Case {
    std::string field, value, message;
  } cases[] = {
      {"workload", "no_such_workload", "field 'workload': unknown workload 'no_such_workload'; valid workloads: bulk"},
      {"workload_options.files", "3", "field 'workload_options.files': workload bulk has no options (got files=3)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.field);
    UniqueFd control = AuthenticateByHand(server);
    TrialSpec spec;  // a TCP trial with the defaults
    remote::TrialRequest request = MakeTrialRequest(spec, 0);
    request.parameters[c.field] = c.value;
    ASSERT_TRUE(remote::WriteMessage(control.get(), request.ToJson()).ok());
    auto reply = remote::ReadMessage(control.get());
    ASSERT_TRUE(reply.ok()) << reply.error().ToString();
    EXPECT_EQ((*reply)["type"], "error");
    EXPECT_EQ((*reply)["code"], "bad-request") << reply->dump();
    EXPECT_NE((*reply)["message"].get<std::string>().find(c.message), std::string::npos) << reply->dump();
    EXPECT_TRUE(AwaitLog(server, c.message)) << server.Log();
  }
  TokenFile token(kToken);
  ExpectGoodTrial(server, token);
}

TEST(RemoteServeTest, ServerSurvivesAClientThatVanishesMidTrial) {
  TestServer server;
  ASSERT_TRUE(server.ok()) << server.error();
  // A client that authenticates, asks for a trial, streams a little and disappears.
  auto [control, data] = StartTrialByHand(server, 256 * 1024);
  ASSERT_TRUE(data) << server.Log();
  // Gone without a word: both connections reset.
  linger hard{1, 0};
  ::setsockopt(data.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  ::setsockopt(control.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  data.Reset();
  control.Reset();
  EXPECT_TRUE(AwaitLog(server, "session failed")) << server.Log();
  TokenFile token(kToken);
  ExpectGoodTrial(server, token);
}

TEST(RemoteServeTest, AClientKilledMidTrialIsNotLoggedAsATrial) {
  TestServer server;
  ASSERT_TRUE(server.ok()) << server.error();
  // As a killed process's sockets close: FIN on both, no reset. The data stream ends
  // like a finished one, so only the control connection tells the server.
  auto [control, data] = StartTrialByHand(server, 64 * 1024);
  ASSERT_TRUE(data) << server.Log();
  // Let the server take the data connection (it polls every 100 ms); a client gone
  // before that is the other, already tested, case.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  control.Reset();
  data.Reset();
  EXPECT_TRUE(AwaitLog(server, "the client went away mid-trial after 65536 bytes")) << server.Log();
  EXPECT_FALSE(server.LogContains("trial 1: 65536 bytes received")) << server.Log();
  TokenFile token(kToken);
  ExpectGoodTrial(server, token);
}

TEST(RemoteServeTest, ClientReportsAServerLostMidTrialAsATrialError) {
  TokenFile token(kToken);
  int port_pipe[2], authenticated_pipe[2];
  ASSERT_EQ(::pipe(port_pipe), 0);
  ASSERT_EQ(::pipe(authenticated_pipe), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The server in a process of its own, so that it can die like a real one. It tells
    // the test when the client is authenticated, so that the kill falls inside the trial
    // however long the set-up took on a loaded machine.
    ::close(port_pipe[0]);
    ::close(authenticated_pipe[0]);
    ServeConfig config;
    config.listen = *remote::ResolveHostPort("127.0.0.1:0", 0);
    config.token = kToken;
    config.log = [fd = authenticated_pipe[1]](const std::string& line) {
      if (line.find(": authenticated") != std::string::npos) (void)!::write(fd, "a", 1);
    };
    auto server = RemoteServer::Listen(config);
    uint16_t port = server.ok() ? ntohs(reinterpret_cast<const sockaddr_in*>(&server->address())->sin_port) : 0;
    (void)!::write(port_pipe[1], &port, sizeof port);
    if (server.ok()) (void)server->Serve();
    ::_exit(0);
  }
  ::close(port_pipe[1]);
  ::close(authenticated_pipe[1]);
  uint16_t port = 0;
  ASSERT_EQ(::read(port_pipe[0], &port, sizeof port), ssize_t(sizeof port));
  ::close(port_pipe[0]);
  ASSERT_NE(port, 0);
  // Killed 1 s into the session (the trial streams for 5 s), or after 10 s without one.
  std::thread killer([child, fd = authenticated_pipe[0]] {
    pollfd pfd{fd, POLLIN, 0};
    char byte;
    const bool authenticated = ::poll(&pfd, 1, 10'000) == 1 && ::read(fd, &byte, 1) == 1;
    ::close(fd);
    if (authenticated) std::this_thread::sleep_for(std::chrono::seconds(1));
    ::kill(child, SIGKILL);
  });
  TrialSpec spec = RemoteStream("write", 0, fmt::format("127.0.0.1:{}", port), token);
  spec.bytes.reset();
  spec.duration_s = 5;
  spec.rate_bps = 200'000'000;  // keep the stream going without flooding the machine
  const auto started = std::chrono::steady_clock::now();
  const nlohmann::json record = RunOrFail(spec);
  killer.join();
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_EQ(record["status"], "error");
  EXPECT_NE(record["error"].get<std::string>().find("lost the remote receiver"), std::string::npos) << record["error"];
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5))
      << "the loss is noticed, not waited out";
  EXPECT_GT(record["metrics"]["bytes_sent"].get<uint64_t>(), 0u);
}

// Two namespaces of the veth path stand for two hosts: the server listens on the
// receiver's 198.18.0.2, the client runs the trials `make_specs(peer)` gives from the
// sender's namespace. Every record shows the server as its peer and the sender's veth end
// as the device it sent through; the server ends no session in an error.
std::vector<nlohmann::json> RunAcrossVeth(
    const std::function<std::vector<TrialSpec>(const std::string& peer)>& make_specs) {
  std::vector<nlohmann::json> records;
  auto veth = CreatePath("veth", {});
  EXPECT_TRUE(veth.ok()) << veth.error().ToString();
  if (!veth.ok()) return records;
  NetworkPath& hosts = **veth;
  TestServer server("198.18.0.2:0", [&] { return hosts.EnterReceiverSide(); });
  EXPECT_TRUE(server.ok()) << server.error();
  if (!server.ok()) return records;
  std::thread client([&] {
    if (auto s = hosts.EnterSenderSide(); !s.ok()) {
      ADD_FAILURE() << s.error().ToString();
      return;
    }
    for (const TrialSpec& spec : make_specs(server.peer())) records.push_back(RunOrFail(spec));
  });
  client.join();
  EXPECT_FALSE(records.empty());
  for (const auto& record : records) {
    SCOPED_TRACE(record["params"]["strategy"].get<std::string>());
    EXPECT_EQ(record["metrics"]["remote"]["peer"], server.peer());
    // The client described the device it sends through: the sender's veth end.
    EXPECT_FALSE(record["path"]["interfaces"].empty());
    EXPECT_EQ(record["path"]["interfaces"][0]["driver"], "veth");
  }
  server.Stop();
  EXPECT_GE(server.sessions(), static_cast<int>(records.size()));
  EXPECT_EQ(server.failed(), 0) << server.Log();
  return records;
}

TEST(RemoteServeTest, ServeInsideTheVethReceiverNamespace) {
  ZCB_REQUIRE_ROOT();
  TokenFile token(kToken);
  const auto records = RunAcrossVeth([&](const std::string& peer) {
    std::vector<TrialSpec> specs;
    for (const char* strategy : {"write", "sendfile", "msg_zerocopy"}) {
      if (FindStrategy(strategy).ok()) specs.push_back(RemoteStream(strategy, 4 << 20, peer, token));
    }
    return specs;
  });
  for (const auto& record : records) {
    SCOPED_TRACE(record["params"]["strategy"].get<std::string>());
    ExpectVerified(record, 4 << 20);
  }
}

TEST(RemoteServeTest, DatagramsInsideTheVethReceiverNamespace) {
  ZCB_REQUIRE_ROOT();
  TokenFile token(kToken);
  std::string server_peer;
  const auto records = RunAcrossVeth([&](const std::string& peer) {
    server_peer = peer;
    std::vector<TrialSpec> specs = {RemoteDatagrams("sendto", 1400, 2000, peer, token)};
    if (FindStrategy("udp_gso").ok())
      specs.push_back(RemoteDatagrams("udp_gso", 8 * 1400, 250, peer, token, {{"segment", "1400"}}));
    return specs;
  });
  for (const auto& record : records) {
    SCOPED_TRACE(record["params"]["strategy"].get<std::string>());
    ExpectRemoteDatagrams(record, 2000, server_peer);
  }
}

// The remote receivers check a pattern stream, not a request/response exchange: such a
// trial is recorded unsupported, naming both, before anything connects (nothing listens
// on port 1).
TEST(RemoteServeTest, ARequestResponseTrialIsUnsupportedWithTheReason) {
  const TokenFile token(kToken);
  TrialSpec spec = RemoteStream("write", 64 * 1024, "127.0.0.1:1", token);
  spec.workload = "request_response";
  const nlohmann::json record = RunOrFail(spec);
  ASSERT_TRUE(record.is_object());
  EXPECT_EQ(record["status"], "unsupported");
  const std::string error = record["error"];
  EXPECT_NE(error.find("request/response exchange"), std::string::npos) << error;
  EXPECT_NE(error.find("remote"), std::string::npos) << error;
}

// zcbench serve receives one stream at a time: parallel streams over the remote path are
// recorded unsupported, naming the parameter and why, before anything connects (nothing
// listens on port 1).
TEST(RemoteServeTest, ParallelStreamsAreUnsupportedWithTheReason) {
  const TokenFile token(kToken);
  TrialSpec spec = RemoteStream("write", 64 * 1024, "127.0.0.1:1", token);
  spec.streams = 2;
  const nlohmann::json record = RunOrFail(spec);
  ASSERT_TRUE(record.is_object());
  EXPECT_EQ(record["status"], "unsupported");
  const std::string error = record["error"];
  EXPECT_NE(error.find("streams=2"), std::string::npos) << error;
  EXPECT_NE(error.find("zcbench serve receives one stream at a time"), std::string::npos) << error;
}

// ---- The server under load: silent, slowloris and wrong-token connections from loopback ----

using Clock = std::chrono::steady_clock;

// The descriptors this process has open (the server runs on a thread of it).
int OpenDescriptors() {
  int count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++count;
  return count;
}

// A hello frame, whole: what a slowloris client drips one byte at a time.
std::string HelloFrame() {
  const std::string body = nlohmann::json{
      {"type", "hello"},
      {"protocol", std::string(remote::kProtocolName)},
      {"version", remote::kProtocolVersion},
      {"client_nonce",
       std::string(64, 'a')}}.dump();
  const uint32_t be = htonl(static_cast<uint32_t>(body.size()));
  return std::string(reinterpret_cast<const char*>(&be), 4) + body;
}

// Connections that never finish a handshake: `silent` send nothing, `slow` drip a hello
// one byte every `drip` (each byte well inside the handshake timeout). Each one's time
// from connect to the server's close is measured; the attack ends when all are closed or
// at `give_up`.
struct StalledConnections {
  int silent = 0, slow = 0;
  std::chrono::milliseconds drip{250};
  std::chrono::seconds give_up{12};
  std::vector<double> closed_after_s;  // per connection; negative: still open at give_up
  std::vector<bool> was_slow;          // per connection
  int connect_failures = 0;
  std::atomic<int> closed_so_far{0};  // for another thread to wait on

  // Waits until at least `n` of the connections are closed, or `limit` has passed.
  bool AwaitClosed(int n, std::chrono::seconds limit) const {
    const auto end = Clock::now() + limit;
    while (closed_so_far.load() < n) {
      if (Clock::now() >= end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  void Run(const sockaddr_storage& server) {
    struct Conn {
      UniqueFd fd;
      bool slow = false;
      size_t dripped = 0;
      Clock::time_point opened;
      double closed_after = -1;
    };
    std::vector<Conn> conns;
    for (int i = 0; i < silent + slow; ++i) {
      Conn c;
      c.fd.Reset(::socket(server.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
      // The slow ones spread among the silent ones, so that some are among those held.
      const int total = silent + slow;
      c.slow = (i + 1) * slow / total != i * slow / total;
      c.opened = Clock::now();
      if (::connect(c.fd.get(), reinterpret_cast<const sockaddr*>(&server), SockaddrLength(server)) != 0 &&
          errno != EINPROGRESS) {
        ++connect_failures;
        continue;
      }
      conns.push_back(std::move(c));
    }
    const std::string hello = HelloFrame();
    const Clock::time_point end = Clock::now() + give_up;
    Clock::time_point next_drip = Clock::now();
    size_t open = conns.size();
    while (open > 0 && Clock::now() < end) {
      if (Clock::now() >= next_drip) {
        for (auto& c : conns) {
          if (!c.slow || c.closed_after >= 0 || c.dripped >= hello.size()) continue;
          if (::send(c.fd.get(), hello.data() + c.dripped, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) ++c.dripped;
        }
        next_drip += drip;
      }
      std::vector<pollfd> pfds;
      std::vector<Conn*> of;
      for (auto& c : conns) {
        if (c.closed_after >= 0) continue;
        pfds.push_back({c.fd.get(), POLLIN | POLLRDHUP, 0});
        of.push_back(&c);
      }
      if (::poll(pfds.data(), pfds.size(), 20) < 0 && errno != EINTR) break;
      for (size_t i = 0; i < pfds.size(); ++i) {
        if (pfds[i].revents == 0) continue;
        char buffer[512];
        ssize_t n;
        while ((n = ::recv(pfds[i].fd, buffer, sizeof buffer, MSG_DONTWAIT)) > 0) {
        }
        const bool closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ||
                            (pfds[i].revents & (POLLHUP | POLLERR)) != 0;
        if (closed) {
          of[i]->closed_after = std::chrono::duration<double>(Clock::now() - of[i]->opened).count();
          --open;
          ++closed_so_far;
        }
      }
    }
    for (const auto& c : conns) {
      closed_after_s.push_back(c.closed_after);
      was_slow.push_back(c.slow);
    }
  }
};

// One handshake with `token` on a fresh connection: "welcome", the error's code, or
// "closed" (the server hung up without a word). `took_s`: from sending the proof to the
// answer.
std::string HandshakeWith(const sockaddr_storage& server, const std::string& token, double* took_s = nullptr) {
  UniqueFd fd(::socket(server.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&server), SockaddrLength(server)) != 0) return "closed";
  (void)SetTimeout(fd.get(), SO_RCVTIMEO, 5);
  const std::string nonce = *remote::NewNonce();
  if (!remote::WriteMessage(fd.get(), {{"type", "hello"},
                                       {"protocol", std::string(remote::kProtocolName)},
                                       {"version", remote::kProtocolVersion},
                                       {"client_nonce", nonce}})
           .ok())
    return "closed";
  auto challenge = remote::ReadMessage(fd.get());
  if (!challenge.ok()) return "closed";
  if ((*challenge)["type"] != "challenge") return (*challenge).value("code", "?");
  const std::string proof = remote::ClientProof(token, (*challenge)["server_nonce"].get<std::string>(), nonce);
  const auto sent = Clock::now();
  if (!remote::WriteMessage(fd.get(), {{"type", "auth"}, {"proof", proof}}).ok()) return "closed";
  auto answer = remote::ReadMessage(fd.get());
  if (took_s != nullptr) *took_s = std::chrono::duration<double>(Clock::now() - sent).count();
  if (!answer.ok()) return "closed";
  if ((*answer)["type"] == "welcome") {
    (void)remote::WriteMessage(fd.get(), {{"type", "bye"}});
    return "welcome";
  }
  return (*answer).value("code", "?");
}

// 200 silent connections, 50 slowloris handshakes and 500 wrong tokens while a real
// trial streams through the server: the trial completes verified, every attacker is
// closed by the handshake deadline (or at once, over the bound), none gets in, the log
// stays small, no descriptor leaks, and the server takes the next client at once.
TEST(RemoteServeTest, TheServerKeepsServingUnderSilentSlowAndWrongTokenConnections) {
  TokenFile token(kToken);
  const int fds_before = OpenDescriptors();
  {
    TestServer server;
    ASSERT_TRUE(server.ok()) << server.error();
    const double deadline_s = 2;  // TestServer's handshake_timeout_s
    // The real trial: 3 s of a paced stream, authenticated before the attack starts.
    TrialSpec spec = RemoteStream("write", 0, server.peer(), token);
    spec.bytes.reset();
    spec.duration_s = 3;
    spec.rate_bps = 200'000'000;
    std::future<nlohmann::json> trial = std::async(std::launch::async, [&] { return RunOrFail(spec); });
    ASSERT_TRUE(AwaitLog(server, "authenticated")) << server.Log();
    const auto attack_start = Clock::now();

    StalledConnections stalled;
    stalled.silent = 200;
    stalled.slow = 50;
    std::thread stalling([&] { stalled.Run(server.address()); });
    std::map<std::string, int> wrong_outcomes;
    int wrong_attempts = 0;
    // The guesses start once the server has taken in the whole stalled burst: the first
    // 64 held as handshakes, the rest closed at once. A guess that came earlier could take
    // one of the 64 places and, when its handshake ended, leave it free to every later
    // guess, so that none would meet the bound. Then they are spread over about 3 s, past
    // the held ones' deadline: the early ones find the bound reached and are closed at
    // once, the later ones reach the comparison.
    const int max_pending = 64;  // --max-pending's default, TestServer's
    bool burst_taken = false;
    std::thread guessing([&] {
      burst_taken = stalled.AwaitClosed(stalled.silent + stalled.slow - max_pending, std::chrono::seconds(5));
      if (!burst_taken) return;
      const auto guesses_start = Clock::now();
      const std::string wrong = "not-the-token-but-long-enough-0123456789";
      for (; wrong_attempts < 500 && Clock::now() - attack_start < std::chrono::seconds(20); ++wrong_attempts) {
        ++wrong_outcomes[HandshakeWith(server.address(), wrong)];
        std::this_thread::sleep_until(guesses_start + (wrong_attempts + 1) * std::chrono::milliseconds(6));
      }
    });
    stalling.join();
    guessing.join();
    const nlohmann::json record = trial.get();
    const double attack_s = std::chrono::duration<double>(Clock::now() - attack_start).count();

    ASSERT_TRUE(record.is_object());
    ASSERT_EQ(record["status"], "ok") << record["error"];
    EXPECT_GT(record["metrics"]["bytes_received"].get<uint64_t>(), 0u);
    EXPECT_EQ(record["metrics"]["integrity"]["verified_bytes"], record["metrics"]["bytes_received"]);
    EXPECT_EQ(record["metrics"]["integrity"]["mismatches"].get<uint64_t>(), 0u);

    EXPECT_EQ(stalled.connect_failures, 0);
    ASSERT_TRUE(burst_taken) << "the connections over the bound were not closed within 5 s";
    ASSERT_EQ(stalled.closed_after_s.size(), 250u);
    for (size_t i = 0; i < stalled.closed_after_s.size(); ++i) {
      SCOPED_TRACE(stalled.was_slow[i] ? "slowloris" : "silent");
      EXPECT_GE(stalled.closed_after_s[i], 0) << "connection " << i << " still open after 12 s";
      EXPECT_LE(stalled.closed_after_s[i], deadline_s + 1.5) << "connection " << i << " outlived the deadline";
    }
    // Slowloris handshakes among the held ones: their dripped bytes did not extend the deadline.
    int slow_held = 0;
    for (size_t i = 0; i < stalled.closed_after_s.size(); ++i)
      slow_held += stalled.was_slow[i] && stalled.closed_after_s[i] >= deadline_s - 0.5 ? 1 : 0;
    EXPECT_GT(slow_held, 0) << "no slowloris connection was among those held until the deadline";
    EXPECT_EQ(wrong_attempts, 500);
    EXPECT_EQ(wrong_outcomes.count("welcome"), 0u);
    EXPECT_GT(wrong_outcomes["auth"], 50) << "wrong tokens reached the comparison once slots were free";
    EXPECT_GT(wrong_outcomes["closed"], 0) << "wrong tokens found the bound reached while the stalled ones held it";
    for (const auto& [outcome, n] : wrong_outcomes)
      EXPECT_TRUE(outcome == "auth" || outcome == "closed") << n << " x " << outcome;
    EXPECT_LT(attack_s, 30);

    // The server still serves, at once.
    ExpectGoodTrial(server, token);
    EXPECT_EQ(HandshakeWith(server.address(), kToken), "welcome");
    // Every refusal was not logged on its own line: the log is bounded by time, not count.
    const std::string log = server.Log();
    EXPECT_LT(log.size(), 24u * 1024) << log.substr(0, 4096);
    EXPECT_GT(log.size(), 0u);
    EXPECT_NE(log.find("suppressed "), std::string::npos) << "the flood was summed up";
    server.Stop();
    RecordProperty("wrong_tokens_compared", wrong_outcomes["auth"]);
    RecordProperty("wrong_tokens_closed_over_the_bound", wrong_outcomes["closed"]);
    RecordProperty("peak_pending", server.peak_pending());
    RecordProperty("log_bytes", static_cast<int>(log.size()));
    RecordProperty("attack_ms", static_cast<int>(attack_s * 1000));
    EXPECT_LE(server.peak_pending(), max_pending) << "--max-pending's default bound";
    EXPECT_GE(server.peak_pending(), 32) << "the silent connections were held at once, not one by one";
    EXPECT_EQ(server.refused(RefusalKind::kTimeout) + server.refused(RefusalKind::kOverLimit) +
                  server.refused(RefusalKind::kClosed),
              250u + static_cast<uint64_t>(wrong_outcomes["closed"]))
        << "each stalled connection, and each wrong-token attempt closed over the bound, refused once";
    EXPECT_EQ(server.refused(RefusalKind::kWrongToken), static_cast<uint64_t>(wrong_outcomes["auth"]));
    EXPECT_TRUE(server.LogContains("stopped: ")) << "the exit line";
    EXPECT_TRUE(server.LogContains(" wrong_token")) << server.Log().substr(server.Log().size() - 400);
  }
  EXPECT_EQ(OpenDescriptors(), fds_before) << "descriptors leaked";
}

// Wrong proofs are answered no faster than right ones: medians of 200 alternating
// handshakes (100 each), time from the proof sent to the answer read. The server makes
// the welcome before it compares, so both cost it the same; a wrong proof's median may
// not be under 3/4 of the right one's (the noise of medians on a shared 2-vCPU VM).
TEST(RemoteServeTest, WrongTokensAreAnsweredNoFasterThanRightOnes) {
  TestServer server;
  ASSERT_TRUE(server.ok()) << server.error();
  std::vector<double> right, wrong_first, wrong_last;
  std::string first = kToken, last = kToken;
  first.front() ^= 1;
  last.back() ^= 1;
  const auto start = Clock::now();
  for (int i = 0; i < 100 && Clock::now() - start < std::chrono::seconds(30); ++i) {
    double took = 0;
    ASSERT_EQ(HandshakeWith(server.address(), kToken, &took), "welcome");
    right.push_back(took);
    ASSERT_EQ(HandshakeWith(server.address(), i % 2 == 0 ? first : last, &took), "auth");
    (i % 2 == 0 ? wrong_first : wrong_last).push_back(took);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  std::vector<double> wrong = wrong_first;
  wrong.insert(wrong.end(), wrong_last.begin(), wrong_last.end());
  ASSERT_GE(right.size(), 50u) << "too few attempts within 30 s";
  RecordProperty("right_median_us", std::to_string(median(right) * 1e6));
  RecordProperty("wrong_median_us", std::to_string(median(wrong) * 1e6));
  EXPECT_GE(median(wrong), 0.75 * median(right)) << "right " << median(right) << " s, wrong " << median(wrong) << " s";
  // A mismatch in the first byte and one in the last cost the same, within noise.
  EXPECT_LT(median(wrong_first), 2 * median(wrong_last));
  EXPECT_LT(median(wrong_last), 2 * median(wrong_first));
}

// The handshake is challenge-response: a proof seen on the wire is good for its own
// server nonce only, so replaying it in another session (same client nonce) fails.
TEST(RemoteServeTest, AReplayedProofIsRefused) {
  TestServer server;
  ASSERT_TRUE(server.ok()) << server.error();
  const std::string nonce = *remote::NewNonce();
  auto hello = [&](int fd) {
    EXPECT_TRUE(remote::WriteMessage(fd, {{"type", "hello"},
                                          {"protocol", std::string(remote::kProtocolName)},
                                          {"version", remote::kProtocolVersion},
                                          {"client_nonce", nonce}})
                    .ok());
    auto challenge = remote::ReadMessageOfType(fd, "challenge");
    EXPECT_TRUE(challenge.ok());
    return challenge.ok() ? (*challenge)["server_nonce"].get<std::string>() : std::string();
  };
  UniqueFd seen = ConnectTo(server.address());
  const std::string proof = remote::ClientProof(kToken, hello(seen.get()), nonce);
  ASSERT_TRUE(remote::WriteMessage(seen.get(), {{"type", "auth"}, {"proof", proof}}).ok());
  ASSERT_TRUE(remote::ReadMessageOfType(seen.get(), "welcome").ok());
  UniqueFd replay = ConnectTo(server.address());
  (void)hello(replay.get());
  ASSERT_TRUE(remote::WriteMessage(replay.get(), {{"type", "auth"}, {"proof", proof}}).ok());
  auto answer = remote::ReadMessage(replay.get());
  ASSERT_TRUE(answer.ok()) << answer.error().ToString();
  EXPECT_EQ((*answer)["type"], "error");
  EXPECT_EQ((*answer)["code"], "auth");
}

// One session at a time: a client authenticated while another's session runs waits for
// it (here it ends within the wait, and the trial runs), or is told "busy" once its wait
// is over; both get their answer well within the client's own 10 s.
TEST(RemoteServeTest, AClientWaitsForTheSessionInProgressThenIsToldBusy) {
  TestServer server("127.0.0.1:0", nullptr, [](ServeConfig& config) { config.busy_wait_s = 1; });
  ASSERT_TRUE(server.ok()) << server.error();
  TokenFile token(kToken);
  {
    UniqueFd holder = AuthenticateByHand(server);
    std::thread release([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      (void)remote::WriteMessage(holder.get(), {{"type", "bye"}});
    });
    ExpectGoodTrial(server, token);
    release.join();
  }
  UniqueFd holder = AuthenticateByHand(server);
  UniqueFd waiter = AuthenticateByHand(server);
  const auto asked = Clock::now();
  ASSERT_TRUE(remote::WriteMessage(waiter.get(), MakeTrialRequest(TrialSpec{}, 0).ToJson()).ok());
  auto answer = remote::ReadMessage(waiter.get());
  const double waited = std::chrono::duration<double>(Clock::now() - asked).count();
  ASSERT_TRUE(answer.ok()) << answer.error().ToString();
  EXPECT_EQ((*answer)["code"], "busy") << answer->dump();
  EXPECT_NE((*answer)["message"].get<std::string>().find("one trial at a time"), std::string::npos);
  EXPECT_GE(waited, 0.5);
  EXPECT_LT(waited, 4.0);
  holder.Reset();
  ExpectGoodTrial(server, token);
  server.Stop();
  EXPECT_EQ(server.refused(RefusalKind::kBusy), 1u);
}

}  // namespace
}  // namespace zcb
