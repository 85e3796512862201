#pragma once

// The server's half of one control connection's handshake (drivers/remote/protocol.h:
// hello, challenge, auth, welcome), driven by `zcbench serve`'s poll loop: it reads what
// has arrived without waiting and answers whole messages, so that many handshakes go on
// at once on one thread and none can hold the server. Its deadline is fixed when the
// connection is accepted: bytes that trickle in do not move it.

#include <sys/socket.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "drivers/remote/framing.h"
#include "harness/remote/refusal_log.h"
#include "stack/unique_fd.h"

namespace zcb {

class ServerHandshake {
 public:
  using Clock = std::chrono::steady_clock;
  enum class State { kPending, kAuthenticated, kRefused };
  struct Refusal {
    RefusalKind kind;
    std::string why;
  };

  // `fd` is made non-blocking for the handshake (and blocking again by Release).
  // `token` must outlive the handshake.
  ServerHandshake(UniqueFd fd, const sockaddr_storage& peer, Clock::time_point deadline, std::string_view token);

  // Reads what the client sent and answers each whole message.
  State OnReadable();
  // Past the deadline: refuses with a timeout (telling the client) and returns true.
  bool ExpireAt(Clock::time_point now, double timeout_s);

  int fd() const { return fd_.get(); }
  const sockaddr_storage& peer() const { return peer_; }
  Clock::time_point deadline() const { return deadline_; }
  // Set once the state is kRefused.
  const std::optional<Refusal>& refusal() const { return refusal_; }
  // The authenticated connection, blocking again, for the session.
  UniqueFd Release();

 private:
  State OnMessage(const nlohmann::json& message);
  State OnHello(const nlohmann::json& hello);
  State OnAuth(const nlohmann::json& auth);
  // Sends the client an error {code, message} and ends the handshake with `kind`.
  State Refuse(RefusalKind kind, const std::string& code, const std::string& message, std::string why);

  UniqueFd fd_;
  sockaddr_storage peer_{};
  Clock::time_point deadline_;
  std::string_view token_;
  remote::MessageAssembler assembler_;
  std::string client_nonce_, server_nonce_;  // the server nonce once the challenge is sent
  std::optional<Refusal> refusal_;
};

}  // namespace zcb
