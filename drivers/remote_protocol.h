#pragma once

// The control protocol between `zcbench run --path remote` (client, the sender's host)
// and `zcbench serve` (server, the receiver's host), version 2 (version 1 sent the trial's
// parameters as typed fields; a server refuses a client of another version in the hello).
//
// Framing: a 4-byte big-endian length, then that many bytes of one JSON object with a
// string member "type". A length of 0 or above kMaxMessageBytes, a short read, bytes
// that are not JSON, or an object without a type are errors: the reader never allocates
// more than the limit and never trusts a field it has not checked.
//
// A session:
//   client -> hello     {protocol: "zcbench-control", version: 2, client_nonce}
//   server -> challenge {version: 2, server_nonce}            (or error {code, message})
//   client -> auth      {proof: HMAC-SHA256(token, "zcbench-control/1 client" | server_nonce | client_nonce)}
//   server -> welcome   {proof: HMAC-SHA256(token, "zcbench-control/1 server" | client_nonce | server_nonce), host}
//   then, per trial:
//   client -> trial     {parameters: {key: canonical text}, flow_id}
//             the receiving end's parameters, keys and text as the parameter table has them
//             (harness/remote/remote_request.*: protocol, receiver, message_size, seed, ...);
//             flow_id is the id in each UDP datagram's header (0 for TCP)
//   server -> ready     {data_port}
//             TCP: the client connects to data_port from the control connection's address,
//             streams, and shuts its side down; the server reads to the end.
//             UDP: the client sends datagrams of its flow_id to data_port, then
//   client -> sent      {datagrams, aborted}
//             and the server receives until it has them all or none came for drain_s.
//   server -> result    {status, error, metrics}   (UDP: metrics.datagrams, the counts)
// The token never crosses the wire; both sides prove they know it, the server first being
// asked, so that a client never streams to an impostor either. Any error ends the session
// with an `error` message where the connection still allows one.

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "stack/datagram_receiver.h"
#include "stack/result.h"
#include "stack/types.h"

namespace zcb::remote {

inline constexpr std::string_view kProtocolName = "zcbench-control";
inline constexpr int kProtocolVersion = 2;
inline constexpr uint32_t kMaxMessageBytes = 64 * 1024;
inline constexpr uint16_t kDefaultPort = 5310;
inline constexpr size_t kNonceBytes = 32;
inline constexpr size_t kMinTokenBytes = 16;

// --- framing ---
Status WriteMessage(int fd, const nlohmann::json& message);
// Reads one message (blocking; the socket's SO_RCVTIMEO bounds the wait).
Result<nlohmann::json> ReadMessage(int fd);
// Whether a ReadMessage error means the peer closed cleanly between two messages.
bool PeerClosed(const Error& error);
// Reads one message and checks its type; an `error` message from the peer becomes an
// Error quoting it.
Result<nlohmann::json> ReadMessageOfType(int fd, std::string_view type);
// Sends {type: "error", code, message}, ignoring failures (the peer may be gone).
void SendError(int fd, std::string_view code, std::string_view message);

// --- authentication ---
std::array<uint8_t, 32> HmacSha256(std::string_view key, std::string_view data);
std::string ToHex(const uint8_t* data, size_t len);
std::optional<std::string> FromHex(std::string_view hex);
// kNonceBytes random bytes, hex.
Result<std::string> NewNonce();
// The token in `path`: trailing whitespace stripped; at least kMinTokenBytes; the file
// must not be readable by group or others.
Result<std::string> ReadTokenFile(const std::string& path);
std::string ClientProof(std::string_view token, std::string_view server_nonce, std::string_view client_nonce);
std::string ServerProof(std::string_view token, std::string_view server_nonce, std::string_view client_nonce);
// Constant-time comparison of two proofs.
bool ProofsEqual(std::string_view a, std::string_view b);

// --- trials ---
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

// "host:port" (host a name, an IPv4 address or a bracketed IPv6 address) -> address.
Result<sockaddr_storage> ResolveHostPort(const std::string& text, uint16_t default_port);

// This host's identity for the other side: name, kernel release, boot id (two ends with
// one boot id share a kernel: zero-copy sends are then copied on local delivery).
nlohmann::json HostIdentity();

}  // namespace zcb::remote
