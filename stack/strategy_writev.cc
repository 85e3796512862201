// writev: a per-message header (generated, as a server writes a response header) and
// the body from the payload, gathered into one writev() call.
//
// A server's response (SendResponse): the body read (pread) into the response buffer
// (message_size bytes), then the generated header and it in one writev(); a body larger
// than the buffer goes on a buffer at a time, a writev() each.

#include <sys/uio.h>

#include <algorithm>

#include "stack/socket_io.h"
#include "stack/strategies.h"
#include "stack/user_buffers.h"

namespace zcb {
namespace {

class WritevStrategy final : public SendStrategy {
 public:
  WritevStrategy(int fd, const Pattern& pattern, UserBuffers buffers, MappedRegion header, size_t header_size,
                 MappedRegion response_buffer)
      : fd_(fd),
        pattern_(pattern),
        buffers_(std::move(buffers)),
        header_(std::move(header)),
        header_size_(header_size),
        response_buffer_(std::move(response_buffer)) {}

  Status Send(uint64_t offset, size_t len) override {
    const size_t head = std::min(header_size_, len);
    pattern_.Fill(offset, {header_.data(), head});
    UserBuffers::Message body = buffers_.Prepare(offset + head, len - head);
    struct iovec iov[2] = {{header_.data(), head}, {body.data, body.len}};
    ZCB_RETURN_IF_ERROR(WritevAll(fd_, iov, body.len > 0 ? 2 : 1, &stats_.send_calls));
    buffers_.Sent(body, 0);
    stats_.bytes_sent += len;
    return OkStatus();
  }

  Status SendResponse(const Response& response) override {
    uint64_t at = 0;  // response bytes sent
    const uint64_t total = response.size();
    while (at < total) {
      struct iovec iov[2];
      int count = 0;
      if (at == 0 && !response.header.empty()) {
        iov[count++] = {const_cast<uint8_t*>(response.header.data()), response.header.size()};
        at = response.header.size();
      }
      const size_t body = static_cast<size_t>(std::min<uint64_t>(response_buffer_.size(), total - at));
      if (body > 0) {
        ZCB_RETURN_IF_ERROR(CopyResponseBytes(response, at, {response_buffer_.data(), body}, &reads_));
        iov[count++] = {response_buffer_.data(), body};
      }
      ZCB_RETURN_IF_ERROR(WritevAll(response.socket_fd, iov, count, &stats_.send_calls));
      at += body;
    }
    stats_.bytes_sent += total;
    return OkStatus();
  }

 private:
  int fd_;
  const Pattern& pattern_;
  UserBuffers buffers_;
  MappedRegion header_;
  size_t header_size_;
  MappedRegion response_buffer_;  // SendResponse's read buffer: message_size bytes
  uint64_t reads_ = 0;
};

}  // namespace

StrategyInfo WritevStrategyInfo() {
  StrategyInfo info;
  info.name = "writev";
  info.summary = "a generated header and the body gathered with writev()";
  info.caps.protocols = {Protocol::kTcp};
  info.caps.sources = {SourceKind::kMemory, SourceKind::kGenerated};
  info.caps.sends_responses = true;
  info.options = {{"header_size", OptionType::kSize, "256",
                   "bytes at the start of each message written into a separate header buffer per message"}};
  info.probe = [] { return Availability{}; };
  info.create = [](const SendContext& ctx) -> Result<std::unique_ptr<SendStrategy>> {
    const size_t header_size = ctx.options.GetSize("header_size");
    ZCB_ASSIGN_OR_RETURN(UserBuffers buffers, UserBuffers::Create(*ctx.payload, ctx.message_size, false));
    ZCB_ASSIGN_OR_RETURN(MappedRegion header,
                         MappedRegion::Anonymous(RoundUp(std::max<size_t>(header_size, 1), PageSize())));
    ZCB_ASSIGN_OR_RETURN(MappedRegion response_buffer, ResponseBuffer(ctx.message_size));
    return std::unique_ptr<SendStrategy>(new WritevStrategy(ctx.socket_fd, ctx.payload->pattern(), std::move(buffers),
                                                            std::move(header), header_size,
                                                            std::move(response_buffer)));
  };
  return info;
}

}  // namespace zcb
