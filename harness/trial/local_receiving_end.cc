// The receiving ends whose receiver is a thread of this process: a TCP StreamReceiver
// behind a listening socket, or a UDP DatagramReceiver on a bound socket. Both step into
// the path's receiver side and pin their thread before they bind.

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <future>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/trial/receiving_end.h"
#include "harness/trial/trial_sockets.h"
#include "harness/trial/trial_threads.h"
#include "stack/stream_receiver.h"
#include "stack/unique_fd.h"

namespace zcb {
namespace {

// The receiver thread, the same for streams and datagrams: path side, CPU, a socket
// bound to the path's receiver address (published to the sender), then the receive.
class LocalEnd : public ReceivingEnd {
 public:
  LocalEnd(const ResolvedTrial& trial, NetworkPath& path) : trial_(trial), path_(path) {}

  bool runs_here() const override { return true; }
  const char* name() const override { return "the receiver"; }
  Status Prepare() override { return OkStatus(); }
  const Status& receiver_setup() const override { return setup_; }

  void ReceiverThread(WindowGate& gate) override {
    tid_ = CurrentTid();
    bool published = false;
    auto setup = [&]() -> Status {
      ZCB_RETURN_IF_ERROR(path_.EnterReceiverSide());
      ZCB_RETURN_IF_ERROR(PinThread(trial_.spec.receiver_cpu, "receiver"));
      sockaddr_storage addr = path_.ReceiverAddress();
      ZCB_RETURN_IF_ERROR(Open(addr));
      listening_.set_value(addr);
      published = true;
      return AwaitSender(gate);
    };
    setup_ = setup();
    if (!setup_.ok() && !published) {
      listening_.set_exception(std::make_exception_ptr(std::runtime_error("receiver set-up failed")));
    }
    if (!gate.Arrive(setup_)) return;
    const SideCpuMeter cpu(/*io_workers=*/false);
    run_ = Receive();
    cpu_ = cpu.Stop();
  }

  Result<sockaddr_storage> Address() override {
    try {
      return listening_.get_future().get();
    } catch (...) {
      return Errorf("sender: the receiver could not be set up");
    }
  }

 protected:
  // Opens the receiver's socket bound to `addr`, and sets `addr` to the bound address.
  virtual Status Open(sockaddr_storage& addr) = 0;
  // After the address is published, before the window: waits for the sender if needed.
  virtual Status AwaitSender(const WindowGate& gate) = 0;
  virtual Status Receive() = 0;

  // The receiver thread's part of the figures.
  ReceivedFigures WithThread(ReceivedFigures figures) const {
    figures.receiver_thread_s = cpu_.thread_s;
    figures.receiver_tid = tid_;
    figures.run = run_;
    figures.socket_options = socket_options_;
    return figures;
  }

  // The receiver's socket options: set on its socket before bind (a listener's are
  // inherited by the connection it accepts), read back from the socket it receives on.
  Status SetReceiverOptions(int fd, int type, const std::map<std::string, std::string>& options) {
    return SetSocketOptions(fd, SocketSide::kReceiver, type == SOCK_DGRAM ? Protocol::kUdp : Protocol::kTcp, options);
  }
  Status ReadReceiverOptions(int fd, int type) {
    ZCB_ASSIGN_OR_RETURN(socket_options_, ReadBackSocketOptions(fd, type, SocketSide::kReceiver, trial_.spec.socket_options,
                                                                "the receiving socket"));
    return OkStatus();
  }

  const ResolvedTrial& trial_;
  NetworkPath& path_;

 private:
  std::promise<sockaddr_storage> listening_;  // the receiver's bound address
  Status setup_ = OkStatus();
  Status run_ = OkStatus();
  SideCpu cpu_;
  int tid_ = 0;
  std::vector<AppliedSocketOption> socket_options_;
};

class LocalStreamEnd final : public LocalEnd {
 public:
  LocalStreamEnd(const ResolvedTrial& trial, NetworkPath& path, StreamReceiver receiver)
      : LocalEnd(trial, path), receiver_(std::move(receiver)) {}

  Status PrepareSender(int /*fd*/, SendContext& context) override {
    // Strategies that gate buffer reuse on the peer's progress may read the receiver's.
    if (path_.capabilities().local_delivery) context.peer_received = &receiver_.progress();
    return OkStatus();
  }

  Status EndFlow(int fd, const SendStats& /*stats*/, Status run) override {
    if (run.ok()) {
      ::shutdown(fd, SHUT_WR);
    } else {
      Abort(fd);
    }
    return run;
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
  Status Open(sockaddr_storage& addr) override {
    listener_.Reset(::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener_) return SysError("receiver: socket");
    int one = 1;
    ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ZCB_RETURN_IF_ERROR(SetReceiverOptions(listener_.get(), SOCK_STREAM, trial_.spec.socket_options));
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), SockaddrLength(addr)) != 0) {
      return SysError(fmt::format("receiver: bind {}", FormatSockaddr(addr)));
    }
    if (::listen(listener_.get(), 1) != 0) return SysError("receiver: listen");
    socklen_t len = sizeof addr;
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    return OkStatus();
  }

  Status AwaitSender(const WindowGate& gate) override {
    // Wait in short slices so that a sender that failed its set-up is noticed at once.
    const double timeout_s = trial_.spec.receive_timeout_s;
    const TrialClock::time_point give_up = TrialClock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    for (;;) {
      if (gate.aborted()) return Errorf("receiver: aborted before the sender connected");
      if (TrialClock::now() >= give_up) return Errorf("receiver: the sender did not connect within {} s", timeout_s);
      pollfd pfd{listener_.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 100) > 0) break;
    }
    conn_.Reset(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn_) return SysError("receiver: accept");
    ZCB_RETURN_IF_ERROR(ReadReceiverOptions(conn_.get(), SOCK_STREAM));
    return SetTimeout(conn_.get(), SO_RCVTIMEO, timeout_s);
  }

  Status Receive() override {
    Status run = receiver_.Run(conn_.get());
    if (!run.ok()) Abort(conn_.get());
    return run;
  }

 private:
  StreamReceiver receiver_;
  UniqueFd listener_, conn_;
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
    if (::getsockname(sock_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) return SysError("UDP receiver: getsockname");
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
  ZCB_ASSIGN_OR_RETURN(StreamReceiver receiver,
                       StreamReceiver::Create(trial.spec.receiver, setup.pattern, !trial.strategy->caps.waits_for_reader));
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
      {"local stream", /*remote=*/false, Protocol::kTcp, {ReceiverExpectation::kPatternStream}, CreateLocalStreamEnd},
      {"local datagram", /*remote=*/false, Protocol::kUdp, {ReceiverExpectation::kPatternStream}, CreateLocalDatagramEnd},
  };
}

}  // namespace zcb
