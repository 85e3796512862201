// write: send() from a user buffer. The copying baseline every other strategy is
// measured against.

#include "stack/socket_io.h"
#include "stack/strategies.h"
#include "stack/user_buffers.h"

namespace zcb {
namespace {

class WriteStrategy final : public SendStrategy {
 public:
  explicit WriteStrategy(int fd, UserBuffers buffers) : fd_(fd), buffers_(std::move(buffers)) {}

  Status Send(uint64_t offset, size_t len) override {
    // A copying send: once send() returns, the kernel has its own copy, so the gate is
    // already passed (0) and the generated ring never waits.
    UserBuffers::Message m = buffers_.Prepare(offset, len);
    ZCB_RETURN_IF_ERROR(SendAll(fd_, m.data, m.len, 0, &stats_.send_calls));
    buffers_.Sent(m, 0);
    stats_.bytes_sent += len;
    return OkStatus();
  }

 private:
  int fd_;
  UserBuffers buffers_;
};

}  // namespace

StrategyInfo WriteStrategyInfo() {
  StrategyInfo info;
  info.name = "write";
  info.summary = "send() from a user buffer (the copying baseline)";
  info.caps.protocols = {Protocol::kTcp};
  info.caps.sources = {SourceKind::kMemory, SourceKind::kGenerated};
  info.probe = [] { return Availability{}; };
  info.create = [](const SendContext& ctx) -> Result<std::unique_ptr<SendStrategy>> {
    ZCB_ASSIGN_OR_RETURN(UserBuffers buffers, UserBuffers::Create(*ctx.payload, ctx.message_size, false));
    return std::unique_ptr<SendStrategy>(new WriteStrategy(ctx.socket_fd, std::move(buffers)));
  };
  return info;
}

}  // namespace zcb
