#pragma once

// The trial messages of the control protocol (drivers/remote/protocol.h) and their checks:
// what the client asks for, what it tells the server after a UDP trial, and what the
// server answers with. Every reader checks each field it uses and names the one it refuses.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "stack/datagram_receiver.h"
#include "stack/result.h"

namespace zcb::remote {

// A trial request in its generic form: the receiving end's parameters as {key: canonical
// text}. Which keys a receiving end takes and how their text reads is the harness's
// parameter table (harness/remote/remote_request.*); the protocol carries them, bounded.
struct TrialRequest {
  std::map<std::string, std::string> parameters;
  // UDP: the flow id in each datagram's header (the protocol's own field); 0 for TCP.
  uint32_t flow_id = 0;

  nlohmann::json ToJson() const;
  // The shape checked (an object of at most kMaxRequestParameters short strings, the flow
  // id a 32-bit number); errors name the field.
  static Result<TrialRequest> FromJson(const nlohmann::json& message);
};
inline constexpr size_t kMaxRequestParameters = 32;

// UDP: the sender is done (`aborted`: it failed and the receiver should stop now).
struct DatagramsSent {
  uint64_t datagrams = 0;
  bool aborted = false;

  nlohmann::json ToJson() const;
  static Result<DatagramsSent> FromJson(const nlohmann::json& message);
};

// A datagram receiver's counts as the server sends them in metrics.datagrams (its clock's
// time points stay there); the reader checks every field and names the one it refuses.
nlohmann::json DatagramStatsToJson(const DatagramReceiveStats& stats);
Result<DatagramReceiveStats> DatagramStatsFromJson(const nlohmann::json& json);

// The receiver's metrics as the server sends them, checked for the fields the client
// puts into its record.
Status ValidateResultMetrics(const nlohmann::json& metrics);

// The receiver's interface profile in a result (optional: a server older than the field
// sends none): `interface`, the DescribeInterface of the device the server
// routes to the client through, or null with `interface_reason`.
struct ReceiverInterfaceProfile {
  nlohmann::json profile;  // null: none came
  std::string reason;      // why, when null
};
Result<ReceiverInterfaceProfile> ReceiverInterface(const nlohmann::json& message);

// This host's identity for the other side (the welcome's and the result's `host`): name,
// kernel release, boot id (two ends with one boot id share a kernel: zero-copy sends are
// then copied on local delivery).
nlohmann::json HostIdentity();

}  // namespace zcb::remote
