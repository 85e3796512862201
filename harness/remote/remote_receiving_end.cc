// The receiving ends behind a path whose receiver runs on another host (capabilities
// remote_receiver): `zcbench serve` there sets a receiver up for each trial, the sender
// here sends to the address it answers with, and the receiver's figures (bytes,
// integrity, datagram counts, its CPU) come back over the path's control connection
// (drivers/remote/messages.h).

#include <sys/socket.h>

#include <fmt/format.h>

#include "drivers/remote/messages.h"
#include "drivers/remote/remote_receiver.h"
#include "harness/remote/remote_request.h"
#include "harness/trial/receiving_end.h"
#include "harness/trial/trial_sockets.h"

namespace zcb {
namespace {

// The peer's receiver times out on its own after receive_timeout_s of silence; the
// client waits that long plus this margin for the result before declaring it lost.
constexpr double kResultMarginS = 5;

class RemoteEnd : public ReceivingEnd {
 public:
  RemoteEnd(const ResolvedTrial& trial, RemoteReceiver& remote) : trial_(trial), remote_(remote) {}

  bool runs_here() const override { return false; }
  const char* name() const override { return "the remote receiver"; }

  Status Prepare() override {
    ZCB_ASSIGN_OR_RETURN(address_, remote_.BeginTrial(MakeTrialRequest(trial_.spec, flow_id())));
    return OkStatus();
  }

  // The receiver runs on the peer: no thread here.
  void ReceiverThread(WindowGate& /*gate*/) override {}
  const Status& receiver_setup() const override { return setup_; }
  Result<sockaddr_storage> Address() override { return address_; }

  ReceivedFigures Collect(const SenderOutcome& sender, const MeasuredWindow& window) override {
    auto result = remote_.FinishTrial(trial_.spec.receive_timeout_s + kResultMarginS);
    const nlohmann::json* peer = result.ok() ? &(*result)["metrics"] : nullptr;
    ReceivedFigures figures;
    if (peer != nullptr) {
      if (auto read = ReadFigures(*peer); read.ok()) {
        figures = std::move(*read);
      } else {
        figures.run = std::move(read).error().Context("remote receiver at " + remote_.PeerName());
      }
    }
    // The receiver's socket options as the peer read them back from its socket.
    if (peer != nullptr && peer->contains("socket_options")) {
      auto options = AppliedSocketOptionsFromJson((*peer)["socket_options"], kRemoteReceiver);
      if (options.ok()) {
        figures.socket_options = std::move(*options);
      } else if (figures.run.ok()) {
        figures.run = std::move(options).error().Context("remote receiver at " + remote_.PeerName());
      }
    }
    // The sender learned that the flow ended at `sender.end`: the receiver's end, up to
    // half a round trip, on this host's clock.
    figures.last_delivery = sender.end > window.start ? sender.end : TrialClock::now();
    figures.receiver_on_this_host = false;
    const nlohmann::json peer_cpu = peer != nullptr && peer->contains("cpu") ? (*peer)["cpu"] : nlohmann::json(nullptr);
    if (peer_cpu.is_object()) {
      figures.receiver_thread_s = peer_cpu["receiver_thread_s"].get<double>();
    } else {
      figures.cpu_omits.push_back("the receiver thread's CPU time (the peer sent none)");
    }
    figures.cpu_omits.push_back("network softirq work on the receiver's host outside its receiver thread");
    figures.receiver_host_cpu = peer_cpu;
    RemoteMetrics peer_metrics{remote_.PeerName(), std::nullopt, nullptr};
    if (peer != nullptr && peer->contains("receive_s") && (*peer)["receive_s"].is_number()) {
      peer_metrics.receive_s = (*peer)["receive_s"].get<double>();
    }
    if (peer != nullptr && peer->contains("host")) peer_metrics.host = (*peer)["host"];
    figures.remote = std::move(peer_metrics);

    if (!result.ok()) {
      std::string why = result.error().ToString();
      if (!sender.run.ok()) why = sender.run.error().ToString() + "; " + why;
      figures.lost = Errorf("lost the remote receiver at {} during the trial: {}", remote_.PeerName(), why);
    } else if ((*result)["status"] != "ok") {
      const nlohmann::json& e = (*result)["error"];
      figures.run =
          Errorf("remote receiver at {}: {}", remote_.PeerName(), e.is_string() ? e.get<std::string>() : "failed");
    }
    return figures;
  }

 protected:
  // What the request needs beyond what every trial asks for.
  // The flow id the request carries (UDP: the one in each datagram's header).
  virtual uint32_t flow_id() const = 0;
  // The received figures in the peer's result (checked by ValidateResultMetrics).
  virtual Result<ReceivedFigures> ReadFigures(const nlohmann::json& peer) const = 0;

  const ResolvedTrial& trial_;
  RemoteReceiver& remote_;

 private:
  Status setup_ = OkStatus();
  sockaddr_storage address_{};
};

class RemoteStreamEnd final : public RemoteEnd {
 public:
  using RemoteEnd::RemoteEnd;

