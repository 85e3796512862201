#pragma once

// The framing of the control protocol (drivers/remote/protocol.h): a 4-byte big-endian
// length, then that many bytes of one JSON object with a string member "type". A length
// of 0 or above kMaxMessageBytes, a short read, bytes that are not JSON, or an object
// without a type are errors: the reader never allocates more than the limit and never
// trusts a field it has not checked.

#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "stack/result.h"

namespace zcb::remote {

inline constexpr uint32_t kMaxMessageBytes = 64 * 1024;

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

}  // namespace zcb::remote
