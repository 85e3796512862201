#pragma once

// The framing of the control protocol (drivers/remote/protocol.h): a 4-byte big-endian
// length, then that many bytes of one JSON object with a string member "type". A length
// of 0 or above kMaxMessageBytes, a short read, bytes that are not JSON, or an object
// without a type are errors: the reader never allocates more than the limit and never
// trusts a field it has not checked.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
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
// Assembles messages from bytes as they arrive, for a reader that must not block (the
// server's handshakes): the same limits, checks and errors as ReadMessage. It never holds
// more than one message: read at most wanted() bytes at a time.
class MessageAssembler {
 public:
  // How many more bytes the message in progress needs (at least 1).
  size_t wanted() const;
  void Append(const uint8_t* data, size_t len);
  // The message, once whole (nullopt until then), or the error ReadMessage would give.
  Result<std::optional<nlohmann::json>> Next();
  // The error for the peer's end of stream here: closed between messages (PeerClosed) or
  // a truncated message.
  Error AtEnd() const;

 private:
  std::string buffer_;
};

// Sends {type: "error", code, message}, ignoring failures (the peer may be gone).
void SendError(int fd, std::string_view code, std::string_view message);

}  // namespace zcb::remote
