#pragma once

// What the receiving ends whose receiver is a thread of this process share: the receiver
// thread (the path's receiver side, the CPU pin, a socket bound to the path's receiver
// address and published to the sender, the window, the receive), and the TCP listener
// the stream ends accept their sender on. The ends themselves: local_receiving_end.cc
// (a stream, datagrams), local_exchange_end.cc (the client of a request/response exchange).

#include <sys/socket.h>

#include <atomic>
#include <future>
#include <map>
#include <string>
#include <vector>

#include "harness/trial/receiving_end.h"
#include "stack/socket_options.h"
#include "stack/unique_fd.h"

namespace zcb {

// The receiver thread, the same for every local end: path side, CPU, a socket bound to
// the path's receiver address (published to the sender), then the receive.
class LocalEnd : public ReceivingEnd {
 public:
  LocalEnd(const ResolvedTrial& trial, NetworkPath& path) : trial_(trial), path_(path) {}

  bool runs_here() const override { return true; }
  const char* name() const override { return "the receiver"; }
  Status Prepare() override { return OkStatus(); }
  const Status& receiver_setup() const override { return setup_; }

  void ReceiverThread(WindowGate& gate) override;
  Result<sockaddr_storage> Address() override;

 protected:
  // Opens the receiver's socket bound to `addr`, and sets `addr` to the bound address.
  virtual Status Open(sockaddr_storage& addr) = 0;
  // After the address is published, before the window: waits for the sender if needed.
  virtual Status AwaitSender(const WindowGate& gate) = 0;
  virtual Status Receive() = 0;

  // The receiver thread's part of the figures.
  ReceivedFigures WithThread(ReceivedFigures figures) const;

  // The receiver's socket options: set on its socket before bind (a listener's are
  // inherited by the connection it accepts), read back from the socket it receives on.
  Status SetReceiverOptions(int fd, int type, const std::map<std::string, std::string>& options);
  Status ReadReceiverOptions(int fd, int type);

  const ResolvedTrial& trial_;
  NetworkPath& path_;
  // Valid in Receive(): the window's start and the trial's cancel flag.
  TrialClock::time_point window_start_{};
  const std::atomic<bool>* cancel_ = nullptr;

 private:
  std::promise<sockaddr_storage> listening_;  // the receiver's bound address
  Status setup_ = OkStatus();
  Status run_ = OkStatus();
  SideCpu cpu_;
  int tid_ = 0;
  std::vector<AppliedSocketOption> socket_options_;
};

// A local end that receives a TCP connection: listens on the path's address, accepts the
// sender (giving up when the sender's set-up failed or after receive_timeout) and sets
// the receive timeout on the connection, `conn_`.
class LocalListeningEnd : public LocalEnd {
 public:
  using LocalEnd::LocalEnd;

  // The sender's side ends the stream: a shutdown when its run went well, a reset when not
  // (the receiver then stops at once).
  Status EndFlow(int fd, const SendStats& stats, Status run) override;

 protected:
  Status Open(sockaddr_storage& addr) override;
  Status AwaitSender(const WindowGate& gate) override;

  // Another connection from the sender (a connection per request), accepted within the
  // receive timeout, with the receive timeout set on it.
  Result<UniqueFd> AcceptNext();

  UniqueFd conn_;

 private:
  // Waits for a connection on the listener until `give_up` (or `gate`, when given, aborts).
  Status AwaitConnection(TrialClock::time_point give_up, const WindowGate* gate);

  UniqueFd listener_;
};

// The client of a request/response exchange (local_exchange_end.cc).
Result<std::unique_ptr<ReceivingEnd>> CreateLocalExchangeEnd(const ReceivingEndSetup& setup);

}  // namespace zcb
