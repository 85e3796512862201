#include "harness/remote/server_handshake.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "drivers/remote/auth.h"
#include "drivers/remote/messages.h"
#include "drivers/remote/protocol.h"

namespace zcb {
namespace {

void SetNonBlocking(int fd, bool on) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

}  // namespace

ServerHandshake::ServerHandshake(UniqueFd fd, const sockaddr_storage& peer, Clock::time_point deadline,
                                 std::string_view token)
    : fd_(std::move(fd)), peer_(peer), deadline_(deadline), token_(token) {
  // Non-blocking both ways: a read takes what is there, and an answer to a client that
  // does not read (its buffer full) fails instead of stalling the other handshakes.
  SetNonBlocking(fd_.get(), true);
}

ServerHandshake::State ServerHandshake::OnReadable() {
  for (;;) {
    // At most the rest of the message in progress: what a client sends after its proof
    // stays in the socket for the session.
    uint8_t buffer[4096];
    const ssize_t n = ::recv(fd_.get(), buffer, std::min(sizeof buffer, assembler_.wanted()), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return State::kPending;
    if (n < 0) return Refuse(RefusalKind::kClosed, "", "", fmt::format("handshake: recv: {}", std::strerror(errno)));
    if (n == 0) {
      const Error end = assembler_.AtEnd();
      if (remote::PeerClosed(end)) return Refuse(RefusalKind::kClosed, "", "", "handshake: " + end.ToString());
      return Refuse(RefusalKind::kMalformed, "malformed", end.ToString(), "handshake: " + end.ToString());
    }
    assembler_.Append(buffer, static_cast<size_t>(n));
    auto message = assembler_.Next();
    if (!message.ok()) {
      const std::string text = message.error().ToString();
      return Refuse(RefusalKind::kMalformed, "malformed", text, "handshake: " + text);
    }
    if (!message->has_value()) continue;
    if (const State state = OnMessage(**message); state != State::kPending) return state;
  }
}

ServerHandshake::State ServerHandshake::OnMessage(const nlohmann::json& message) {
  return server_nonce_.empty() ? OnHello(message) : OnAuth(message);
}

ServerHandshake::State ServerHandshake::OnHello(const nlohmann::json& h) {
  if (h["type"] != "hello") {
    return Refuse(RefusalKind::kMalformed, "malformed", "expected 'hello'",
                  fmt::format("handshake: expected 'hello', got '{}'", h["type"].get<std::string>().substr(0, 64)));
  }
  if (!h.contains("protocol") || h["protocol"] != remote::kProtocolName) {
    return Refuse(RefusalKind::kVersion, "protocol", fmt::format("this is a {} server", remote::kProtocolName),
                  fmt::format("handshake: not a {} client", remote::kProtocolName));
  }
  if (!h.contains("version") || !h["version"].is_number_integer() ||
      h["version"].get<int64_t>() != remote::kProtocolVersion) {
    const std::string asked = h.contains("version") ? h["version"].dump().substr(0, 32) : "none";
    return Refuse(RefusalKind::kVersion, "version",
                  fmt::format("this server speaks {} version {}; the client asked for {}", remote::kProtocolName,
                              remote::kProtocolVersion, asked),
                  fmt::format("handshake: unsupported protocol version {}", asked));
  }
  auto client_nonce = h.find("client_nonce");
  if (client_nonce == h.end() || !client_nonce->is_string() ||
      client_nonce->get<std::string>().size() != 2 * remote::kNonceBytes ||
      !remote::FromHex(client_nonce->get<std::string>())) {
    return Refuse(RefusalKind::kMalformed, "malformed", "'hello' needs a client_nonce of 32 random bytes in hex",
                  "handshake: no valid client_nonce");
  }
  auto server_nonce = remote::NewNonce();
  if (!server_nonce.ok()) return Refuse(RefusalKind::kClosed, "", "", server_nonce.error().ToString());
  const Status sent = remote::WriteMessage(
      fd_.get(), {{"type", "challenge"}, {"version", remote::kProtocolVersion}, {"server_nonce", *server_nonce}});
  if (!sent.ok()) return Refuse(RefusalKind::kClosed, "", "", "handshake: " + sent.error().ToString());
  client_nonce_ = client_nonce->get<std::string>();
  server_nonce_ = *server_nonce;
  return State::kPending;
}

ServerHandshake::State ServerHandshake::OnAuth(const nlohmann::json& auth) {
  auto proof = auth.find("proof");
  if (auth["type"] != "auth" || proof == auth.end() || !proof->is_string()) {
    return Refuse(RefusalKind::kMalformed, "malformed", "expected 'auth' with a proof",
                  "handshake: expected 'auth' with a proof");
  }
  // The welcome is made before the comparison, whatever its outcome: a wrong proof's
  // answer then costs the server what a right one's does, and comes no sooner.
  const nlohmann::json welcome = {{"type", "welcome"},
                                  {"proof", remote::ServerProof(token_, server_nonce_, client_nonce_)},
                                  {"host", remote::HostIdentity()}};
  const std::string expected = remote::ClientProof(token_, server_nonce_, client_nonce_);
  if (!remote::ProofsEqual(proof->get<std::string>(), expected)) {
    return Refuse(RefusalKind::kWrongToken, "auth", "authentication failed: wrong token",
                  "authentication failed: wrong token");
  }
  const Status sent = remote::WriteMessage(fd_.get(), welcome);
  if (!sent.ok()) return Refuse(RefusalKind::kClosed, "", "", "handshake: " + sent.error().ToString());
  return State::kAuthenticated;
}

bool ServerHandshake::ExpireAt(Clock::time_point now, double timeout_s) {
  if (now < deadline_) return false;
  const std::string text = fmt::format("timed out: the handshake was not over within {} s", timeout_s);
  Refuse(RefusalKind::kTimeout, "malformed", "control connection: " + text, "handshake: " + text);
  return true;
}

ServerHandshake::State ServerHandshake::Refuse(RefusalKind kind, const std::string& code, const std::string& message,
                                               std::string why) {
  if (!code.empty()) remote::SendError(fd_.get(), code, message);
  refusal_ = Refusal{kind, std::move(why)};
  return State::kRefused;
}

UniqueFd ServerHandshake::Release() {
  SetNonBlocking(fd_.get(), false);
  return std::move(fd_);
}

}  // namespace zcb
