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

Result<MappedRegion> ResponseBuffer(size_t message_size) {
  return MappedRegion::Anonymous(RoundUp(std::max<size_t>(message_size, 1), PageSize()));
}

Status SendStrategy::SendResponse(const Response& /*response*/) {
  return Unsupportedf(
      "this strategy does not send server responses (its capability sends_responses is not set); a workload that "
      "serves responses leaves it out");
}

}  // namespace zcb
