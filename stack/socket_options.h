#pragma once

// The socket options a trial may set (the `socket_options` parameter, `--socket-option
// KEY=VALUE`), declared once, in the manner of iperf3's -w/-N/-C: each with its level
// and option name, the socket it goes on (the sender's or the receiver's), the protocols
// it applies to and the shape of its value. Set before connect (or listen), where it
// matters (buffer sizes decide TCP's window scale at the handshake), and read back with
// getsockopt afterwards: what the kernel applied is what the record shows (SO_SNDBUF and
// SO_RCVBUF come back doubled, and capped by net.core.wmem_max / rmem_max).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "stack/result.h"
#include "stack/types.h"

namespace zcb {

// The socket an option goes on.
enum class SocketSide { kSender, kReceiver };
std::string_view ToString(SocketSide side);

// The shape of an option's value.
enum class SocketValueKind {
  kSize,        // bytes, as a size ("1M"); an int for the kernel
  kBool,        // true or false; an int 1 or 0 for the kernel
  kInteger,     // a non-negative int (microseconds, bytes)
  kCongestion,  // a congestion control name the kernel allows
};

struct SocketOptionInfo {
  std::string_view key;   // "sndbuf"
  std::string_view name;  // "SO_SNDBUF": what getsockopt reads it as
  int level = 0;
  int optname = 0;
  SocketSide side = SocketSide::kSender;
  EnumSet<Protocol> protocols;
  SocketValueKind value = SocketValueKind::kSize;
  std::string_view help;
};

// The known options, in the order help lists them.
const std::vector<SocketOptionInfo>& SocketOptions();
// nullptr for a key that is not one.
const SocketOptionInfo* FindSocketOption(std::string_view key);

// `zcbench help socket_options`: every option with its socket option, the socket it goes
// on, where it applies and its help.
std::string SocketOptionHelp();

// "KEY=VALUE" to canonical "KEY=VALUE" (sizes in bytes, booleans true/false); a usage
// error for an unknown key (listing the known ones) or a value of the wrong shape.
Result<std::string> ParseSocketOption(std::string_view text);

// Congestion controls that an unprivileged socket may choose
// (net.ipv4.tcp_allowed_congestion_control); empty when unreadable.
std::vector<std::string> AllowedCongestionControls();

// One option as set and read back.
struct AppliedSocketOption {
  const SocketOptionInfo* info = nullptr;
  std::string asked;    // canonical
  std::string applied;  // what getsockopt returned, canonical
  std::string socket;   // whose socket: "sender", "receiver", "remote receiver"
  std::string source;   // "getsockopt(SO_SNDBUF) on the sending socket"
};

// Sets on `fd` the options of `options` (key -> canonical value) that go on `side` and
// apply to `protocol`. A refusal fails with the errno and the option named.
Status SetSocketOptions(int fd, SocketSide side, Protocol protocol, const std::map<std::string, std::string>& options);

// Reads those options back from `fd` (after connect or accept). `socket_name` says whose
// socket it is in the source: "the sending socket", "the receiving socket".
Result<std::vector<AppliedSocketOption>> ReadSocketOptions(int fd, SocketSide side, Protocol protocol,
                                                           const std::map<std::string, std::string>& options,
                                                           std::string_view socket_name);

// The key of the receive buffer option, and the size it asks for in `options` (canonical),
// or `otherwise`: a receiver that sizes its own queue (the UDP one) takes it from here.
inline constexpr std::string_view kReceiveBufferOption = "rcvbuf";
size_t ReceiveBufferFor(const std::map<std::string, std::string>& options, size_t otherwise);
// `options` without the receive buffer: the rest, for a receiver that sized its queue.
std::map<std::string, std::string> WithoutReceiveBuffer(std::map<std::string, std::string> options);

// The options of `options` that go on `side` and apply to `protocol`.
std::map<std::string, std::string> SocketOptionsFor(SocketSide side, Protocol protocol,
                                                    const std::map<std::string, std::string>& options);

}  // namespace zcb
