#pragma once

// The sockets of a trial: a reset that wakes a blocked peer, the sender's connected
// socket (with the timeouts of stack/socket_io.h), and what TCP chose for it.

#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "stack/result.h"
#include "stack/socket_io.h"
#include "stack/unique_fd.h"

namespace zcb {

// Resets the connection (RST) so that a peer blocked in send() or recv() wakes up.
void Abort(int fd);

// A socket of `type` (SOCK_STREAM, SOCK_DGRAM) connected to `peer`, with the send
// timeout `timeout_s` set first so that neither the connect nor a send can hang the
// trial. `peer_name` names the peer in errors ("the receiver", "the remote receiver").
Result<UniqueFd> ConnectToReceiver(const sockaddr_storage& peer, int type, double timeout_s, const char* peer_name);

// The congestion control the kernel chose for a connected TCP socket (the netns default,
// net.ipv4.tcp_congestion_control), read back with getsockopt(TCP_CONGESTION): null with
// the reason when unreadable. It decides how a loopback stream is paced (BBR paces
// itself with an hrtimer where no fq qdisc does it; cubic and reno do not), and so its
// goodput and CPU cost: params.tcp_congestion.
nlohmann::json TcpCongestionJson(int fd);

// After SHUT_WR: waits for the receiver to close its end, which it does once it has read
// everything (a receiver never sends on the data connection).
Status AwaitReceiverClose(int fd);

}  // namespace zcb
