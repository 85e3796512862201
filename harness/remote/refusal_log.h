#pragma once

// What `zcbench serve` refuses, counted by kind and logged without filling the disk: at
// most `lines_per_second` refusal lines each second, then, when that second is over, one
// line saying how many more were suppressed and from which addresses. A flood of silent,
// slow or wrong-token connections costs a few lines a second, whatever its size.

#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace zcb {

enum class RefusalKind {
  kOverLimit,   // accepted and closed at once: the bound on pending handshakes was reached
  kTimeout,     // the handshake was not over by its deadline (silent or slow clients)
  kClosed,      // the client hung up before the handshake was over
  kMalformed,   // a message that is not the protocol's (framing, JSON, type, nonce)
  kVersion,     // another protocol or another version of it
  kWrongToken,  // a proof that does not match the token
  kBusy,        // authenticated while another client's session ran, for longer than it may wait
};
inline constexpr size_t kRefusalKinds = 7;

// "over_limit", "timeout", "closed", "malformed", "version", "wrong_token", "busy".
const char* RefusalName(RefusalKind kind);

class RefusalLog {
 public:
  using Clock = std::chrono::steady_clock;
  using Counts = std::array<uint64_t, kRefusalKinds>;

  RefusalLog(std::function<void(const std::string&)> log, int lines_per_second);

  // Counts the refusal, and logs "PEER: refused (KIND): WHY" unless this second's lines
  // are spent.
  void Refused(RefusalKind kind, const sockaddr_storage& peer, const std::string& why, Clock::time_point now);
  // Ends the second once it is over: the line of what was suppressed in it, if anything
  // was. Call it at least once a second; Refused calls it too.
  void Tick(Clock::time_point now);

  const Counts& counts() const { return counts_; }
  uint64_t total() const;
  uint64_t suppressed() const { return suppressed_total_; }
  // "N refused (a wrong_token, b timeout, ...)", kinds with a count only; "none refused".
  std::string Summary() const;

 private:
  std::function<void(const std::string&)> log_;
  int lines_per_second_;
  Clock::time_point second_start_{};
  int lines_this_second_ = 0;
  std::map<std::string, uint64_t> suppressed_by_host_;  // this second's, by address
  uint64_t suppressed_total_ = 0;
  Counts counts_{};
};

}  // namespace zcb
