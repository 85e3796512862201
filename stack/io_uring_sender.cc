// The io_uring senders' options and configuration, and the choice between the stream and
// the datagram sender.
#include "stack/io_uring_sender.h"

#include "stack/io_uring_sender_internal.h"

namespace zcb {
namespace {

constexpr int64_t kMaxDepth = 32768;  // IORING_MAX_ENTRIES

}  // namespace

std::vector<OptionSpec> IoUringSenderOptions() {
  return {
      OptionSpec{"depth", OptionType::kInt, "256",
                 "ring entries (1 to 32768); also the most sends whose buffers the kernel may hold at once (SEND_ZC "
                 "notifications outstanding)"}
          .InRange(1, kMaxDepth),
      OptionSpec{"batch", OptionType::kInt, "1",
                 "messages per submission, sent as one linked chain (1 = one io_uring_enter per message, like send()); "
                 "at most the depth"}
          .InRange(1, kMaxDepth),
      // The defaults are what liburing's own send benchmark (examples/send-zerocopy.c) and
      // a careful application use: they are cheaper and change nothing the receiver sees.
      OptionSpec{"coop_taskrun", OptionType::kBool, "true",
                 "IORING_SETUP_COOP_TASKRUN: completion work waits until the sender next enters the kernel instead of "
                 "interrupting it (Linux 5.19)"},
      OptionSpec{"single_issuer", OptionType::kBool, "true",
                 "IORING_SETUP_SINGLE_ISSUER: only the sending thread submits, so the kernel skips the ring lock "
                 "(Linux 6.0)"},
      OptionSpec{"defer_taskrun", OptionType::kBool, "false",
                 "IORING_SETUP_DEFER_TASKRUN: completion work runs only when the sender waits for completions "
                 "(Linux 6.1; needs single_issuer); off by default, as in liburing's send benchmark"},
      OptionSpec{"registered_files", OptionType::kBool, "true",
                 "register the socket (requests name it as fixed file 0, IOSQE_FIXED_FILE) and the ring fd "
                 "(io_uring_register_ring_fd), so that no request or io_uring_enter looks up and references a file"},
  };
}

Result<IoUringSendConfig> IoUringSendConfigFrom(const Options& options, const char* strategy) {
  IoUringSendConfig config;
  const int64_t depth = options.GetInt("depth");
  const int64_t batch = options.GetInt("batch");
  if (depth < 1 || depth > kMaxDepth)
    return Usagef("strategy {} option depth={}: expected 1 to {}", strategy, depth, kMaxDepth);
  if (batch < 1 || batch > depth) {
    return Usagef("strategy {} option batch={}: expected 1 to the depth ({})", strategy, batch, depth);
  }
  config.depth = static_cast<unsigned>(depth);
  config.batch = static_cast<unsigned>(batch);
  config.setup.coop_taskrun = options.GetBool("coop_taskrun");
  config.setup.single_issuer = options.GetBool("single_issuer");
  config.setup.defer_taskrun = options.GetBool("defer_taskrun");
  config.registered_files = options.GetBool("registered_files");
  if (config.setup.defer_taskrun && !config.setup.single_issuer) {
    return Usagef(
        "strategy {} option defer_taskrun=true needs single_issuer=true (the kernel refuses DEFER_TASKRUN alone)",
        strategy);
  }
  return config;
}

Result<std::unique_ptr<SendStrategy>> CreateIoUringSender(const SendContext& ctx, const IoUringSendConfig& config) {
  const char* name = config.zero_copy ? "io_uring_send_zc" : "io_uring_send";
  if (ctx.protocol == Protocol::kUdp) return CreateIoUringDatagramSender(ctx, config, name);
  return CreateIoUringStreamSender(ctx, config, name);
}

}  // namespace zcb
