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

#include "workloads/request_server.h"
#include "workloads/workloads.h"

namespace zcb {
namespace {

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

  // The server: answers each request with the next piece of the pattern stream.
  Status Send(const WorkloadSend& send, TrialClock::time_point* sends_done) override {
    const Exchange x = *exchange(send.schedule);
    return ServeRequests(
        send, x, "request_response server",
        [&](uint64_t sequence, uint64_t length) -> Status {
          const uint64_t offset = x.ResponseOffset(sequence);
          ZCB_RETURN_IF_ERROR(send.payload->BeforeSend(offset));
          return send.strategy->Send(offset, length);
        },
        sends_done);
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
