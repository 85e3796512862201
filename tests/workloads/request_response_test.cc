// The request_response workload's server side (workloads/request_response.cc) and the
// exchange both ends share (workloads/exchange.h): each request read whole and checked
// for its sequence number is answered with the next response_size piece of the stream
// (the last one shorter under a byte count), the server stops at the client's EOF, and a
// corrupt, truncated or surplus request is an error naming it.

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "stack/pattern.h"
#include "stack/unique_fd.h"
#include "tests/workloads/recording_strategy.h"
#include "workloads/registry.h"

namespace zcb {
namespace {

constexpr uint64_t kResponse = 1000;

class RequestResponseServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    server_.Reset(fds[0]);
    client_.Reset(fds[1]);
    PayloadConfig config;
    config.max_message = kResponse;
    auto created = PayloadSource::Create(config, Pattern(1));
    ASSERT_TRUE(created.ok()) << created.error().ToString();
    payload_ = std::move(*created);
  }

  // Writes `bytes` as the client would, then closes the client's side.
  void ClientWrites(const std::vector<uint8_t>& bytes) {
    ASSERT_EQ(::write(client_.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    ::shutdown(client_.get(), SHUT_WR);
  }

  static std::vector<uint8_t> Requests(uint64_t count, uint64_t size) {
    std::vector<uint8_t> out(count * size);
    for (uint64_t k = 0; k < count; ++k) FillRequest(k, std::span<uint8_t>(out.data() + k * size, size));
    return out;
  }

  Status Serve(const std::map<std::string, std::string>& options, std::optional<uint64_t> bytes,
               double peer_timeout_s = 5) {
    auto workload = CreateWorkload("request_response", options);
    if (!workload.ok()) return std::move(workload).error();
    EXPECT_EQ((*workload)->expectation(), ReceiverExpectation::kRequestResponse);
    WorkloadSend send;
    send.strategy = &strategy_;
    send.payload = payload_.get();
    send.schedule = {kResponse, bytes, std::nullopt, 0};
    send.start = TrialClock::now();
    send.socket_fd = server_.get();
    send.peer_timeout_s = peer_timeout_s;
    TrialClock::time_point done{};
    Status run = (*workload)->Send(send, &done);
    EXPECT_NE(done, TrialClock::time_point{});
    return run;
  }

  UniqueFd server_, client_;
  std::unique_ptr<PayloadSource> payload_;
  RecordingStrategy strategy_;
};

TEST_F(RequestResponseServerTest, AnswersEachRequestWithTheNextPieceOfTheStreamUntilEof) {
  ClientWrites(Requests(5, 300));
  Status run = Serve({{"request_size", "300"}}, std::nullopt);
  ASSERT_TRUE(run.ok()) << run.error().ToString();
  ASSERT_EQ(strategy_.sends.size(), 5u);
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(strategy_.sends[k].offset, k * kResponse);
    EXPECT_EQ(strategy_.sends[k].len, kResponse);
  }
  EXPECT_EQ(strategy_.finishes, 1);
}

TEST_F(RequestResponseServerTest, TheLastResponseOfAByteCountIsShorter) {
  ClientWrites(Requests(3, 1));
  Status run = Serve({}, 2 * kResponse + 7);
  ASSERT_TRUE(run.ok()) << run.error().ToString();
  ASSERT_EQ(strategy_.sends.size(), 3u);
  EXPECT_EQ(strategy_.sends[2].offset, 2 * kResponse);
  EXPECT_EQ(strategy_.sends[2].len, 7u);
}

TEST_F(RequestResponseServerTest, ACorruptRequestIsAnErrorNamingIt) {
  std::vector<uint8_t> requests = Requests(4, 16);
  requests[2 * 16 + 0] ^= 0x01;  // request 2 carries another sequence number
  ClientWrites(requests);
  Status run = Serve({{"request_size", "16"}}, std::nullopt);
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.error().ToString().find("request 2 byte 0"), std::string::npos) << run.error().ToString();
  EXPECT_EQ(strategy_.sends.size(), 2u);  // the first two were answered
  EXPECT_EQ(strategy_.finishes, 1);
}

TEST_F(RequestResponseServerTest, ATruncatedRequestIsAnError) {
  std::vector<uint8_t> requests = Requests(2, 16);
  requests.resize(16 + 5);
  ClientWrites(requests);
  Status run = Serve({{"request_size", "16"}}, std::nullopt);
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.error().ToString().find("EOF inside request 1 (5 of 16 bytes)"), std::string::npos)
      << run.error().ToString();
}

TEST_F(RequestResponseServerTest, ARequestBeyondTheByteCountIsAnError) {
  ClientWrites(Requests(3, 1));
  Status run = Serve({}, 2 * kResponse);
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.error().ToString().find("request 2 is beyond the 2 transactions"), std::string::npos)
      << run.error().ToString();
}

// A client that stops writing while its connection stays open (it waits for a response
// the strategy held back): the server gives up after its timeout, saying so.
TEST_F(RequestResponseServerTest, SilenceAfterAnAnswerNamesAHeldResponse) {
  const std::vector<uint8_t> one = Requests(1, 1);
  ASSERT_EQ(::write(client_.get(), one.data(), one.size()), 1);
  Status run = Serve({}, std::nullopt, /*peer_timeout_s=*/0.3);
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.error().ToString().find("after answering 1: the client is still waiting for a response"),
            std::string::npos)
      << run.error().ToString();
  EXPECT_EQ(strategy_.sends.size(), 1u);
}

TEST(RequestResponseOptions, BadValuesAreUsageErrorsNamingTheOption) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{{"request_size", "0"},
                                                                                   {"outstanding", "0"},
                                                                                   {"outstanding", "1000"},
                                                                                   {"think_time_us", "-1"},
                                                                                   {"burst", "2"}}) {
    auto made = CreateWorkload("request_response", {{key, value}});
    ASSERT_FALSE(made.ok()) << key << "=" << value;
    EXPECT_EQ(made.error().kind(), ErrorKind::kUsage);
    EXPECT_NE(made.error().ToString().find(key), std::string::npos) << made.error().ToString();
  }
}

TEST(Exchange, RequestsCarryTheirSequenceNumberAndResponsesTileTheByteCount) {
  std::vector<uint8_t> a(12), b(12);
  FillRequest(0x0102, a);
  FillRequest(0x0103, b);
  EXPECT_EQ(a[0], 0x02);
  EXPECT_EQ(a[1], 0x01);
  EXPECT_NE(a, b);
  Exchange x;
  x.response_size = 100;
  EXPECT_EQ(x.TransactionLimit(), std::nullopt);
  EXPECT_EQ(x.ResponseLength(1000000), 100u);
  x.bytes = 250;
  EXPECT_EQ(x.TransactionLimit(), 3u);
  EXPECT_EQ(x.ResponseLength(1), 100u);
  EXPECT_EQ(x.ResponseLength(2), 50u);
  EXPECT_EQ(x.ResponseLength(3), 0u);
}

}  // namespace
}  // namespace zcb
