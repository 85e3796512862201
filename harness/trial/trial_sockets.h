#pragma once

// The sockets of a trial: a reset that wakes a blocked peer, the sender's connected
// socket (with the timeouts of stack/socket_io.h and the socket options asked for), what
// TCP chose for it, and the record of the socket options both ends got.

#include <sys/socket.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "drivers/sysctl_override.h"
#include "stack/result.h"
#include "stack/socket_io.h"
#include "stack/socket_options.h"
#include "stack/unique_fd.h"

namespace zcb {

// Resets the connection (RST) so that a peer blocked in send() or recv() wakes up.
void Abort(int fd);

// A socket of `type` (SOCK_STREAM, SOCK_DGRAM) connected to `peer`, with the send
// timeout `timeout_s` set first so that neither the connect nor a send can hang the
// trial, and the sender's socket options of `socket_options` (stack/socket_options.h)
// before the connect (buffer sizes decide the window scale at the handshake).
// `peer_name` names the peer in errors ("the receiver", "the remote receiver").
Result<UniqueFd> ConnectToReceiver(const sockaddr_storage& peer, int type, double timeout_s, const char* peer_name,
                                   const std::map<std::string, std::string>& socket_options = {});

// The options `side` of a trial's sockets got, read back with getsockopt once the socket
// is connected (or accepted): `socket_name` as the record's source says it.
Result<std::vector<AppliedSocketOption>> ReadBackSocketOptions(int fd, int type, SocketSide side,
                                                               const std::map<std::string, std::string>& socket_options,
                                                               std::string_view socket_name);

// params.socket_options: every option of `socket_options` with what was asked, the socket
// it went on, and (from `applied`, the read-backs of both ends) what the kernel applied
// and where that was read; an option not read back has `applied` null and the reason.
inline constexpr std::string_view kSocketNotSetUp = "not read back: the trial ended before this socket was set up";
nlohmann::json SocketOptionsJson(const std::map<std::string, std::string>& socket_options,
                                 const std::vector<AppliedSocketOption>& applied, std::string_view not_read_reason);

// The congestion control the kernel chose for a connected TCP socket (the netns default,
// net.ipv4.tcp_congestion_control), read back with getsockopt(TCP_CONGESTION): null with
// the reason when unreadable. It decides how a loopback stream is paced (BBR paces
// itself with an hrtimer where no fq qdisc does it; cubic and reno do not), and so its
// goodput and CPU cost: params.tcp_congestion.
nlohmann::json TcpCongestionJson(int fd);

// A remote receiver's read-back in its result (metrics.socket_options: [{key, asked,
// applied, source}], canonical text), and back, as `socket`'s ("remote receiver").
inline constexpr std::string_view kRemoteReceiver = "remote receiver";
inline constexpr std::string_view kRemoteReceivingSocket = "the remote receiver's socket (zcbench serve)";
nlohmann::json AppliedSocketOptionsToJson(const std::vector<AppliedSocketOption>& applied);
Result<std::vector<AppliedSocketOption>> AppliedSocketOptionsFromJson(const nlohmann::json& json,
                                                                      std::string_view socket);

// params.optmem_max: net.core.optmem_max as the calling thread's network namespace has it
// (`where` says which and when): {bytes, source}, with `original` (the value put back
// afterwards) when `set` changed it, or {bytes: null, bytes_reason}.
inline constexpr std::string_view kOptmemMax = "net.core.optmem_max";
nlohmann::json OptmemMaxJson(const SysctlOverride* set, std::string_view where);

// After SHUT_WR: waits for the receiver to close its end, which it does once it has read
// everything (a receiver never sends on the data connection).
Status AwaitReceiverClose(int fd);

}  // namespace zcb
