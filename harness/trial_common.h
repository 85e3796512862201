#pragma once

// Pieces every trial flow (TCP stream, UDP datagrams, remote) shares: thread pinning,
// socket timeouts, aborting a connection, and the parts of a record.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "stack/result.h"
#include "stack/send_strategy.h"

namespace zcb {

// Pins the calling thread to `cpu` (nothing for nullopt). `who` is "sender" or "receiver".
Status PinThread(std::optional<int> cpu, const char* who);

// SO_RCVTIMEO / SO_SNDTIMEO, so that a stalled peer fails a trial instead of hanging it.
Status SetTimeout(int fd, int option, double seconds);

// Resets the connection (RST) so that a peer blocked in send() or recv() wakes up.
void Abort(int fd);

std::string NowIso8601();
int CurrentTid();

nlohmann::json ZeroCopyJson(const ZeroCopyStats& z);

// metrics.reuse_gate: how the sender waited for the peer before rewriting lent pages
// (null for strategies without a peer gate).
nlohmann::json ReuseGateJson(const std::optional<PeerGateStats>& gate);

}  // namespace zcb
