#include "harness/trial/trial_sockets.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "drivers/network_path.h"

namespace zcb {
namespace {

Protocol ProtocolOf(int type) { return type == SOCK_DGRAM ? Protocol::kUdp : Protocol::kTcp; }

// A socket option's canonical text as the record's JSON type: sizes and integers as
// numbers, booleans as booleans, names as strings.
nlohmann::json ValueJson(const SocketOptionInfo& info, const std::string& canonical) {
  switch (info.value) {
    case SocketValueKind::kSize:
    case SocketValueKind::kInteger:
      return std::stoll(canonical);
    case SocketValueKind::kBool:
      return canonical == "true";
    case SocketValueKind::kCongestion:
      return canonical;
  }
  return canonical;
}

}  // namespace

void Abort(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::shutdown(fd, SHUT_RDWR);
  // The reset itself, now: a shutdown only queues a FIN behind unsent data, and the RST of
  // SO_LINGER 0 waits for the last close, which a request still in flight on the socket
  // (an io_uring SEND_ZC waiting for a peer that stopped reading) holds off. Disconnecting
  // (connect to AF_UNSPEC) resets a TCP connection at once and frees its queued buffers;
  // on a UDP socket it only dissolves the association.
  sockaddr unspecified{};
  unspecified.sa_family = AF_UNSPEC;
  ::connect(fd, &unspecified, sizeof unspecified);
}

Result<UniqueFd> ConnectToReceiver(const sockaddr_storage& peer, int type, double timeout_s, const char* peer_name,
                                   const std::map<std::string, std::string>& socket_options) {
  UniqueFd sock(::socket(peer.ss_family, type | SOCK_CLOEXEC, 0));
  if (!sock) return SysError(type == SOCK_DGRAM ? "sender: socket(SOCK_DGRAM)" : "sender: socket(SOCK_STREAM)");
  ZCB_RETURN_IF_ERROR(SetTimeout(sock.get(), SO_SNDTIMEO, timeout_s));
  ZCB_RETURN_IF_ERROR(SetSocketOptions(sock.get(), SocketSide::kSender, ProtocolOf(type), socket_options));
  if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&peer), SockaddrLength(peer)) != 0) {
    return SysError(fmt::format("sender: connect to {} at {}", peer_name, FormatSockaddr(peer)));
  }
  return sock;
}

nlohmann::json OptmemMaxJson(const SysctlOverride* set, std::string_view where) {
  const std::string name(kOptmemMax);
  auto value = ReadSysctl(name);
  if (!value.ok()) return {{"bytes", nullptr}, {"bytes_reason", value.error().ToString()}};
  nlohmann::json out = {{"bytes", std::stoll(*value)}, {"source", fmt::format("{} {}", SysctlProcPath(name), where)}};
  if (set != nullptr && set->original() != *value) out["original"] = std::stoll(set->original());
  return out;
}

nlohmann::json TcpCongestionJson(int fd) {
  char name[16] = {};  // TCP_CA_NAME_MAX
  socklen_t len = sizeof name;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len) != 0) {
    return {{"name", nullptr},
            {"name_reason", SysError("getsockopt(TCP_CONGESTION) on the sending socket").ToString()}};
  }
  return {{"name", std::string(name, strnlen(name, len))},
          {"source", "getsockopt(TCP_CONGESTION) on the sending socket"}};
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

Result<std::vector<AppliedSocketOption>> ReadBackSocketOptions(int fd, int type, SocketSide side,
                                                               const std::map<std::string, std::string>& socket_options,
                                                               std::string_view socket_name) {
  return ReadSocketOptions(fd, side, ProtocolOf(type), socket_options, socket_name);
}

nlohmann::json SocketOptionsJson(const std::map<std::string, std::string>& socket_options,
                                 const std::vector<AppliedSocketOption>& applied, std::string_view not_read_reason) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : socket_options) {
    const SocketOptionInfo* info = FindSocketOption(key);
    if (info == nullptr) continue;  // ResolveTrial refused it
    out[key] = {{"asked", ValueJson(*info, value)},
                {"applied", nullptr},
                {"applied_reason", std::string(not_read_reason)},
                {"socket", std::string(ToString(info->side))},
                {"option", std::string(info->name)}};
  }
  for (const AppliedSocketOption& a : applied) {
    nlohmann::json& entry = out[std::string(a.info->key)];
    entry["applied"] = ValueJson(*a.info, a.applied);
    entry["socket"] = a.socket;
    entry.erase("applied_reason");
    entry["source"] = a.source;
  }
  return out;
}

nlohmann::json AppliedSocketOptionsToJson(const std::vector<AppliedSocketOption>& applied) {
  nlohmann::json out = nlohmann::json::array();
  for (const AppliedSocketOption& a : applied) {
    out.push_back(
        {{"key", std::string(a.info->key)}, {"asked", a.asked}, {"applied", a.applied}, {"source", a.source}});
  }
  return out;
}

Result<std::vector<AppliedSocketOption>> AppliedSocketOptionsFromJson(const nlohmann::json& json,
                                                                      std::string_view socket) {
  if (!json.is_array()) return Errorf("'socket_options' is not an array");
  std::vector<AppliedSocketOption> out;
  for (const nlohmann::json& entry : json) {
    const bool strings = entry.is_object() && entry.value("key", nlohmann::json()).is_string() &&
                         entry.value("asked", nlohmann::json()).is_string() &&
                         entry.value("applied", nlohmann::json()).is_string() &&
                         entry.value("source", nlohmann::json()).is_string();
    if (!strings) return Errorf("'socket_options': each entry has the strings key, asked, applied and source");
    const SocketOptionInfo* info = FindSocketOption(entry["key"].get<std::string>());
    if (info == nullptr) return Errorf("'socket_options': unknown option '{}'", entry["key"].get<std::string>());
    // The applied value is the kernel's; it must have the option's shape to be recorded.
    const std::string applied = entry["applied"].get<std::string>();
    const bool number =
        !applied.empty() && applied.size() <= 10 && applied.find_first_not_of("0123456789") == std::string::npos;
    const bool shaped = info->value == SocketValueKind::kBool         ? (applied == "true" || applied == "false")
                        : info->value == SocketValueKind::kCongestion ? !applied.empty()
                                                                      : number;
    if (!shaped) return Errorf("'socket_options': {} applied '{}' is not a value of its kind", info->key, applied);
    out.push_back(
        {info, entry["asked"].get<std::string>(), applied, std::string(socket), entry["source"].get<std::string>()});
  }
  return out;
}

}  // namespace zcb
