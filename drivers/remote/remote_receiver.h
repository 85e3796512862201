#pragma once

// The receiver side of a path whose receiver runs on another host (capabilities
// remote_receiver): the trial runner asks it to set a receiver up, sends to the address
// it returns, and collects the receiver's metrics.

#include <sys/socket.h>

#include <cstdint>

#include <nlohmann/json.hpp>

#include "drivers/remote/messages.h"
#include "stack/result.h"

namespace zcb {

class RemoteReceiver {
 public:
  virtual ~RemoteReceiver() = default;

  // Asks the peer to set a receiver up for one trial; returns where the sender connects.
  virtual Result<sockaddr_storage> BeginTrial(const remote::TrialRequest& request) = 0;

  // A datagram trial: tells the receiver that the sender is done and how many datagrams
  // it sent (`aborted`: the sender failed; the receiver stops now). Called on the sender
  // thread while the caller waits for it (the control connection is not shared).
  virtual Status EndDatagrams(uint64_t datagrams_sent, bool aborted) = 0;

  // Waits (at most `timeout_s`) for the receiver's result after the sender finished or
  // failed: {status, error, metrics} with metrics checked by ValidateResultMetrics.
  virtual Result<nlohmann::json> FinishTrial(double timeout_s) = 0;

  // "host:port" of the peer, for messages.
  virtual std::string PeerName() const = 0;
};

}  // namespace zcb
