// writev: a per-message header (generated, as a server writes a response header) and
// the body from the payload, gathered into one writev() call.

#include <sys/uio.h>

#include <algorithm>

#include "stack/socket_io.h"
#include "stack/strategies.h"
#include "stack/user_buffers.h"

namespace zcb {
namespace {

class WritevStrategy final : public SendStrategy {
 public:
  WritevStrategy(int fd, const Pattern& pattern, UserBuffers buffers, MappedRegion header, size_t header_size)
      : fd_(fd),
        pattern_(pattern),
        buffers_(std::move(buffers)),
        header_(std::move(header)),
        header_size_(header_size) {}

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

 private:
  int fd_;
  const Pattern& pattern_;
  UserBuffers buffers_;
  MappedRegion header_;
  size_t header_size_;
};

}  // namespace

StrategyInfo WritevStrategyInfo() {
  StrategyInfo info;
  info.name = "writev";
  info.summary = "a generated header and the body gathered with writev()";
  info.caps.protocols = {Protocol::kTcp};
  info.caps.sources = {SourceKind::kMemory, SourceKind::kGenerated};
  info.options = {{"header_size", OptionType::kSize, "256",
                   "bytes at the start of each message written into a separate header buffer per message"}};
  info.probe = [] { return Availability{}; };
  info.create = [](const SendContext& ctx) -> Result<std::unique_ptr<SendStrategy>> {
    const size_t header_size = ctx.options.GetSize("header_size");
    ZCB_ASSIGN_OR_RETURN(UserBuffers buffers, UserBuffers::Create(*ctx.payload, ctx.message_size, false));
    ZCB_ASSIGN_OR_RETURN(MappedRegion header,
                         MappedRegion::Anonymous(RoundUp(std::max<size_t>(header_size, 1), PageSize())));
    return std::unique_ptr<SendStrategy>(
        new WritevStrategy(ctx.socket_fd, ctx.payload->pattern(), std::move(buffers), std::move(header), header_size));
  };
  return info;
}

}  // namespace zcb
