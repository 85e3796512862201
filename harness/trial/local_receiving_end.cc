// The receiving ends whose receiver is a thread of this process: a TCP StreamReceiver
// behind a listening socket, or a UDP DatagramReceiver on a bound socket (the client of a
// request/response exchange is local_exchange_end.cc). All step into the path's receiver
// side and pin their thread before they bind (local_end.h).

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>

#include "harness/trial/local_end.h"
#include "harness/trial/trial_sockets.h"
#include "harness/trial/trial_threads.h"
#include "stack/stream_receiver.h"
#include "stack/unique_fd.h"

namespace zcb {
namespace {

// How long a stalled receiver (receiver_stall_after) holds its connection before it gives
// up itself: four of the sender's timeouts and 5 s, far beyond any sender that notices.
double StalledReceiverBound(double receive_timeout_s) { return 4 * receive_timeout_s + 5; }

class LocalStreamEnd final : public LocalListeningEnd {
 public:
  LocalStreamEnd(const ResolvedTrial& trial, NetworkPath& path, StreamReceiver receiver)
      : LocalListeningEnd(trial, path), receiver_(std::move(receiver)) {}

  Status PrepareSender(int /*fd*/, SendContext& context) override {
    // Strategies that gate buffer reuse on the peer's progress may read the receiver's.
    if (path_.capabilities().local_delivery) context.peer_received = &receiver_.progress();
    return OkStatus();
  }

  ReceivedFigures Collect(const SenderOutcome& /*sender*/, const MeasuredWindow& window) override {
    const ReceiveStats& rx = receiver_.stats();
    ReceivedFigures figures;
    figures.bytes_received = rx.bytes_received;
    figures.goodput_bytes = rx.bytes_received;
    figures.recv_calls = rx.recv_calls;
    figures.integrity = IntegrityMetrics::Of(rx.integrity);
    if (trial_.spec.receiver == ReceiverMode::kZeroCopy) {
      figures.receive_zerocopy = ReceiveZeroCopyMetrics{rx.mapped_bytes, rx.copied_bytes};
    }
    figures.last_delivery = rx.bytes_received > 0 ? rx.last_byte : window.end;
    return WithThread(std::move(figures));
  }

 protected:
  Status Receive() override {
    Status run = receiver_.Run(conn_.get());
    if (run.ok() && receiver_.stopped_reading()) run = Stall();
    if (!run.ok()) Abort(conn_.get());
    return run;
  }

 private:
  // The injected fault (receiver_stall_after): the connection stays open, unread, until
  // the sender gives up on it (its reset or close), the trial is cancelled, or a bound far
  // beyond the sender's own timeout passes, which only a sender blocked for good reaches.
  Status Stall() {
    const auto stalled_at = TrialClock::now();
    const double bound_s = StalledReceiverBound(trial_.spec.receive_timeout_s);
    const auto give_up =
        stalled_at + std::chrono::duration_cast<TrialClock::duration>(std::chrono::duration<double>(bound_s));
    const uint64_t received = receiver_.stats().bytes_received;
    for (;;) {
      pollfd pfd{conn_.get(), POLLRDHUP, 0};
      const int ready = ::poll(&pfd, 1, 20);
      if (ready < 0 && errno != EINTR) return SysError("receiver: poll while stalled");
      if (ready > 0 || (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed))) break;
      if (TrialClock::now() >= give_up) {
        return Errorf(
            "receiver: stopped reading after {} bytes (receiver_stall_after, an injected fault), and the sender was "
            "still connected {} s later: it did not give up within its timeout",
            received, bound_s);
      }
    }
    return Errorf(
        "receiver: stopped reading after {} bytes (receiver_stall_after, an injected fault); the sender "
        "ended the connection {:.1f} s later",
        received, std::chrono::duration<double>(TrialClock::now() - stalled_at).count());
  }

  StreamReceiver receiver_;
};

class LocalDatagramEnd final : public LocalEnd {
 public:
  LocalDatagramEnd(const ResolvedTrial& trial, NetworkPath& path, DatagramReceiver receiver, uint32_t flow_id)
      : LocalEnd(trial, path), receiver_(std::move(receiver)), flow_id_(flow_id) {}

  Status PrepareSender(int /*fd*/, SendContext& context) override {
    context.flow_id = flow_id_;
    return OkStatus();
  }

