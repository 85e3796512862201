#include "stack/socket_options.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace zcb {
namespace {

constexpr EnumSet<Protocol> kBoth{Protocol::kTcp, Protocol::kUdp};
constexpr EnumSet<Protocol> kTcp{Protocol::kTcp};

std::vector<std::string> Words(const char* file) {
  std::ifstream in(file);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

std::string KnownKeys() {
  std::vector<std::string_view> keys;
  for (const SocketOptionInfo& o : SocketOptions()) keys.push_back(o.key);
  return fmt::format("{}", fmt::join(keys, ", "));
}

// The value part of KEY=VALUE, as the option's kind wants it.
Result<std::string> CanonicalValue(const SocketOptionInfo& info, std::string_view text) {
  switch (info.value) {
    case SocketValueKind::kSize: {
      const auto size = ParseSize(text);
      if (!size || *size == 0 || *size > INT_MAX) {
        return Usagef("socket option {}: '{}' is not a size (expected bytes from 1 to {}, such as 256K or 4M)",
                      info.key, text, INT_MAX);
      }
      return std::to_string(*size);
    }
    case SocketValueKind::kBool:
      if (text == "true" || text == "1" || text == "on") return std::string("true");
      if (text == "false" || text == "0" || text == "off") return std::string("false");
      return Usagef("socket option {}: '{}' is not true or false", info.key, text);
    case SocketValueKind::kInteger: {
      int value = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
        return Usagef("socket option {}: '{}' is not an integer from 0 to {}", info.key, text, INT_MAX);
      }
      return std::to_string(value);
    }
    case SocketValueKind::kCongestion: {
      const std::vector<std::string> allowed = AllowedCongestionControls();
      if (std::find(allowed.begin(), allowed.end(), text) == allowed.end()) {
        return Usagef(
            "socket option {}: '{}' is not a congestion control this kernel allows; allowed: {} "
            "(net.ipv4.tcp_allowed_congestion_control; add a name there to allow it)",
            info.key, text, allowed.empty() ? "none readable" : fmt::format("{}", fmt::join(allowed, ", ")));
      }
      return std::string(text);
    }
  }
  return Usagef("socket option {}: unknown value kind", info.key);
}

Status SetOne(int fd, const SocketOptionInfo& info, const std::string& canonical, std::string_view socket_name) {
  int rc = 0;
  if (info.value == SocketValueKind::kCongestion) {
    rc = ::setsockopt(fd, info.level, info.optname, canonical.data(), static_cast<socklen_t>(canonical.size()));
  } else {
    const int value = info.value == SocketValueKind::kBool ? (canonical == "true" ? 1 : 0) : std::stoi(canonical);
    rc = ::setsockopt(fd, info.level, info.optname, &value, sizeof value);
  }
  if (rc != 0)
    return SysError(
        fmt::format("socket option {}: setsockopt({}, {}) on {}", info.key, info.name, canonical, socket_name));
  return OkStatus();
}

Result<std::string> ReadOne(int fd, const SocketOptionInfo& info, std::string_view socket_name) {
  if (info.value == SocketValueKind::kCongestion) {
    char name[16] = {};  // TCP_CA_NAME_MAX
    socklen_t len = sizeof name;
    if (::getsockopt(fd, info.level, info.optname, name, &len) != 0) {
      return SysError(fmt::format("socket option {}: getsockopt({}) on {}", info.key, info.name, socket_name));
    }
    return std::string(name, strnlen(name, len));
  }
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(fd, info.level, info.optname, &value, &len) != 0) {
    return SysError(fmt::format("socket option {}: getsockopt({}) on {}", info.key, info.name, socket_name));
  }
  if (info.value == SocketValueKind::kBool) return std::string(value != 0 ? "true" : "false");
  return std::to_string(value);
}

bool Applies(const SocketOptionInfo& info, SocketSide side, Protocol protocol) {
  return info.side == side && info.protocols.Has(protocol);
}

}  // namespace

std::string_view ToString(SocketSide side) { return side == SocketSide::kSender ? "sender" : "receiver"; }

