#include "drivers/remote_protocol.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

namespace zcb::remote {
namespace {

// Reads exactly `len` bytes. Returns how many were read before EOF (< len at EOF).
Result<size_t> ReadExact(int fd, uint8_t* buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::recv(fd, buf + got, len - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (n == 0) {
      break;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return Error(ETIMEDOUT, "control connection: timed out waiting for the peer");
    } else {
      return SysError("control connection: recv");
    }
  }
  return got;
}

Status SendExact(int fd, const uint8_t* buf, size_t len) {
  size_t sent = 0;
  while (sent < len) {
    ssize_t n = ::send(fd, buf + sent, len - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return SysError("control connection: send");
    }
  }
  return OkStatus();
}

std::string Proof(std::string_view token, std::string_view label, std::string_view a, std::string_view b) {
  std::string data = fmt::format("{}/{} {}|{}|{}", kProtocolName, kProtocolVersion, label, a, b);
  auto mac = HmacSha256(token, data);
  return ToHex(mac.data(), mac.size());
}

constexpr std::string_view kClosedText = "control connection closed by the peer";

std::string ReadSmallFile(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

Result<uint64_t> GetUint(const nlohmann::json& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end() || !it->is_number_unsigned()) return Errorf("field '{}' must be a non-negative integer", key);
  return it->get<uint64_t>();
}

Result<std::string> GetString(const nlohmann::json& m, const char* key, size_t max_len = 256) {
  auto it = m.find(key);
  if (it == m.end() || !it->is_string()) return Errorf("field '{}' must be a string", key);
  std::string s = it->get<std::string>();
  if (s.size() > max_len) return Errorf("field '{}' is longer than {} bytes", key, max_len);
  return s;
}

Result<bool> GetBool(const nlohmann::json& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end() || !it->is_boolean()) return Errorf("field '{}' must be true or false", key);
  return it->get<bool>();
}

// A field that is null or a non-negative integer.
Result<std::optional<uint64_t>> GetOptionalUint(const nlohmann::json& m, const char* key) {
  auto it = m.find(key);
  if (it != m.end() && it->is_null()) return std::optional<uint64_t>();
  ZCB_ASSIGN_OR_RETURN(const uint64_t v, GetUint(m, key));
  return std::optional<uint64_t>(v);
}

nlohmann::json OptionalJson(const std::optional<uint64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

Status WriteMessage(int fd, const nlohmann::json& message) {
  // Replace rather than throw on invalid UTF-8: an error message may quote a peer's bytes.
  const std::string body = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (body.size() > kMaxMessageBytes) {
    return Errorf("control message of {} bytes exceeds the {}-byte limit", body.size(), kMaxMessageBytes);
  }
  std::vector<uint8_t> frame(4 + body.size());
  const uint32_t len = htonl(static_cast<uint32_t>(body.size()));
  std::memcpy(frame.data(), &len, 4);
  std::memcpy(frame.data() + 4, body.data(), body.size());
  return SendExact(fd, frame.data(), frame.size());
}

Result<nlohmann::json> ReadMessage(int fd) {
  uint8_t header[4];
  ZCB_ASSIGN_OR_RETURN(size_t got, ReadExact(fd, header, 4));
  if (got == 0) return Error(0, std::string(kClosedText));
  if (got < 4) return Errorf("truncated message: the connection closed after {} of the 4 length bytes", got);
  uint32_t len;
  std::memcpy(&len, header, 4);
  len = ntohl(len);
  if (len == 0) return Errorf("malformed message: length 0");
  if (len > kMaxMessageBytes) return Errorf("oversize message: {} bytes announced, the limit is {}", len, kMaxMessageBytes);
  std::string body(len, '\0');
  ZCB_ASSIGN_OR_RETURN(got, ReadExact(fd, reinterpret_cast<uint8_t*>(body.data()), len));
  if (got < len) return Errorf("truncated message: the connection closed after {} of {} bytes", got, len);
  nlohmann::json message = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded()) return Errorf("malformed message: not JSON");
  if (!message.is_object()) return Errorf("malformed message: not a JSON object");
  auto type = message.find("type");
  if (type == message.end() || !type->is_string()) return Errorf("malformed message: no string member 'type'");
  return message;
}

Result<nlohmann::json> ReadMessageOfType(int fd, std::string_view type) {
  ZCB_ASSIGN_OR_RETURN(nlohmann::json message, ReadMessage(fd));
  const std::string got = message["type"].get<std::string>();
  if (got == "error") {
    std::string text = message.contains("message") && message["message"].is_string() ? message["message"].get<std::string>() : "";
    std::string code = message.contains("code") && message["code"].is_string() ? message["code"].get<std::string>() : "";
    return Errorf("the peer refused: {}{}{}", code, code.empty() ? "" : ": ", text.substr(0, 1024));
  }
  if (got != type) return Errorf("unexpected message '{}' (expected '{}')", got.substr(0, 64), type);
  return message;
}

bool PeerClosed(const Error& error) { return error.errno_value() == 0 && error.what() == kClosedText; }

void SendError(int fd, std::string_view code, std::string_view message) {
  (void)WriteMessage(fd, {{"type", "error"}, {"code", code}, {"message", message}});
}

std::array<uint8_t, 32> HmacSha256(std::string_view key, std::string_view data) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  ::HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         out.data(), &len);
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
    return Usagef("token file {} is readable by group or others (mode {:o}): chmod 600 {}", path, st.st_mode & 0777, path);
  }
  if (st.st_size > 4096) return Usagef("token file {}: {} bytes, expected a short secret (at most 4096 bytes)", path, st.st_size);
  std::ifstream in(path, std::ios::binary);
  if (!in) return SysError(fmt::format("open token file {}", path)).Kind(ErrorKind::kUsage);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = ss.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ' || token.back() == '\t')) token.pop_back();
  if (token.size() < kMinTokenBytes) {
    return Usagef("token file {}: the token is {} bytes; use at least {} (e.g. openssl rand -hex 32 > {})", path, token.size(),
                  kMinTokenBytes, path);
  }
  return token;
}