  Status PrepareSender(int fd, SendContext& /*context*/) override {
    // The receiving application is in another process: strategies that gate buffer
    // reuse on the peer's progress fall back to what TCP acknowledged. The sender waits
    // for the receiver's close after its last byte; this bounds the wait.
    return SetTimeout(fd, SO_RCVTIMEO, trial_.spec.receive_timeout_s);
  }

  Status EndFlow(int fd, const SendStats& /*stats*/, Status run) override {
    if (!run.ok()) {
      Abort(fd);
      return run;
    }
    // The receiver closes its end once it has read everything: that EOF marks the end
    // of the window as the receiver saw it, up to half a round trip.
    ::shutdown(fd, SHUT_WR);
    return AwaitReceiverClose(fd);
  }

 protected:
  uint32_t flow_id() const override { return 0; }

  Result<ReceivedFigures> ReadFigures(const nlohmann::json& peer) const override {
    ReceivedFigures figures;
    figures.bytes_received = peer["bytes_received"].get<uint64_t>();
    figures.goodput_bytes = *figures.bytes_received;
    figures.recv_calls = peer["recv_calls"].get<uint64_t>();
    ZCB_ASSIGN_OR_RETURN(figures.integrity, IntegrityMetrics::FromJson(peer["integrity"], "result.integrity"));
    return figures;
  }
};

class RemoteDatagramEnd final : public RemoteEnd {
 public:
  RemoteDatagramEnd(const ResolvedTrial& trial, RemoteReceiver& remote)
      : RemoteEnd(trial, remote), flow_id_(NewFlowId()) {}

  Status PrepareSender(int /*fd*/, SendContext& context) override {
    context.flow_id = flow_id_;
    return OkStatus();
  }

  // Nothing tells a UDP receiver where the flow ends: the count, sent over the control
  // connection, does (or, after a failure, that it should stop now).
  Status EndFlow(int /*fd*/, const SendStats& stats, Status run) override {
    Status told = remote_.EndDatagrams(stats.datagrams, !run.ok());
    if (!run.ok()) return run;
    return told;
  }

 protected:
  uint32_t flow_id() const override { return flow_id_; }

  Result<ReceivedFigures> ReadFigures(const nlohmann::json& peer) const override {
    auto it = peer.find("datagrams");
    if (it == peer.end()) return Errorf("result: no 'datagrams' counts for a UDP trial");
    ZCB_ASSIGN_OR_RETURN(const DatagramReceiveStats stats, remote::DatagramStatsFromJson(*it));
    return DatagramReceivedFigures(stats, flow_id_, trial_.spec.receiver);
  }

 private:
  uint32_t flow_id_;
};

Result<RemoteReceiver*> PeerOf(NetworkPath& path) {
  RemoteReceiver* remote = path.remote();
  if (remote == nullptr) return Errorf("path {} declares a remote receiver but offers none", path.name());
  return remote;
}

Result<std::unique_ptr<ReceivingEnd>> CreateRemoteStreamEnd(const ReceivingEndSetup& setup) {
  ZCB_ASSIGN_OR_RETURN(RemoteReceiver * remote, PeerOf(setup.path));
  return std::unique_ptr<ReceivingEnd>(std::make_unique<RemoteStreamEnd>(setup.trial, *remote));
}

Result<std::unique_ptr<ReceivingEnd>> CreateRemoteDatagramEnd(const ReceivingEndSetup& setup) {
  ZCB_ASSIGN_OR_RETURN(RemoteReceiver * remote, PeerOf(setup.path));
  return std::unique_ptr<ReceivingEnd>(std::make_unique<RemoteDatagramEnd>(setup.trial, *remote));
}

}  // namespace

// The request names the workload and its options; the server makes the workload from its
// own registry and checks its expectation with its receivers (remote_server.cc). What
// these ends check is what the result message can carry back: integrity and counts of a
// pattern stream or pattern datagrams.
// zcbench serve runs one session at a time, and a session one trial of one data
// connection (or flow) at a time: N streams would need N sessions at once, which control
// protocol version 2 does not have.
constexpr std::string_view kOneRemoteStream =
    "zcbench serve receives one stream at a time (one trial, one data connection or flow per session, one session "
    "at a time in control protocol version 2)";

std::vector<ReceivingEndKind> RemoteReceivingEnds() {
  return {
      {"remote stream",
       ReceiverSite::kRemote,
       Protocol::kTcp,
       {ReceiverExpectation::kPatternStream},
       CreateRemoteStreamEnd,
       StreamSharing::kOneStream,
       kOneRemoteStream},
      {"remote datagram",
       ReceiverSite::kRemote,
       Protocol::kUdp,
       {ReceiverExpectation::kPatternStream},
       CreateRemoteDatagramEnd,
       StreamSharing::kOneStream,
       kOneRemoteStream},
  };
}

}  // namespace zcb
