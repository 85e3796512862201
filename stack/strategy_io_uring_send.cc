// io_uring_send: IORING_OP_SEND from a user buffer, the copying io_uring baseline. The
// kernel copies the data into the socket as the request runs, but a request that finds
// the socket full runs again later, after the submitting call returned: the buffer is
// the kernel's until the result CQE. With batch > 1 several messages go in one
// io_uring_enter, which is what io_uring saves over send(). UDP: one SQE per datagram,
// `batch` datagrams per io_uring_enter (what io_uring saves over sendto()).

#include "stack/io_uring_ring.h"
#include "stack/io_uring_sender.h"
#include "stack/strategies.h"

namespace zcb {

StrategyInfo IoUringSendStrategyInfo() {
  StrategyInfo info;
  info.name = "io_uring_send";
  info.summary = "IORING_OP_SEND from a user buffer (the copying io_uring baseline)";
  info.caps.protocols = {Protocol::kTcp, Protocol::kUdp};
  info.caps.sources = {SourceKind::kMemory, SourceKind::kGenerated};
  info.caps.sends_responses = true;
  info.options = IoUringSenderOptions();
  info.probe = [] { return ProbeIoUring(IORING_OP_SEND, "IORING_OP_SEND (Linux 5.6)"); };
  info.validate = [](const Options& options, Protocol /*protocol*/, uint64_t /*message_size*/) -> Status {
    ZCB_RETURN_IF_ERROR(IoUringSendConfigFrom(options, "io_uring_send"));
    return OkStatus();
  };
  info.create = [](const SendContext& ctx) -> Result<std::unique_ptr<SendStrategy>> {
    ZCB_ASSIGN_OR_RETURN(IoUringSendConfig config, IoUringSendConfigFrom(ctx.options, "io_uring_send"));
    return CreateIoUringSender(ctx, config);
  };
  return info;
}

}  // namespace zcb