std::string ClientProof(std::string_view token, std::string_view server_nonce, std::string_view client_nonce) {
  return Proof(token, "client", server_nonce, client_nonce);
}

std::string ServerProof(std::string_view token, std::string_view server_nonce, std::string_view client_nonce) {
  return Proof(token, "server", client_nonce, server_nonce);
}

bool ProofsEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return ::CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

nlohmann::json TrialRequest::ToJson() const {
  return {{"type", "trial"}, {"parameters", parameters}, {"flow_id", flow_id}};
}

Result<TrialRequest> TrialRequest::FromJson(const nlohmann::json& m) {
  TrialRequest r;
  auto given = m.find("parameters");
  if (given == m.end() || !given->is_object()) return Errorf("field 'parameters' must be an object of key: text");
  if (given->size() > kMaxRequestParameters) {
    return Errorf("field 'parameters': {} keys, at most {}", given->size(), kMaxRequestParameters);
  }
  for (const auto& [key, value] : given->items()) {
    if (key.empty() || key.size() > 64) return Errorf("field 'parameters': a key of {} bytes", key.size());
    if (!value.is_string() || value.get_ref<const std::string&>().size() > 256) {
      return Errorf("field 'parameters.{}' must be a string of at most 256 bytes", key);
    }
    r.parameters[key] = value.get<std::string>();
  }
  ZCB_ASSIGN_OR_RETURN(const uint64_t flow_id, GetUint(m, "flow_id"));
  if (flow_id > UINT32_MAX) return Errorf("field 'flow_id': expected 0 to {}", UINT32_MAX);
  r.flow_id = static_cast<uint32_t>(flow_id);
  return r;
}

