// sendfile: the page-cache file goes to the socket without passing through user
// space. Option `header`: a per-message header sent from user memory first, held back
// with TCP_CORK or MSG_MORE so that it shares segments with the body (what FreeBSD's
// sf_hdtr does in one call).
//
// A server's response (SendResponse): its header from user memory (under TCP_CORK with
// header=cork, else with MSG_MORE), then sendfile() of the file range, on the response's
// connection.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>

#include "stack/socket_io.h"
#include "stack/strategies.h"

namespace zcb {
namespace {

enum class HeaderMode { kNone, kCork, kMore };

class SendfileStrategy final : public SendStrategy {
 public:
  SendfileStrategy(int fd, Payload& payload, HeaderMode mode, size_t header_size, MappedRegion header)
      : fd_(fd), payload_(payload), mode_(mode), header_size_(header_size), header_(std::move(header)) {}

  Status Send(uint64_t offset, size_t len) override {
    size_t head = 0;
    if (mode_ != HeaderMode::kNone) {
      head = std::min(header_size_, len);
      payload_.pattern().Fill(offset, {header_.data(), head});
      if (mode_ == HeaderMode::kCork) ZCB_RETURN_IF_ERROR(SetCork(fd_, 1));
      const int flags = mode_ == HeaderMode::kMore && head < len ? MSG_MORE : 0;
      ZCB_RETURN_IF_ERROR(SendAll(fd_, header_.data(), head, flags, &stats_.send_calls));
    }
    if (head < len) {
      ZCB_RETURN_IF_ERROR(
          SendfileAll(fd_, payload_.fd(), payload_.FileOffset(offset + head), len - head, &stats_.send_calls));
    }
    if (mode_ == HeaderMode::kCork) ZCB_RETURN_IF_ERROR(SetCork(fd_, 0));
    stats_.bytes_sent += len;
    return OkStatus();
  }

  Status SendResponse(const Response& response) override {
    const bool cork = mode_ == HeaderMode::kCork && !response.header.empty();
    if (cork) ZCB_RETURN_IF_ERROR(SetCork(response.socket_fd, 1));
    ZCB_RETURN_IF_ERROR(SendResponseHeader(response, &stats_.send_calls));
    if (response.file_length > 0) {
      ZCB_RETURN_IF_ERROR(SendfileAll(response.socket_fd, response.file_fd, static_cast<off_t>(response.file_offset),
                                      response.file_length, &stats_.send_calls));
    }
    if (cork) ZCB_RETURN_IF_ERROR(SetCork(response.socket_fd, 0));
    stats_.bytes_sent += response.size();
    return OkStatus();
  }

 private:
  static Status SetCork(int fd, int on) {
    if (::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on) != 0) return SysError("setsockopt(TCP_CORK)");
    return OkStatus();
  }

  int fd_;
  Payload& payload_;
  HeaderMode mode_;
  size_t header_size_;
  MappedRegion header_;
};

}  // namespace

StrategyInfo SendfileStrategyInfo() {
  StrategyInfo info;
  info.name = "sendfile";
  info.summary = "sendfile() from a page-cache file";
  info.caps.protocols = {Protocol::kTcp};
  info.caps.sources = {SourceKind::kFile};
  info.caps.sends_responses = true;
  info.options = {
      {"header",
       OptionType::kChoice,
       "none",
       "send a per-message header from user memory before the file data: none, cork (TCP_CORK around "
       "header and body) or more (header with MSG_MORE)",
       {"none", "cork", "more"}},
      {"header_size", OptionType::kSize, "256", "header bytes at the start of each message (with header=cork|more)"},
  };
  info.probe = [] { return Availability{}; };
  info.create = [](const SendContext& ctx) -> Result<std::unique_ptr<SendStrategy>> {
    const std::string& header = ctx.options.GetString("header");
    const HeaderMode mode = header == "cork"   ? HeaderMode::kCork
                            : header == "more" ? HeaderMode::kMore
                                               : HeaderMode::kNone;
    const size_t header_size = ctx.options.GetSize("header_size");
    ZCB_ASSIGN_OR_RETURN(MappedRegion buffer,
                         MappedRegion::Anonymous(RoundUp(std::max<size_t>(header_size, 1), PageSize())));
    return std::unique_ptr<SendStrategy>(
        new SendfileStrategy(ctx.socket_fd, *ctx.payload, mode, header_size, std::move(buffer)));
  };
  return info;
}

}  // namespace zcb
