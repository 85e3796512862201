#include "harness/trial/local_end.h"

#include <poll.h>

#include <chrono>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/trial/trial_sockets.h"
#include "harness/trial/trial_threads.h"

namespace zcb {

void LocalEnd::ReceiverThread(WindowGate& gate) {
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
  window_start_ = gate.window_start();
  cancel_ = gate.cancel();
  const SideCpuMeter cpu(/*io_workers=*/false);
  run_ = Receive();
  cpu_ = cpu.Stop();
}

Result<sockaddr_storage> LocalEnd::Address() {
  try {
    return listening_.get_future().get();
  } catch (...) {
    return Errorf("sender: the receiver could not be set up");
  }
}

ReceivedFigures LocalEnd::WithThread(ReceivedFigures figures) const {
  figures.receiver_thread_s = cpu_.thread_s;
  figures.receiver_tid = tid_;
  figures.run = run_;
  figures.socket_options = socket_options_;
  return figures;
}

Status LocalEnd::SetReceiverOptions(int fd, int type, const std::map<std::string, std::string>& options) {
  return SetSocketOptions(fd, SocketSide::kReceiver, type == SOCK_DGRAM ? Protocol::kUdp : Protocol::kTcp, options);
}

Status LocalEnd::ReadReceiverOptions(int fd, int type) {
  ZCB_ASSIGN_OR_RETURN(socket_options_, ReadBackSocketOptions(fd, type, SocketSide::kReceiver,
                                                              trial_.spec.socket_options, "the receiving socket"));
  return OkStatus();
}

Status LocalListeningEnd::Open(sockaddr_storage& addr) {
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

Status LocalListeningEnd::EndFlow(int fd, const SendStats& /*stats*/, Status run) {
  if (run.ok()) {
    ::shutdown(fd, SHUT_WR);
  } else {
    Abort(fd);
  }
  return run;
}

Status LocalListeningEnd::AwaitConnection(TrialClock::time_point give_up, const WindowGate* gate) {
  // Wait in short slices so that a sender that failed its set-up is noticed at once.
  for (;;) {
    if (gate != nullptr && gate->aborted()) return Errorf("receiver: aborted before the sender connected");
    if (TrialClock::now() >= give_up) {
      return Errorf("receiver: the sender did not connect within {} s", trial_.spec.receive_timeout_s);
    }
    pollfd pfd{listener_.get(), POLLIN, 0};
    if (::poll(&pfd, 1, 100) > 0) return OkStatus();
  }
}

Status LocalListeningEnd::AwaitSender(const WindowGate& gate) {
  const double timeout_s = trial_.spec.receive_timeout_s;
  ZCB_RETURN_IF_ERROR(
      AwaitConnection(TrialClock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)), &gate));
  conn_.Reset(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn_) return SysError("receiver: accept");
  ZCB_RETURN_IF_ERROR(ReadReceiverOptions(conn_.get(), SOCK_STREAM));
  return SetTimeout(conn_.get(), SO_RCVTIMEO, timeout_s);
}

Result<UniqueFd> LocalListeningEnd::AcceptNext() {
  const double timeout_s = trial_.spec.receive_timeout_s;
  ZCB_RETURN_IF_ERROR(
      AwaitConnection(TrialClock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)), nullptr));
  UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return SysError("receiver: accept");
  ZCB_RETURN_IF_ERROR(SetTimeout(conn.get(), SO_RCVTIMEO, timeout_s));
  return conn;
}

}  // namespace zcb