nlohmann::json DatagramsSent::ToJson() const { return {{"type", "sent"}, {"datagrams", datagrams}, {"aborted", aborted}}; }

Result<DatagramsSent> DatagramsSent::FromJson(const nlohmann::json& m) {
  DatagramsSent sent;
  ZCB_ASSIGN_OR_RETURN(sent.datagrams, GetUint(m, "datagrams"));
  ZCB_ASSIGN_OR_RETURN(sent.aborted, GetBool(m, "aborted"));
  return sent;
}

nlohmann::json DatagramStatsToJson(const DatagramReceiveStats& s) {
  return {{"datagrams_received", s.datagrams_received},
          {"duplicated", s.duplicated},
          {"reordered", s.reordered},
          {"stale", s.stale},
          {"malformed", s.malformed},
          {"empty", s.empty},
          {"corrupt", s.corrupt},
          {"first_corrupt_sequence", OptionalJson(s.first_corrupt_sequence)},
          {"highest_sequence", OptionalJson(s.highest_sequence)},
          {"bytes_received", s.bytes_received},
          {"unique_bytes", s.unique_bytes},
          {"recv_calls", s.recv_calls},
          {"coalesced_buffers", s.coalesced_buffers},
          {"queue_drops", OptionalJson(s.queue_drops_known ? std::optional<uint64_t>(s.queue_drops) : std::nullopt)},
          {"receive_buffer_bytes", s.receive_buffer_bytes},
          {"receive_buffer_forced", s.receive_buffer_forced},
          {"all_arrived", s.all_arrived},
          {"verified_bytes", s.integrity.verified_bytes},
          {"mismatches", s.integrity.mismatches},
          {"first_mismatch_offset", OptionalJson(s.integrity.first_mismatch_offset)},
          {"mode", std::string(ToString(s.integrity.mode))}};
}

Result<DatagramReceiveStats> DatagramStatsFromJson(const nlohmann::json& m) {
  if (!m.is_object()) return Errorf("result: 'datagrams' is not an object");
  DatagramReceiveStats s;
  auto read = [&]() -> Status {
    ZCB_ASSIGN_OR_RETURN(s.datagrams_received, GetUint(m, "datagrams_received"));
    ZCB_ASSIGN_OR_RETURN(s.duplicated, GetUint(m, "duplicated"));
    ZCB_ASSIGN_OR_RETURN(s.reordered, GetUint(m, "reordered"));
    ZCB_ASSIGN_OR_RETURN(s.stale, GetUint(m, "stale"));
    ZCB_ASSIGN_OR_RETURN(s.malformed, GetUint(m, "malformed"));
    ZCB_ASSIGN_OR_RETURN(s.empty, GetUint(m, "empty"));
    ZCB_ASSIGN_OR_RETURN(s.corrupt, GetUint(m, "corrupt"));
    ZCB_ASSIGN_OR_RETURN(s.first_corrupt_sequence, GetOptionalUint(m, "first_corrupt_sequence"));
    ZCB_ASSIGN_OR_RETURN(s.highest_sequence, GetOptionalUint(m, "highest_sequence"));
    ZCB_ASSIGN_OR_RETURN(s.bytes_received, GetUint(m, "bytes_received"));
    ZCB_ASSIGN_OR_RETURN(s.unique_bytes, GetUint(m, "unique_bytes"));
    ZCB_ASSIGN_OR_RETURN(s.recv_calls, GetUint(m, "recv_calls"));
    ZCB_ASSIGN_OR_RETURN(s.coalesced_buffers, GetUint(m, "coalesced_buffers"));
    ZCB_ASSIGN_OR_RETURN(const std::optional<uint64_t> drops, GetOptionalUint(m, "queue_drops"));
    s.queue_drops_known = drops.has_value();
    s.queue_drops = drops.value_or(0);
    ZCB_ASSIGN_OR_RETURN(s.receive_buffer_bytes, GetUint(m, "receive_buffer_bytes"));
    ZCB_ASSIGN_OR_RETURN(s.receive_buffer_forced, GetBool(m, "receive_buffer_forced"));
    ZCB_ASSIGN_OR_RETURN(s.all_arrived, GetBool(m, "all_arrived"));
    ZCB_ASSIGN_OR_RETURN(s.integrity.verified_bytes, GetUint(m, "verified_bytes"));
    ZCB_ASSIGN_OR_RETURN(s.integrity.mismatches, GetUint(m, "mismatches"));
    ZCB_ASSIGN_OR_RETURN(s.integrity.first_mismatch_offset, GetOptionalUint(m, "first_mismatch_offset"));
    ZCB_ASSIGN_OR_RETURN(const std::string mode, GetString(m, "mode", 16));
    const auto parsed = ParseReceiverMode(mode);
    if (!parsed) return Errorf("field 'mode': unknown receiver mode '{}'", mode);
    s.integrity.mode = *parsed;
    return OkStatus();
  };
  if (auto ok = read(); !ok.ok()) return std::move(ok).error().Context("result: datagrams");
  return s;
}

