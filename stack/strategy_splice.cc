// splice: the payload file goes to the socket through a pipe with splice(): file ->
// pipe (the pipe takes references to the page-cache pages), pipe -> socket (the skbs
// take them over). What sendfile() does inside the kernel, spelled out in user space,
// one pipe-full per pair of calls: the pipe size sets how many calls a message costs.
// send_calls counts both splices of each pair.
//
// A server's response (SendResponse): the header from user memory with MSG_MORE, then
// the file range through the pipe the same way, on the response's connection.

#include <fcntl.h>

#include <algorithm>

#include "stack/pipe_io.h"
#include "stack/strategies.h"

namespace zcb {
namespace {

class SpliceStrategy final : public SendStrategy {
 public:
  SpliceStrategy(int socket_fd, Payload& payload, Pipe pipe)
      : socket_fd_(socket_fd), payload_(payload), pipe_(std::move(pipe)), capacity_(pipe_.Capacity()) {}

  Status Send(uint64_t offset, size_t len) override {
    ZCB_RETURN_IF_ERROR(SpliceFile(payload_.fd(), payload_.FileOffset(offset), len, socket_fd_));
    stats_.bytes_sent += len;
    return OkStatus();
  }

  Status SendResponse(const Response& response) override {
    ZCB_RETURN_IF_ERROR(SendResponseHeader(response, &stats_.send_calls));
    ZCB_RETURN_IF_ERROR(SpliceFile(response.file_fd, static_cast<loff_t>(response.file_offset),
                                   static_cast<size_t>(response.file_length), response.socket_fd));
    stats_.bytes_sent += response.size();
    return OkStatus();
  }

 private:
  // Bytes [file_offset, file_offset + len) of `file_fd` into `socket_fd`, a pipe-full at a time.
  Status SpliceFile(int file_fd, loff_t file_offset, size_t len, int socket_fd) {
    size_t left = len;
    while (left > 0) {
      // Into the empty pipe: at most one pipe-full. It may come back short (an unaligned
      // range needs one page slot more than its length suggests); whatever came is sent.
      ssize_t in =
          ::splice(file_fd, &file_offset, pipe_.write_end.get(), nullptr, std::min(left, capacity_), SPLICE_F_MOVE);
      ++stats_.send_calls;
      if (in < 0) {
        if (errno == EINTR) continue;
        return SysError("splice from the file into the pipe");
      }
      if (in == 0) return Errorf("splice: unexpected end of the file at offset {}", file_offset);
      left -= static_cast<size_t>(in);
      ZCB_RETURN_IF_ERROR(
          SpliceToSocket(pipe_.read_end.get(), socket_fd, static_cast<size_t>(in), left > 0, &stats_.send_calls));
    }
    return OkStatus();
  }

  int socket_fd_;
  Payload& payload_;
  Pipe pipe_;
  size_t capacity_;
};

}  // namespace

StrategyInfo SpliceStrategyInfo() {
  StrategyInfo info;
  info.name = "splice";
  info.summary = "splice() from a page-cache file into a pipe, then from the pipe into the socket";
  info.caps.protocols = {Protocol::kTcp};
  info.caps.sources = {SourceKind::kFile};
  info.caps.sends_responses = true;
  info.options = {
      OptionSpec{"pipe_size", OptionType::kSize, "64K",
                 "pipe capacity set with F_SETPIPE_SZ (rounded up to a power of two pages; 64K is what pipe() gives): "
                 "the most one pair of splices moves"}
          .InRange(static_cast<int64_t>(PageSize()), kMaxPipeSize),
  };
  info.probe = [] { return Availability{}; };
  info.create = [](const SendContext& ctx) -> Result<std::unique_ptr<SendStrategy>> {
    if (ctx.payload->kind() != SourceKind::kFile) {
      return Errorf("splice sends from a file payload source, not {}", ToString(ctx.payload->kind()));
    }
    ZCB_ASSIGN_OR_RETURN(Pipe pipe, CreateSizedPipe(ctx.options.GetSize("pipe_size"), "strategy splice"));
    return std::unique_ptr<SendStrategy>(new SpliceStrategy(ctx.socket_fd, *ctx.payload, std::move(pipe)));
  };
  return info;
}

}  // namespace zcb
