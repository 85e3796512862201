#pragma once

// The control protocol between `zcbench run --path remote` (client, the sender's host)
// and `zcbench serve` (server, the receiver's host), version 2 (version 1 sent the trial's
// parameters as typed fields; a server refuses a client of another version in the hello).
// Its parts: the framing of one message (framing.h), the proofs that both ends know the
// shared token (auth.h), the trial messages and their checks (messages.h), and the
// HOST:PORT a peer is named by (host_port.h).
//
// A session:
//   client -> hello     {protocol: "zcbench-control", version: 2, client_nonce}
//   server -> challenge {version: 2, server_nonce}            (or error {code, message})
//   client -> auth      {proof: HMAC-SHA256(token, "zcbench-control/2 client" | server_nonce | client_nonce)}
//   server -> welcome   {proof: HMAC-SHA256(token, "zcbench-control/2 server" | client_nonce | server_nonce), host}
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
//   server -> result    {status, error, metrics, interface}   (UDP: metrics.datagrams, the counts)
//             interface: the receiver's interface profile (the device the server routes
//             to the client through: name, driver, MTU, offloads as ethtool reports them,
//             speed where known, read after the receive), or null with interface_reason.
//             An optional field, added without a version change: a client ignores what it
//             does not know, and a client that knows it records an older server's silence
//             as such.
// The token never crosses the wire; both sides prove they know it, the server first being
// asked, so that a client never streams to an impostor either. Any error ends the session
// with an `error` message where the connection still allows one.

#include <cstdint>
#include <string_view>

namespace zcb::remote {

inline constexpr std::string_view kProtocolName = "zcbench-control";
inline constexpr int kProtocolVersion = 2;
// The control port `zcbench serve` listens on, and a peer's port when HOST:PORT leaves it out.
inline constexpr uint16_t kDefaultPort = 5310;

}  // namespace zcb::remote