Status ValidateResultMetrics(const nlohmann::json& metrics) {
  if (!metrics.is_object()) return Errorf("result: 'metrics' is not an object");
  ZCB_RETURN_IF_ERROR(GetUint(metrics, "bytes_received"));
  ZCB_RETURN_IF_ERROR(GetUint(metrics, "recv_calls"));
  auto integrity = metrics.find("integrity");
  if (integrity == metrics.end() || !integrity->is_object()) return Errorf("result: 'integrity' is not an object");
  ZCB_RETURN_IF_ERROR(GetString(*integrity, "mode", 16));
  ZCB_RETURN_IF_ERROR(GetUint(*integrity, "verified_bytes"));
  ZCB_RETURN_IF_ERROR(GetUint(*integrity, "mismatches"));
  auto first = integrity->find("first_mismatch_offset");
  if (first == integrity->end() || !(first->is_null() || first->is_number_unsigned())) {
    return Errorf("result: 'integrity.first_mismatch_offset' must be null or a non-negative integer");
  }
  auto cpu = metrics.find("cpu");
  if (cpu == metrics.end() || !(cpu->is_null() || cpu->is_object())) return Errorf("result: 'cpu' must be null or an object");
  if (cpu->is_object()) {
    auto t = cpu->find("receiver_thread_s");
    if (t == cpu->end() || !t->is_number()) return Errorf("result: 'cpu.receiver_thread_s' must be a number");
  }
  return OkStatus();
}

Result<sockaddr_storage> ResolveHostPort(const std::string& text, uint16_t default_port) {
  std::string host = text, port = std::to_string(default_port);
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos) return Usagef("'{}': expected [IPv6]:PORT", text);
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return Usagef("'{}': expected [IPv6]:PORT", text);
      port = text.substr(close + 2);
    }
  } else if (const size_t colon = text.rfind(':'); colon != std::string::npos && text.find(':') == colon) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  char* end = nullptr;
  const long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 0 || p > 65535) return Usagef("'{}': the port must be a number from 0 to 65535", text);
  if (host.empty()) return Usagef("'{}': expected HOST:PORT", text);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
    return Usagef("resolve '{}': {}", host, ::gai_strerror(rc));
  }
  sockaddr_storage addr{};
  std::memcpy(&addr, found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  if (addr.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(static_cast<uint16_t>(p));
  else reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port = htons(static_cast<uint16_t>(p));
  return addr;
}

nlohmann::json HostIdentity() {
  utsname u{};
  ::uname(&u);
  return {{"hostname", u.nodename}, {"kernel", u.release}, {"boot_id", ReadSmallFile("/proc/sys/kernel/random/boot_id")}};
}

}  // namespace zcb::remote
