#pragma once

// The authentication of the control protocol (drivers/remote/protocol.h): both ends hold
// a shared token and prove it with HMAC-SHA256 over the protocol's name and version, the
// direction and both sides' nonces, so that the token never crosses the wire and a proof
// cannot be replayed in the other direction or another session.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "stack/result.h"

namespace zcb::remote {

inline constexpr size_t kNonceBytes = 32;
inline constexpr size_t kMinTokenBytes = 16;

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
// What one comparison of proofs did: the bytes of digest it compared, and the answer.
struct ProofComparison {
  size_t digest_bytes_compared = 0;
  bool equal = false;
};
// Compares two proofs in constant time: both are hashed to SHA-256 digests of fixed
// length first, and every byte of the two digests is compared with no early exit, so
// that neither where a proof differs nor a difference of length shows in the work done
// (a length check that returned early would tell a guesser the proof's length).
ProofComparison CompareProofs(std::string_view a, std::string_view b);
bool ProofsEqual(std::string_view a, std::string_view b);

}  // namespace zcb::remote