  // Nothing tells a UDP receiver where the flow ends: the sender's count does.
  Status EndFlow(int /*fd*/, const SendStats& stats, Status run) override {
    end_.datagrams_sent.store(stats.datagrams, std::memory_order_release);
    if (!run.ok()) end_.abort.store(true, std::memory_order_release);
    end_.sender_done.store(true, std::memory_order_release);
    return run;
  }

  ReceivedFigures Collect(const SenderOutcome& /*sender*/, const MeasuredWindow& window) override {
    const DatagramReceiveStats& rx = receiver_.stats();
    ReceivedFigures figures = DatagramReceivedFigures(rx, flow_id_, trial_.spec.receiver);
    figures.last_delivery = rx.datagrams_received > 0 ? rx.last_arrival : window.end;
    return WithThread(std::move(figures));
  }

 protected:
  Status Open(sockaddr_storage& addr) override {
    ZCB_ASSIGN_OR_RETURN(sock_, receiver_.OpenSocket(addr));
    // The UDP receiver sizes its own queue (DatagramReceiverConfig::receive_buffer,
    // SO_RCVBUFFORCE where allowed; metrics.udp says which): rcvbuf is that size
    // (ReceiveBufferFor), not set a second time over it.
    ZCB_RETURN_IF_ERROR(SetReceiverOptions(sock_.get(), SOCK_DGRAM, WithoutReceiveBuffer(trial_.spec.socket_options)));
    ZCB_RETURN_IF_ERROR(ReadReceiverOptions(sock_.get(), SOCK_DGRAM));
    socklen_t len = sizeof addr;
    if (::getsockname(sock_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      return SysError("UDP receiver: getsockname");
    return OkStatus();
  }
  Status AwaitSender(const WindowGate& /*gate*/) override { return OkStatus(); }
  Status Receive() override { return receiver_.Run(sock_.get(), end_); }

 private:
  DatagramReceiver receiver_;
  uint32_t flow_id_;
  UniqueFd sock_;
  DatagramEnd end_;  // the sender's count, for the receiver to know when it has them all
};

// A stream of pattern bytes, every byte checked by StreamReceiver (verify mode; the other
// modes read without checking, as the record's integrity.mode says).
Result<std::unique_ptr<ReceivingEnd>> CreateLocalStreamEnd(const ReceivingEndSetup& setup) {
  const ResolvedTrial& trial = setup.trial;
  const LowWaterRequest low_water{trial.spec.rcvlowat, !trial.strategy->caps.waits_for_reader};
  ZCB_ASSIGN_OR_RETURN(StreamReceiver receiver, StreamReceiver::Create(trial.spec.receiver, setup.pattern, low_water));
  if (trial.spec.receiver_stall_after) receiver.StopReadingAfter(*trial.spec.receiver_stall_after);
  return std::unique_ptr<ReceivingEnd>(std::make_unique<LocalStreamEnd>(trial, setup.path, std::move(receiver)));
}

// Pattern datagrams of one flow, each checked and counted by DatagramReceiver.
Result<std::unique_ptr<ReceivingEnd>> CreateLocalDatagramEnd(const ReceivingEndSetup& setup) {
  const TrialSpec& spec = setup.trial.spec;
  DatagramReceiverConfig config;
  config.mode = spec.receiver;
  config.gro = spec.gro;
  config.receive_buffer = ReceiveBufferFor(spec.socket_options, config.receive_buffer);
  config.flow_id = NewFlowId();
  config.drain = std::chrono::milliseconds(static_cast<int64_t>(spec.drain_s * 1000));
  ZCB_ASSIGN_OR_RETURN(DatagramReceiver receiver, DatagramReceiver::Create(config, setup.pattern));
  return std::unique_ptr<ReceivingEnd>(
      std::make_unique<LocalDatagramEnd>(setup.trial, setup.path, std::move(receiver), config.flow_id));
}

}  // namespace

std::vector<ReceivingEndKind> LocalReceivingEnds() {
  return {
      {"local stream",
       ReceiverSite::kHere,
       Protocol::kTcp,
       {ReceiverExpectation::kPatternStream},
       CreateLocalStreamEnd},
      {"local datagram",
       ReceiverSite::kHere,
       Protocol::kUdp,
       {ReceiverExpectation::kPatternStream},
       CreateLocalDatagramEnd},
      {"local exchange",
       ReceiverSite::kHere,
       Protocol::kTcp,
       {ReceiverExpectation::kRequestResponse, ReceiverExpectation::kHttpResponses},
       CreateLocalExchangeEnd},
  };
}

}  // namespace zcb
