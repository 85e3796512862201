#include "stack/response.h"

#include <sys/socket.h>

#include <algorithm>

#include "stack/send_strategy.h"
#include "stack/socket_io.h"

namespace zcb {

Status SendResponseHeader(const Response& response, uint64_t* calls) {
  if (response.header.empty()) return OkStatus();
  return SendAll(response.socket_fd, response.header.data(), response.header.size(),
                 response.file_length > 0 ? MSG_MORE : 0, calls);
}

Status CopyResponseBytes(const Response& response, uint64_t at, std::span<uint8_t> out, uint64_t* reads) {
  if (at + out.size() > response.size())
    return Errorf("bytes [{}, {}) of a response of {} bytes", at, at + out.size(), response.size());
  size_t filled = 0;
  if (at < response.header.size()) {
    filled = std::min(out.size(), static_cast<size_t>(response.header.size() - at));
    std::copy_n(response.header.begin() + static_cast<ptrdiff_t>(at), filled, out.begin());
  }
  while (filled < out.size()) {
    const uint64_t body_at = at + filled - response.header.size();
    const ssize_t n = ::pread(response.file_fd, out.data() + filled, out.size() - filled,
                              static_cast<off_t>(response.file_offset + body_at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysError("pread of the response's file");
    if (reads != nullptr) ++*reads;
    if (n == 0) {
      return Errorf("the response's file ended at offset {}, inside its {} bytes from offset {}",
                    response.file_offset + body_at, response.file_length, response.file_offset);
    }
    filled += static_cast<size_t>(n);
  }
  return OkStatus();
}

Result<MappedRegion> ResponseBuffer(size_t message_size) {
  return MappedRegion::Anonymous(RoundUp(std::max<size_t>(message_size, 1), PageSize()));
}

Status SendStrategy::SendResponse(const Response& /*response*/) {
  return Unsupportedf(
      "this strategy does not send server responses (its capability sends_responses is not set); a workload that "
      "serves responses leaves it out");
}

}  // namespace zcb