const std::vector<SocketOptionInfo>& SocketOptions() {
  static const std::vector<SocketOptionInfo> table = {
      {"sndbuf", "SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, SocketSide::kSender, kBoth, SocketValueKind::kSize,
       "the sender's send buffer (the kernel doubles it, capped by net.core.wmem_max)"},
      {kReceiveBufferOption, "SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, SocketSide::kReceiver, kBoth, SocketValueKind::kSize,
       "the receiver's receive buffer, set before listen (the kernel doubles it, capped by net.core.rmem_max)"},
      {"nodelay", "TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, SocketSide::kSender, kTcp, SocketValueKind::kBool,
       "the sender sends segments at once instead of coalescing small ones (Nagle off)"},
      {"congestion", "TCP_CONGESTION", IPPROTO_TCP, TCP_CONGESTION, SocketSide::kSender, kTcp,
       SocketValueKind::kCongestion, "the sender's congestion control (net.ipv4.tcp_allowed_congestion_control)"},
      {"busy_poll", "SO_BUSY_POLL", SOL_SOCKET, SO_BUSY_POLL, SocketSide::kReceiver, kBoth, SocketValueKind::kInteger,
       "microseconds the receiver busy-polls the device before sleeping (above net.core.busy_read: root only)"},
  };
  return table;
}

const SocketOptionInfo* FindSocketOption(std::string_view key) {
  for (const SocketOptionInfo& o : SocketOptions()) {
    if (o.key == key) return &o;
  }
  return nullptr;
}

Result<std::string> ParseSocketOption(std::string_view text) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return Usagef("'{}': expected key=value (socket options: {})", text, KnownKeys());
  const std::string_view key = text.substr(0, eq);
  const SocketOptionInfo* info = FindSocketOption(key);
  if (info == nullptr) {
    return Usagef("unknown socket option '{}'; known: {} (zcbench help socket_options)", key, KnownKeys());
  }
  ZCB_ASSIGN_OR_RETURN(const std::string value, CanonicalValue(*info, text.substr(eq + 1)));
  return fmt::format("{}={}", key, value);
}

std::string SocketOptionHelp() {
  std::string out =
      "Socket options: --socket-option KEY=VALUE (repeatable) and [matrix.socket_options] in a "
      "spec (one axis per option).\nEach is set before connect (the sender's) or listen (the receiver's), read back "
      "with "
      "getsockopt once connected, and recorded in params.socket_options as asked and as applied.\n\n";
  for (const SocketOptionInfo& o : SocketOptions()) {
    const char* value = o.value == SocketValueKind::kSize      ? "a size"
                        : o.value == SocketValueKind::kBool    ? "true or false"
                        : o.value == SocketValueKind::kInteger ? "an integer"
                                                               : "a name";
    out += fmt::format("  {:<11} {:<15} {:<9} {:<10} {:<14} {}\n", o.key, o.name, ToString(o.side),
                       o.protocols.Has(Protocol::kUdp) ? "tcp, udp" : "tcp", value, o.help);
  }
  const std::vector<std::string> allowed = AllowedCongestionControls();
  out += fmt::format("\ncongestion controls allowed here: {}\n",
                     allowed.empty() ? "none readable" : fmt::format("{}", fmt::join(allowed, ", ")));
  return out;
}

std::vector<std::string> AllowedCongestionControls() {
  return Words("/proc/sys/net/ipv4/tcp_allowed_congestion_control");
}

size_t ReceiveBufferFor(const std::map<std::string, std::string>& options, size_t otherwise) {
  const auto it = options.find(std::string(kReceiveBufferOption));
  return it == options.end() ? otherwise : std::stoull(it->second);
}

std::map<std::string, std::string> WithoutReceiveBuffer(std::map<std::string, std::string> options) {
  options.erase(std::string(kReceiveBufferOption));
  return options;
}

std::map<std::string, std::string> SocketOptionsFor(SocketSide side, Protocol protocol,
                                                    const std::map<std::string, std::string>& options) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : options) {
    const SocketOptionInfo* info = FindSocketOption(key);
    if (info != nullptr && Applies(*info, side, protocol)) out[key] = value;
  }
  return out;
}

Status SetSocketOptions(int fd, SocketSide side, Protocol protocol, const std::map<std::string, std::string>& options) {
  for (const auto& [key, value] : SocketOptionsFor(side, protocol, options)) {
    ZCB_RETURN_IF_ERROR(SetOne(fd, *FindSocketOption(key), value,
                               side == SocketSide::kSender ? "the sending socket" : "the receiving socket"));
  }
  return OkStatus();
}

Result<std::vector<AppliedSocketOption>> ReadSocketOptions(int fd, SocketSide side, Protocol protocol,
                                                           const std::map<std::string, std::string>& options,
                                                           std::string_view socket_name) {
  std::vector<AppliedSocketOption> out;
  for (const auto& [key, value] : SocketOptionsFor(side, protocol, options)) {
    const SocketOptionInfo* info = FindSocketOption(key);
    ZCB_ASSIGN_OR_RETURN(std::string applied, ReadOne(fd, *info, socket_name));
    out.push_back({info, value, std::move(applied), std::string(ToString(side)),
                   fmt::format("getsockopt({}) on {}", info->name, socket_name)});
  }
  return out;
}

}  // namespace zcb
