#pragma once

// The sender thread's set-up, the same in every trial flow: step into the path's sender
// side and the host constraints, pin, connect a socket to the receiver, and describe the
// trial to the strategy.

#include <sys/socket.h>

#include <future>

#include <nlohmann/json.hpp>

#include "drivers/host_constraints.h"
#include "drivers/network_path.h"
#include "harness/trial.h"
#include "stack/payload.h"
#include "stack/result.h"
#include "stack/send_strategy.h"
#include "stack/unique_fd.h"

namespace zcb {

// The path's sender side (its namespace), the host constraints (the sender's cgroup),
// then the sender CPU: in that order, since entering a cgroup may move the thread.
Status EnterSenderSide(const TrialSpec& spec, NetworkPath& path, HostConstraints* constraints);

// The receiver's address once its thread has bound it (an error when its set-up failed).
Result<sockaddr_storage> AwaitReceiver(std::promise<sockaddr_storage>& listening);

// A socket of `type` (SOCK_STREAM, SOCK_DGRAM) connected to `peer`, with the trial's send
// timeout set first so that neither the connect nor a send can hang the trial. `peer_name`
// names the peer in errors ("the receiver", "the remote receiver").
Result<UniqueFd> ConnectToReceiver(const TrialSpec& spec, const sockaddr_storage& peer, int type, const char* peer_name);

// The congestion control the kernel chose for a connected TCP socket (the netns default,
// net.ipv4.tcp_congestion_control), read back with getsockopt(TCP_CONGESTION): null with
// the reason when unreadable. It decides how a loopback stream is paced (BBR paces
// itself with an hrtimer where no fq qdisc does it; cubic and reno do not), and so its
// goodput and CPU cost: params.tcp_congestion.
nlohmann::json TcpCongestionJson(int fd);

// What the strategy is told about the trial: socket, protocol, payload, size, options.
// Flows add what only they know (the peer's progress, the flow id, the link layer).
SendContext NewSendContext(const ResolvedTrial& trial, int socket_fd, Payload& payload);

}  // namespace zcb
