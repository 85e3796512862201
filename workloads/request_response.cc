// request_response: netperf TCP_RR / sockperf ping-pong. The client (the receiving end)
// writes a request of request_size bytes, the server (the trial's sender thread, here)
// reads it, checks that it carries the expected sequence number, and answers with a
// response of message_size bytes sent through the strategy; the client verifies the whole
// response against the pattern stream and times the transaction. `outstanding` requests
// are kept in flight (netperf's burst), the client may think between a response and its
// next request, and the client ends the exchange (the byte count's transactions, the
// duration, or a cancel) by shutting its side down: the server answers what it read and
// stops at EOF.
//
// The response size is the trial's message size rather than an option of its own: the
// strategy is made for message_size sends (its buffers, rings and batches are sized by
// it), and a message size sweep of this workload is then a response size sweep.

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "workloads/workloads.h"

namespace zcb {
namespace {

constexpr int kPollSliceMs = 100;  // how often a server waiting for a request looks at cancel

class RequestResponseWorkload final : public Workload {
 public:
  RequestResponseWorkload(uint64_t request_size, uint64_t outstanding, std::chrono::microseconds think_time)
      : request_size_(request_size), outstanding_(outstanding), think_time_(think_time) {}

  ReceiverExpectation expectation() const override { return ReceiverExpectation::kRequestResponse; }

  std::optional<Exchange> exchange(const SendSchedule& schedule) const override {
    Exchange x;
    x.request_size = request_size_;
    x.response_size = schedule.message_size;
    x.outstanding = outstanding_;
    x.think_time = think_time_;
    x.bytes = schedule.bytes;
    return x;
  }

  // The server: reads requests until the client's EOF, answering each one in order.
  Status Send(const WorkloadSend& send, TrialClock::time_point* sends_done) override {
    if (send.socket_fd < 0) return Errorf("request_response server: no socket to read requests from");
    const Exchange x = *exchange(send.schedule);
    std::vector<uint8_t> buffer(std::max<uint64_t>(request_size_ * outstanding_, 4096));
    uint64_t sequence = 0;  // the request being read
    uint64_t position = 0;  // its bytes read so far
    uint64_t offset = 0;    // the next response's stream offset
    const auto patience = std::chrono::duration<double>(send.peer_timeout_s > 0 ? send.peer_timeout_s : 10.0);
    TrialClock::time_point last_heard = TrialClock::now();
    Status run = OkStatus();
    for (;;) {
      if (send.cancel != nullptr && send.cancel->load(std::memory_order_relaxed)) break;
      const ssize_t n = ::recv(send.socket_fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n == 0) {
        if (position != 0)
          run = Errorf("request_response server: EOF inside request {} ({} of {} bytes)", sequence, position,
                       request_size_);
        break;
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          run = SysError("request_response server: recv");
          break;
        }
        if (TrialClock::now() - last_heard > patience) {
          // After answering every request read, silence means the client still waits for
          // a response: one the strategy has not handed to the kernel yet.
          run = position == 0 && sequence > 0
                    ? Errorf(
                          "request_response server: no request for {} s after answering {}: the client is still "
                          "waiting for a response, which the strategy holds (a strategy that sends a batch only "
                          "once it is full, e.g. batch > 1, cannot serve one request at a time)",
                          patience.count(), sequence)
                    : Errorf("request_response server: no request for {} s (request {})", patience.count(), sequence);
          break;
        }
        pollfd pfd{send.socket_fd, POLLIN, 0};
        ::poll(&pfd, 1, kPollSliceMs);
        continue;
      }
      last_heard = TrialClock::now();
      for (ssize_t i = 0; i < n && run.ok(); ++i) {
        if (buffer[i] != RequestByte(sequence, position)) {
          run = Errorf(
              "request_response server: request {} byte {} is {:#04x}, expected {:#04x} (a lost, repeated or foreign "
              "request)",
              sequence, position, buffer[i], RequestByte(sequence, position));
          break;
        }
        if (++position < request_size_) continue;
        const uint64_t len = x.ResponseLength(sequence);
        if (len == 0) {
          run = Errorf("request_response server: request {} is beyond the {} transactions the byte count allows",
                       sequence, x.TransactionLimit().value_or(0));
          break;
        }
        run = send.payload->BeforeSend(offset);
        if (run.ok()) run = send.strategy->Send(offset, len);
        offset += len;
        ++sequence;
        position = 0;
      }
      if (!run.ok()) break;
    }
    if (sends_done != nullptr) *sends_done = TrialClock::now();
    Status finish = send.strategy->Finish();
    return run.ok() ? finish : run;
  }

 private:
  uint64_t request_size_;
  uint64_t outstanding_;
  std::chrono::microseconds think_time_;
};

std::vector<OptionSpec> RequestResponseOptions() {
  return {
      OptionSpec{"request_size", OptionType::kSize, "1",
                 "bytes of each request (netperf TCP_RR's default is 1 each way); the response is message_size bytes"}
          .InRange(1, 1 << 20),
      OptionSpec{"outstanding", OptionType::kInt, "1", "requests in flight at once (netperf's burst + 1)"}.InRange(1,
                                                                                                                   256),
      OptionSpec{"think_time_us", OptionType::kInt, "0",
                 "microseconds the client waits between a response and its next request (not part of the latency; at "
                 "most 1 s, well inside the receive timeout the server waits for a request)"}
          .InRange(0, 1'000'000),
  };
}

}  // namespace

WorkloadInfo RequestResponseWorkloadInfo() {
  WorkloadInfo info;
  info.name = "request_response";
  info.summary =
      "netperf TCP_RR / sockperf ping-pong: requests answered with message-size responses through the strategy, every "
      "response verified and timed (latency percentiles, transactions/s)";
  // TCP only for now: a UDP exchange needs its own loss and reordering rules.
  info.needs.protocols = EnumSet<Protocol>{Protocol::kTcp};
  info.needs.sources = AllSourceKinds();
  info.needs.message_boundaries = true;
  info.options = RequestResponseOptions();
  info.create = [](const Options& given) -> Result<std::unique_ptr<Workload>> {
    // Parsed again from what was given, so that defaults are there whoever made `given`.
    ZCB_ASSIGN_OR_RETURN(const Options options,
                         Options::Parse(RequestResponseOptions(), given.given(), "workload request_response"));
    return std::unique_ptr<Workload>(std::make_unique<RequestResponseWorkload>(
        options.GetSize("request_size"), static_cast<uint64_t>(options.GetInt("outstanding")),
        std::chrono::microseconds(options.GetInt("think_time_us"))));
  };
  return info;
}

}  // namespace zcb
