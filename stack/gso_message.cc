#include "stack/gso_message.h"

#include <cstring>

namespace zcb {

GsoMessage::GsoMessage(size_t segment) {
  msg_.msg_iov = &iov_;
  msg_.msg_iovlen = 1;
  if (segment == 0) return;
  msg_.msg_control = control_;
  msg_.msg_controllen = sizeof control_;
  cmsghdr* cm = CMSG_FIRSTHDR(&msg_);
  cm->cmsg_level = SOL_UDP;
  cm->cmsg_type = UDP_SEGMENT;
  cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  const auto gso_size = static_cast<uint16_t>(segment);
  std::memcpy(CMSG_DATA(cm), &gso_size, sizeof gso_size);
}

}  // namespace zcb
