#include "harness/trial/trial_sockets.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "drivers/network_path.h"

namespace zcb {

void Abort(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::shutdown(fd, SHUT_RDWR);
}

Result<UniqueFd> ConnectToReceiver(const sockaddr_storage& peer, int type, double timeout_s, const char* peer_name) {
  UniqueFd sock(::socket(peer.ss_family, type | SOCK_CLOEXEC, 0));
  if (!sock) return SysError(type == SOCK_DGRAM ? "sender: socket(SOCK_DGRAM)" : "sender: socket(SOCK_STREAM)");
  ZCB_RETURN_IF_ERROR(SetTimeout(sock.get(), SO_SNDTIMEO, timeout_s));
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

Status AwaitReceiverClose(int fd) {
  char byte;
  for (;;) {
    ssize_t n = ::recv(fd, &byte, 1, 0);
    if (n == 0) return OkStatus();
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysError("waiting for the remote receiver to finish reading");
    // The receiver never sends on the data connection: ignore and keep waiting.
  }
}

}  // namespace zcb
