#include "harness/sender_side.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cstring>

#include <fmt/format.h>

#include "harness/trial_common.h"

namespace zcb {

Status EnterSenderSide(const TrialSpec& spec, NetworkPath& path, HostConstraints* constraints) {
  ZCB_RETURN_IF_ERROR(path.EnterSenderSide());
  if (constraints != nullptr) ZCB_RETURN_IF_ERROR(constraints->EnterSender());
  return PinThread(spec.sender_cpu, "sender");
}

Result<sockaddr_storage> AwaitReceiver(std::promise<sockaddr_storage>& listening) {
  try {
    return listening.get_future().get();
  } catch (...) {
    return Errorf("sender: the receiver could not be set up");
  }
}

Result<UniqueFd> ConnectToReceiver(const TrialSpec& spec, const sockaddr_storage& peer, int type, const char* peer_name) {
  UniqueFd sock(::socket(peer.ss_family, type | SOCK_CLOEXEC, 0));
  if (!sock) return SysError(type == SOCK_DGRAM ? "sender: socket(SOCK_DGRAM)" : "sender: socket(SOCK_STREAM)");
  ZCB_RETURN_IF_ERROR(SetTimeout(sock.get(), SO_SNDTIMEO, spec.receive_timeout_s));
  if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&peer), SockaddrLength(peer)) != 0) {
    return SysError(fmt::format("sender: connect to {} at {}", peer_name, FormatSockaddr(peer)));
  }
  return sock;
}

nlohmann::json TcpCongestionJson(int fd) {
  char name[16] = {};  // TCP_CA_NAME_MAX
  socklen_t len = sizeof name;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len) != 0) {
    return {{"name", nullptr}, {"name_reason", SysError("getsockopt(TCP_CONGESTION) on the sending socket").ToString()}};
  }
  return {{"name", std::string(name, strnlen(name, len))}, {"source", "getsockopt(TCP_CONGESTION) on the sending socket"}};
}

SendContext NewSendContext(const ResolvedTrial& trial, int socket_fd, Payload& payload) {
  SendContext ctx;
  ctx.socket_fd = socket_fd;
  ctx.protocol = trial.spec.protocol;
  ctx.payload = &payload;
  ctx.message_size = trial.spec.message_size;
  ctx.options = trial.options;
  return ctx;
}

}  // namespace zcb
