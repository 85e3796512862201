#include "workloads/request_server.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

namespace zcb {
namespace {

constexpr int kPollSliceMs = 100;  // how often a server waiting for a request looks at cancel
constexpr std::chrono::microseconds kErrqueuePause{20};

}  // namespace

Status ServeRequests(const WorkloadSend& send, const Exchange& x, const char* what, const Respond& respond,
                     TrialClock::time_point* sends_done) {
  if (send.socket_fd < 0) return Errorf("{}: no socket to read requests from", what);
  const uint64_t limit = x.TransactionLimit().value_or(UINT64_MAX);
  std::vector<uint8_t> buffer(std::max<uint64_t>(x.request_size * x.outstanding, 4096));
  uint64_t sequence = 0;  // the request being read
  uint64_t position = 0;  // its bytes read so far
  const auto patience = std::chrono::duration<double>(send.peer_timeout_s > 0 ? send.peer_timeout_s : 10.0);
  TrialClock::time_point last_heard = TrialClock::now();
  Status run = OkStatus();
  for (;;) {
    if (send.cancel != nullptr && send.cancel->load(std::memory_order_relaxed)) break;
    const ssize_t n = ::recv(send.socket_fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n == 0) {
      if (position != 0)
        run = Errorf("{}: EOF inside request {} ({} of {} bytes)", what, sequence, position, x.request_size);
      break;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        run = SysError(fmt::format("{}: recv", what));
        break;
      }
      if (TrialClock::now() - last_heard > patience) {
        // After answering every request read, silence means the client still waits for
        // a response: one the strategy has not handed to the kernel yet.
        run = position == 0 && sequence > 0
                  ? Errorf(
                        "{}: no request for {} s after answering {}: the client is still waiting for a response, "
                        "which the strategy holds (a strategy that sends a batch only once it is full, e.g. batch > "
                        "1, cannot serve one request at a time)",
                        what, patience.count(), sequence)
                  : Errorf("{}: no request for {} s (request {})", what, patience.count(), sequence);
        break;
      }
      pollfd pfd{send.socket_fd, POLLIN, 0};
      ::poll(&pfd, 1, kPollSliceMs);
      // Zero-copy notifications a strategy has not reaped yet (one that returned without
      // waiting, unsafe_reuse) keep POLLERR up, which poll() reports whatever is asked:
      // without a pause this loop would spin on the CPU the stack needs.
      if ((pfd.revents & (POLLERR | POLLIN)) == POLLERR) std::this_thread::sleep_for(kErrqueuePause);
      continue;
    }
    last_heard = TrialClock::now();
    for (ssize_t i = 0; i < n && run.ok(); ++i) {
      if (buffer[i] != RequestByte(sequence, position)) {
        run = Errorf("{}: request {} byte {} is {:#04x}, expected {:#04x} (a lost, repeated or foreign request)", what,
                     sequence, position, buffer[i], RequestByte(sequence, position));
        break;
      }
      if (++position < x.request_size) continue;
      const uint64_t len = sequence < limit ? x.ResponseLength(sequence) : 0;
      if (len == 0) {
        run = Errorf("{}: request {} is beyond the {} transactions the byte count allows", what, sequence,
                     x.TransactionLimit().value_or(0));
        break;
      }
      run = respond(sequence, len);
      ++sequence;
      position = 0;
    }
    if (!run.ok()) break;
  }
  if (sends_done != nullptr) *sends_done = TrialClock::now();
  Status finish = send.strategy->Finish();
  return run.ok() ? finish : run;
}

}  // namespace zcb
