// write: send() from a user buffer. The copying baseline every other strategy is
// measured against.
//
// A server's response (SendResponse): read() into a buffer of message_size bytes (the
// server's output buffer, header first), then send() it, until the file range is sent.

#include <sys/socket.h>

#include "stack/socket_io.h"
#include "stack/strategies.h"
#include "stack/user_buffers.h"

namespace zcb {
namespace {

class WriteStrategy final : public SendStrategy {
 public:
  WriteStrategy(int fd, UserBuffers buffers, MappedRegion response_buffer)
      : fd_(fd), buffers_(std::move(buffers)), response_buffer_(std::move(response_buffer)) {}

  Status Send(uint64_t offset, size_t len) override {
    // A copying send: once send() returns, the kernel has its own copy, so the gate is
    // already passed (0) and the generated ring never waits.
    UserBuffers::Message m = buffers_.Prepare(offset, len);
    ZCB_RETURN_IF_ERROR(SendAll(fd_, m.data, m.len, 0, &stats_.send_calls));
    buffers_.Sent(m, 0);
    stats_.bytes_sent += len;
    return OkStatus();
  }

  Status SendResponse(const Response& response) override {
    ZCB_RETURN_IF_ERROR(SendThroughBuffer(response, {response_buffer_.data(), response_buffer_.size()}, &reads_,
                                          [&](std::span<const uint8_t> piece, bool more) {
                                            return SendAll(response.socket_fd, piece.data(), piece.size(),
                                                           more ? MSG_MORE : 0, &stats_.send_calls);
                                          }));
    stats_.bytes_sent += response.size();
    return OkStatus();
  }

 private:
  int fd_;
  UserBuffers buffers_;
  MappedRegion response_buffer_;  // SendResponse's read buffer: message_size bytes
  uint64_t reads_ = 0;
};

}  // namespace

StrategyInfo WriteStrategyInfo() {
  StrategyInfo info;
  info.name = "write";
  info.summary = "send() from a user buffer (the copying baseline)";
  info.caps.protocols = {Protocol::kTcp};
  info.caps.sources = {SourceKind::kMemory, SourceKind::kGenerated};
  info.caps.sends_responses = true;
  info.probe = [] { return Availability{}; };
  info.create = [](const SendContext& ctx) -> Result<std::unique_ptr<SendStrategy>> {
    ZCB_ASSIGN_OR_RETURN(UserBuffers buffers, UserBuffers::Create(*ctx.payload, ctx.message_size, false));
    ZCB_ASSIGN_OR_RETURN(MappedRegion response_buffer, ResponseBuffer(ctx.message_size));
    return std::unique_ptr<SendStrategy>(
        new WriteStrategy(ctx.socket_fd, std::move(buffers), std::move(response_buffer)));
  };
  return info;
}

}  // namespace zcb
