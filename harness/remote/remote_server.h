#pragma once

// The receiver side of the remote path: `zcbench serve`. Authenticates each client
// (drivers/remote/auth.h), runs the receiver for each trial the client asks for (a TCP
// stream or UDP datagrams) and returns the receiver's metrics. A client that misbehaves
// (wrong token, unknown version, malformed, truncated or oversize messages, silence,
// disappearing mid-trial) ends its own session with a clear error; the server goes on.
//
// Two threads. The one that calls Serve accepts connections and runs every handshake at
// once in a poll loop (ServerHandshake: non-blocking, each with a deadline fixed at
// accept), at most max_pending of them (and of authenticated clients waiting): over
// that a connection is closed at once. A poll loop rather than a thread per handshake:
// a handshake is two short messages and an HMAC, so one thread keeps up with a flood,
// and a silent or slow client costs a descriptor and a few hundred bytes, not a stack.
// The session thread, pinned where the receiver is to run, serves one authenticated
// client at a time (one trial at a time: the receiver is pinned, and a second trial
// beside it would disturb the first's figures); a client authenticated meanwhile waits
// up to busy_wait_s for it, then gets the error "busy". Refusals are counted by kind and
// logged at most refusal_lines_per_second lines a second (harness/remote/refusal_log.h).

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "harness/remote/refusal_log.h"
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
  int max_pending = 64;                         // handshakes under way (and clients waiting) at once
  double busy_wait_s = 5;                       // how long a client waits for the session in progress
  int refusal_lines_per_second = 10;            // then one line of what was suppressed
  int max_sessions = 0;                         // 0: serve until stopped
  const std::atomic<bool>* stop = nullptr;      // checked at least every 100 ms
  std::function<void(const std::string&)> log;  // one line per event (default: stderr); from both threads
};

// The bounds' own checks (a usage error naming the flag): max_pending at least 1, the
// handshake timeout positive, the busy wait not negative.
Status CheckServeLimits(const ServeConfig& config);

class RemoteServer {
 public:
  // Binds and listens; the address (with the port chosen) is then in address().
  static Result<RemoteServer> Listen(ServeConfig config);

  const sockaddr_storage& address() const { return address_; }

  // Serves until `stop` is set (then after the session in progress) or max_sessions
  // connections have had their handshake and session. Errors of a session never end the
  // loop; only a failing listener does. Ends with a summary line (sessions, refusals by
  // kind, the most handshakes at once).
  Status Serve();

  // After Serve: the connections that had a handshake (those closed at once, over
  // max_pending, are not sessions), how many of them ended in an error (refusals
  // included), the refusals by kind, and the most handshakes and waiting clients at once.
  int sessions() const { return sessions_; }
  int failed_sessions() const { return failed_; }
  const RefusalLog::Counts& refusals() const { return refusals_; }
  int peak_pending() const { return peak_pending_; }

 private:
  RemoteServer(ServeConfig config, UniqueFd listener, sockaddr_storage address)
      : config_(std::move(config)), listener_(std::move(listener)), address_(address) {}
  struct SessionLine;
  // An authenticated client's session, on the session thread; whether it ended well.
  bool ServeSession(int fd, const sockaddr_storage& peer);
  Status Session(int fd, const sockaddr_storage& peer);
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
  int trials_ = 0;  // the session thread's
  RefusalLog::Counts refusals_{};
  int peak_pending_ = 0;
};

}  // namespace zcb
