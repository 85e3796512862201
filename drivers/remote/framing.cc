#include "drivers/remote/framing.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace zcb::remote {
namespace {

constexpr std::string_view kClosedText = "control connection closed by the peer";

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

// The checks of a frame's parts, shared by the blocking reader and the assembler.
Result<uint32_t> FrameLength(const uint8_t header[4]) {
  uint32_t len;
  std::memcpy(&len, header, 4);
  len = ntohl(len);
  if (len == 0) return Errorf("malformed message: length 0");
  if (len > kMaxMessageBytes)
    return Errorf("oversize message: {} bytes announced, the limit is {}", len, kMaxMessageBytes);
  return len;
}

Error Truncated(size_t got, uint32_t len) {
  if (got < 4) return Errorf("truncated message: the connection closed after {} of the 4 length bytes", got);
  return Errorf("truncated message: the connection closed after {} of {} bytes", got - 4, len);
}

Result<nlohmann::json> ParseBody(std::string_view body) {
  nlohmann::json message = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded()) return Errorf("malformed message: not JSON");
  if (!message.is_object()) return Errorf("malformed message: not a JSON object");
  auto type = message.find("type");
  if (type == message.end() || !type->is_string()) return Errorf("malformed message: no string member 'type'");
  return message;
}

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
  if (got < 4) return Truncated(got, 0);
  ZCB_ASSIGN_OR_RETURN(const uint32_t len, FrameLength(header));
  std::string body(len, '\0');
  ZCB_ASSIGN_OR_RETURN(got, ReadExact(fd, reinterpret_cast<uint8_t*>(body.data()), len));
  if (got < len) return Truncated(4 + got, len);
  return ParseBody(body);
}

size_t MessageAssembler::wanted() const {
  if (buffer_.size() < 4) return 4 - buffer_.size();
  auto len = FrameLength(reinterpret_cast<const uint8_t*>(buffer_.data()));
  return len.ok() && buffer_.size() < 4 + *len ? 4 + *len - buffer_.size() : 1;
}

void MessageAssembler::Append(const uint8_t* data, size_t len) {
  buffer_.append(reinterpret_cast<const char*>(data), len);
}

Result<std::optional<nlohmann::json>> MessageAssembler::Next() {
  if (buffer_.size() < 4) return std::optional<nlohmann::json>();
  ZCB_ASSIGN_OR_RETURN(const uint32_t len, FrameLength(reinterpret_cast<const uint8_t*>(buffer_.data())));
  if (buffer_.size() < 4 + len) return std::optional<nlohmann::json>();
  auto message = ParseBody(std::string_view(buffer_).substr(4, len));
  buffer_.erase(0, 4 + len);
  if (!message.ok()) return std::move(message).error();
  return std::optional<nlohmann::json>(std::move(*message));
}

Error MessageAssembler::AtEnd() const {
  if (buffer_.empty()) return Error(0, std::string(kClosedText));
  uint32_t len = 0;
  if (buffer_.size() >= 4) {
    auto checked = FrameLength(reinterpret_cast<const uint8_t*>(buffer_.data()));
    len = checked.ok() ? *checked : 0;
  }
  return Truncated(buffer_.size(), len);
}

Result<nlohmann::json> ReadMessageOfType(int fd, std::string_view type) {
  ZCB_ASSIGN_OR_RETURN(nlohmann::json message, ReadMessage(fd));
  const std::string got = message["type"].get<std::string>();
  if (got == "error") {
    std::string text =
        message.contains("message") && message["message"].is_string() ? message["message"].get<std::string>() : "";
    std::string code =
        message.contains("code") && message["code"].is_string() ? message["code"].get<std::string>() : "";
    // "unsupported" keeps its kind, so that a trial the server cannot serve is recorded
    // as unsupported on the client, as a local one would be.
    if (code == "unsupported") return Unsupportedf("the peer refused: {}: {}", code, text.substr(0, 1024));
    return Errorf("the peer refused: {}{}{}", code, code.empty() ? "" : ": ", text.substr(0, 1024));
  }
  if (got != type) return Errorf("unexpected message '{}' (expected '{}')", got.substr(0, 64), type);
  return message;
}

bool PeerClosed(const Error& error) { return error.errno_value() == 0 && error.what() == kClosedText; }

void SendError(int fd, std::string_view code, std::string_view message) {
  (void)WriteMessage(fd, {{"type", "error"}, {"code", code}, {"message", message}});
}

}  // namespace zcb::remote
