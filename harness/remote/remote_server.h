#pragma once

// The receiver side of the remote path: `zcbench serve`. Accepts control connections
// one after another, authenticates each client (drivers/remote/auth.h), runs the
// receiver for each trial the client asks for (a TCP stream or UDP datagrams) and
// returns the receiver's metrics. A
// client that misbehaves (wrong token, unknown version, malformed, truncated or oversize
// messages, silence, disappearing mid-trial) ends its own session with a clear error;
// the server goes on to the next.

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "harness/trial/trial_resolve.h"
#include "stack/pattern.h"
#include "stack/result.h"
#include "stack/unique_fd.h"

namespace zcb {

struct ServeConfig {
  sockaddr_storage listen{};                    // control address; port 0 picks a free one
  std::string token;                            // the shared secret (remote::ReadTokenFile)
  std::optional<int> receiver_cpu;              // pin the receiver here
  uint16_t data_port = 0;                       // 0: a free port per trial
  double handshake_timeout_s = 10;              // a silent client is dropped after this long
  double idle_timeout_s = 300;                  // an authenticated client with no trial request
  int max_sessions = 0;                         // 0: serve until stopped
  const std::atomic<bool>* stop = nullptr;      // checked at least every 100 ms between sessions
  std::function<void(const std::string&)> log;  // one line per event (default: stderr)
};

class RemoteServer {
 public:
  // Binds and listens; the address (with the port chosen) is then in address().
  static Result<RemoteServer> Listen(ServeConfig config);

  const sockaddr_storage& address() const { return address_; }

  // Serves sessions until `stop` is set or max_sessions have ended. Errors of a session
  // never end the loop; only a failing listener does.
  Status Serve();

  // Sessions served so far, and how many of them ended in an error.
  int sessions() const { return sessions_; }
  int failed_sessions() const { return failed_; }

 private:
  RemoteServer(ServeConfig config, UniqueFd listener, sockaddr_storage address)
      : config_(std::move(config)), listener_(std::move(listener)), address_(address) {}
  Status Session(int fd, const sockaddr_storage& peer);
  Status Authenticate(int fd);
  struct Received;
  Status RunTrial(int fd, const sockaddr_storage& peer, const nlohmann::json& message);
  // The data side of one trial; `local` is where the data socket binds (its port 0: any).
  Result<Received> ReceiveStream(int fd, const sockaddr_storage& peer, const TrialSpec& spec, const Pattern& pattern,
                                 sockaddr_storage local);
  Result<Received> ReceiveDatagrams(int fd, const TrialSpec& spec, uint32_t flow_id, const Pattern& pattern,
                                    sockaddr_storage local);
  void Log(const std::string& line) const;

  ServeConfig config_;
  UniqueFd listener_;
  sockaddr_storage address_{};
  int sessions_ = 0;
  int failed_ = 0;
  int trials_ = 0;
};

}  // namespace zcb
