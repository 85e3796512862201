#include "drivers/remote/auth.h"

#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "drivers/remote/protocol.h"

namespace zcb::remote {
namespace {

// The protocol's name and version and the direction are part of what is signed: a proof
// is good for one protocol version, one direction and one pair of nonces only.
std::string Proof(std::string_view token, std::string_view label, std::string_view a, std::string_view b) {
  std::string data = fmt::format("{}/{} {}|{}|{}", kProtocolName, kProtocolVersion, label, a, b);
  auto mac = HmacSha256(token, data);
  return ToHex(mac.data(), mac.size());
}

}  // namespace

std::array<uint8_t, 32> HmacSha256(std::string_view key, std::string_view data) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  ::HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), out.data(), &len);
  return out;
}

std::string ToHex(const uint8_t* data, size_t len) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (size_t i = 0; i < len; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

Result<std::string> NewNonce() {
  uint8_t bytes[kNonceBytes];
  if (::RAND_bytes(bytes, sizeof bytes) != 1) return Errorf("OpenSSL RAND_bytes failed to produce a nonce");
  return ToHex(bytes, sizeof bytes);
}

Result<std::string> ReadTokenFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return SysError(fmt::format("token file {}", path)).Kind(ErrorKind::kUsage);
  if (!S_ISREG(st.st_mode)) return Usagef("token file {}: not a regular file", path);
  if ((st.st_mode & 077) != 0) {
    return Usagef("token file {} is readable by group or others (mode {:o}): chmod 600 {}", path, st.st_mode & 0777,
                  path);
  }
  if (st.st_size > 4096)
    return Usagef("token file {}: {} bytes, expected a short secret (at most 4096 bytes)", path, st.st_size);
  std::ifstream in(path, std::ios::binary);
  if (!in) return SysError(fmt::format("open token file {}", path)).Kind(ErrorKind::kUsage);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = ss.str();
  while (!token.empty() &&
         (token.back() == '\n' || token.back() == '\r' || token.back() == ' ' || token.back() == '\t'))
    token.pop_back();
  if (token.size() < kMinTokenBytes) {
    return Usagef("token file {}: the token is {} bytes; use at least {} (e.g. openssl rand -hex 32 > {})", path,
                  token.size(), kMinTokenBytes, path);
  }
  return token;
}

std::string ClientProof(std::string_view token, std::string_view server_nonce, std::string_view client_nonce) {
  return Proof(token, "client", server_nonce, client_nonce);
}

std::string ServerProof(std::string_view token, std::string_view server_nonce, std::string_view client_nonce) {
  return Proof(token, "server", client_nonce, server_nonce);
}

ProofComparison CompareProofs(std::string_view a, std::string_view b) {
  std::array<uint8_t, SHA256_DIGEST_LENGTH> da{}, db{};
  ::SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da.data());
  ::SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db.data());
  // The loop reads every byte whatever it finds: the differences are or-ed together and
  // looked at once, after the loop (the volatile keeps the compiler from cutting it short).
  ProofComparison comparison;
  volatile uint8_t difference = 0;
  for (size_t i = 0; i < da.size(); ++i) {
    difference = difference | static_cast<uint8_t>(da[i] ^ db[i]);
    ++comparison.digest_bytes_compared;
  }
  comparison.equal = difference == 0;
  return comparison;
}

bool ProofsEqual(std::string_view a, std::string_view b) { return CompareProofs(a, b).equal; }

}  // namespace zcb::remote
