// SendStrategy::SendResponse (stack/response.h), driven by the registry: every strategy
// with the capability sends_responses sends a generated header followed by an unaligned
// range of an open file, exactly, on the socket each response names (two connections
// through one strategy object), with a header larger than the copying strategies' buffer
// and with none; a strategy without the capability refuses, naming it.

#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "stack/registry.h"
#include "stack/socket_io.h"
#include "stack/unique_fd.h"
#include "tests/tcp_pair.h"
#include "workloads/payload_source.h"

namespace zcb {
namespace {

constexpr size_t kBuffer = 4096;  // the message size: the copying strategies' read buffer
constexpr size_t kFileBytes = 300'000;

// A loopback TCP connection: the strategy sends on `sending`, the peer reads `receiving`.
using Connection = testing::TcpPair;
Connection Connect() { return testing::ConnectLoopback(); }

std::vector<uint8_t> ReadAll(int fd) {
  std::vector<uint8_t> out;
  uint8_t chunk[65536];
  for (ssize_t n; (n = ::recv(fd, chunk, sizeof chunk, 0)) > 0;) out.insert(out.end(), chunk, chunk + n);
  return out;
}

std::vector<uint8_t> Bytes(size_t n, uint8_t salt) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 131 + (i >> 9) + salt);
  return v;
}

// Sends `response` (with its socket set to `c.sending`) and returns what the peer read.
std::vector<uint8_t> SendAndRead(SendStrategy& strategy, Response response, Connection& c, Status& sent) {
  std::vector<uint8_t> got;
  std::thread reader([&] { got = ReadAll(c.receiving.get()); });
  response.socket_fd = c.sending.get();
  sent = strategy.SendResponse(response);
  ::shutdown(c.sending.get(), SHUT_WR);
  reader.join();
  return got;
}

TEST(SendResponse, EveryCapableStrategySendsHeaderThenFileRangeOnTheNamedSocket) {
  const std::vector<uint8_t> file_bytes = Bytes(kFileBytes, 7);
  UniqueFd file(::memfd_create("zcb-response-file", MFD_CLOEXEC));
  ASSERT_EQ(::pwrite(file.get(), file_bytes.data(), file_bytes.size(), 0), static_cast<ssize_t>(kFileBytes));
  const std::vector<uint8_t> header = Bytes(kBuffer + 1000, 99);  // more than one buffer-full

  int capable = 0;
  for (const StrategyInfo& info : AllStrategies()) {
    if (!info.Speaks(Protocol::kTcp) || !info.caps.sends_responses) continue;
    if (!ProbeAvailability(info).available) {
      ADD_FAILURE() << info.name
                    << " has sends_responses but is not available here: " << ProbeAvailability(info).reason;
      continue;
    }
    SCOPED_TRACE(info.name);
    PayloadConfig config;
    config.kind = info.DefaultSource();
    config.max_message = kBuffer;
    auto payload = PayloadSource::Create(config, Pattern(1));
    ASSERT_TRUE(payload.ok()) << payload.error().ToString();
    Connection first = Connect();
    SendContext ctx;
    ctx.socket_fd = first.sending.get();
    ctx.payload = payload->get();
    ctx.message_size = kBuffer;
    auto options = Options::Parse(info.options, {}, "strategy " + info.name);
    ASSERT_TRUE(options.ok());
    ctx.options = *options;
    auto strategy = info.create(ctx);
    ASSERT_TRUE(strategy.ok()) << strategy.error().ToString();

    Response response;
    response.header = header;
    response.file_fd = file.get();
    response.file_offset = 12'345;  // not page aligned
    response.file_length = 200'001;
    Status sent = OkStatus();
    std::vector<uint8_t> got = SendAndRead(**strategy, response, first, sent);
    ++capable;
    ASSERT_TRUE(sent.ok()) << sent.error().ToString();
    std::vector<uint8_t> expected = header;
    expected.insert(expected.end(), file_bytes.begin() + 12'345, file_bytes.begin() + 12'345 + 200'001);
    EXPECT_TRUE(got == expected) << got.size() << " bytes, expected " << expected.size();

    // A second connection through the same strategy object, no header.
    Connection second = Connect();
    response.header = {};
    response.file_offset = 1;
    response.file_length = 99'999;
    got = SendAndRead(**strategy, response, second, sent);
    ASSERT_TRUE(sent.ok()) << sent.error().ToString();
    EXPECT_TRUE(got == std::vector<uint8_t>(file_bytes.begin() + 1, file_bytes.begin() + 100'000)) << got.size();
    EXPECT_GE((*strategy)->stats().bytes_sent, expected.size() + 99'999);
    ASSERT_TRUE((*strategy)->Finish().ok());
  }
  EXPECT_GE(capable, 5);
}

// The interface's own SendResponse, which a strategy without the capability keeps.
TEST(SendResponse, AStrategyWithoutTheCapabilityRefusesNamingIt) {
  class SendOnly final : public SendStrategy {
   public:
    Status Send(uint64_t, size_t) override { return OkStatus(); }
  } strategy;
  const Status sent = strategy.SendResponse(Response{});
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().kind(), ErrorKind::kUnsupported);
  EXPECT_NE(sent.error().ToString().find("sends_responses"), std::string::npos) << sent.error().ToString();
}

}  // namespace
}  // namespace zcb
