#include "harness/remote_trial.h"

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "drivers/remote_receiver.h"
#include "harness/measured_window.h"
#include "harness/probes/cpu_accounting.h"
#include "harness/sender_side.h"
#include "harness/trial.h"
#include "harness/trial_common.h"
#include "stack/unique_fd.h"

namespace zcb {
namespace {

using Clock = TrialClock;

// The peer's receiver times out on its own after receive_timeout_s of silence; the
// client waits that long plus this margin for the result before declaring it lost.
constexpr double kResultMarginS = 5;

struct SenderOutcome {
  Status setup = OkStatus();
  Status run = OkStatus();
  SideCpu cpu;
  int tid = 0;
  Clock::time_point end{};  // when the receiver closed the stream: the last byte was in
  SendStats stats;
  nlohmann::json tcp_congestion;  // TcpCongestionJson of the sending socket
};

// After SHUT_WR: the receiver closes its end once it has read everything; that EOF
// marks the end of the window as the receiver saw it, up to half a round trip.
Status AwaitReceiverClose(int fd) {
  char byte;
  for (;;) {
    ssize_t n = ::recv(fd, &byte, 1, 0);
    if (n == 0) return OkStatus();
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysError("waiting for the remote receiver to finish reading");
    // The receiver never sends on the data connection: ignore and keep waiting.
  }
}

void SenderThread(const ResolvedTrial& trial, NetworkPath& path, Payload& payload,
                  HostConstraints* constraints, const sockaddr_storage& data_addr, WindowGate& gate, SenderOutcome& out) {
  out.tid = CurrentTid();
  const TrialSpec& spec = trial.spec;
  UniqueFd sock;
  std::unique_ptr<SendStrategy> strategy;
  auto setup = [&]() -> Status {
    ZCB_RETURN_IF_ERROR(EnterSenderSide(spec, path, constraints));
    ZCB_ASSIGN_OR_RETURN(sock, ConnectToReceiver(spec, data_addr, SOCK_STREAM, "the remote receiver"));
    out.tcp_congestion = TcpCongestionJson(sock.get());
    ZCB_RETURN_IF_ERROR(SetTimeout(sock.get(), SO_RCVTIMEO, spec.receive_timeout_s));
    SendContext ctx = NewSendContext(trial, sock.get(), payload);
    // The receiving application is in another process: strategies that gate buffer
    // reuse on the peer's progress fall back to what TCP acknowledged.
    ctx.peer_received = nullptr;
    ZCB_ASSIGN_OR_RETURN(strategy, trial.strategy->create(ctx));
    return OkStatus();
  };
  out.setup = setup();
  if (!gate.Arrive(out.setup)) return;
  const SideCpuMeter cpu(/*io_workers=*/true);
  out.run = SendPaced(*strategy, payload, spec, gate.window_start(), gate.cancel());
  out.stats = strategy->stats();
  if (out.run.ok()) {
    ::shutdown(sock.get(), SHUT_WR);
    out.run = AwaitReceiverClose(sock.get());
  } else {
    Abort(sock.get());
  }
  out.end = Clock::now();
  out.cpu = cpu.Stop();
}

}  // namespace

nlohmann::json RunRemoteTrial(const ResolvedTrial& trial, const TrialContext& context, NetworkPath& path, Payload& payload,
                              HostConstraints* constraints, nlohmann::json record) {
  const TrialSpec& spec = trial.spec;
  auto finish = [&](const char* status, const std::string& error) {
    record["status"] = status;
    record["error"] = error.empty() ? nlohmann::json(nullptr) : nlohmann::json(error);
    record["path"] = path.Describe();
    if (constraints != nullptr) record["constraints"] = constraints->Report();
    return record;
  };
  RemoteReceiver* remote = path.remote();
  if (remote == nullptr) return finish("error", fmt::format("path {} declares a remote receiver but offers none", path.name()));
  if (spec.protocol != Protocol::kTcp) {
    return finish("unsupported", "the remote path carries TCP streams; zcbench serve has no UDP receiver");
  }
  remote::TrialRequest request;
  request.protocol = spec.protocol;
  request.receiver = spec.receiver;
  request.seed = spec.seed;
  request.pattern_period = spec.pattern_period;
  request.message_size = spec.message_size;
  request.receive_timeout_s = spec.receive_timeout_s;
  auto data_addr = remote->BeginTrial(request);
  if (!data_addr.ok()) return finish("error", data_addr.error().ToString());

  WindowGate gate(1, context.cancel);
  SenderOutcome out;
  std::thread sender(SenderThread, std::cref(trial), std::ref(path), std::ref(payload), constraints,
                     std::cref(*data_addr), std::ref(gate), std::ref(out));
  const MeasuredWindow measured = gate.Run(context, {&sender});
  if (constraints != nullptr) constraints->Stop();
  // The peer's receiver is left waiting for a data connection that never comes; it
  // gives up on its own. This path's control session ends with the path.
  if (!out.setup.ok()) return finish("error", out.setup.error().ToString());

  auto result = remote->FinishTrial(spec.receive_timeout_s + kResultMarginS);
  const nlohmann::json* peer = result.ok() ? &(*result)["metrics"] : nullptr;
  const Clock::time_point end = out.end > measured.start ? out.end : Clock::now();
  const double elapsed = std::chrono::duration<double>(end - measured.start).count();
  const uint64_t received = peer != nullptr ? (*peer)["bytes_received"].get<uint64_t>() : 0;
  nlohmann::json metrics = {
      {"bytes_sent", out.stats.bytes_sent},
      {"bytes_received", peer != nullptr ? nlohmann::json(received) : nlohmann::json(nullptr)},
      {"elapsed_s", elapsed},
      {"goodput_bps", peer != nullptr && elapsed > 0 ? static_cast<double>(received) * 8 / elapsed : 0.0},
      {"send_calls", out.stats.send_calls},
      {"recv_calls", peer != nullptr ? (*peer)["recv_calls"] : nlohmann::json(nullptr)},
      {"integrity", peer != nullptr ? (*peer)["integrity"] : nlohmann::json(nullptr)},
  };
  const nlohmann::json peer_cpu = peer != nullptr && peer->contains("cpu") ? (*peer)["cpu"] : nlohmann::json(nullptr);
  TrialCpuParts parts;
  parts.sender_thread_s = out.cpu.thread_s;
  parts.sender = out.cpu;
  parts.receiver_on_this_host = false;
  if (peer_cpu.is_object()) {
    parts.receiver_thread_s = peer_cpu["receiver_thread_s"].get<double>();
  } else {
    parts.omits.push_back("the receiver thread's CPU time (the peer sent none)");
  }
  parts.omits.push_back("network softirq work on the receiver's host outside its receiver thread");
  metrics["cpu"] = measured.CpuJson(parts, received);
  metrics["payload"] = PayloadJson(trial, payload, measured, out.stats.bytes_sent);
  // System-wide figures above are this (the sender's) host's; the receiver's host's own:
  metrics["cpu"]["receiver_host"] = peer_cpu;
  metrics["zerocopy"] = trial.strategy->caps.reports_zerocopy ? ZeroCopyJson(out.stats.zerocopy) : nlohmann::json(nullptr);
  metrics["reuse_gate"] = ReuseGateJson(out.stats.peer_gate);
  metrics["remote"] = {
      {"peer", remote->PeerName()},
      {"receive_s", peer != nullptr && peer->contains("receive_s") ? (*peer)["receive_s"] : nlohmann::json(nullptr)},
      {"host", peer != nullptr && peer->contains("host") ? (*peer)["host"] : nlohmann::json(nullptr)},
  };
  WindowSummary summary = SummarizeWindow(trial, elapsed, received, out.stats, out.tid, 0);
  summary.receiver_local = false;
  ReportProbes(context, summary, measured, metrics);
  record["metrics"] = metrics;
  // The remote receiver may wait for low-water: this sender's gate asks TCP, not it.
  record["params"]["receiver_settings"] = ReceiverSettingsJson(StreamReceiver::SettingsFor(trial.spec.receiver, true));
  record["params"]["tcp_congestion"] = out.tcp_congestion;

  if (!result.ok()) {
    std::string why = result.error().ToString();
    if (!out.run.ok()) why = out.run.error().ToString() + "; " + why;
    return finish("error", fmt::format("lost the remote receiver at {} during the trial: {}", remote->PeerName(), why));
  }
  if (!out.run.ok()) return finish("error", out.run.error().ToString());
  if ((*result)["status"] != "ok") {
    const nlohmann::json& e = (*result)["error"];
    return finish("error", fmt::format("remote receiver at {}: {}", remote->PeerName(), e.is_string() ? e.get<std::string>() : "failed"));
  }
  if (received != out.stats.bytes_sent) {
    return finish("error", fmt::format("the remote receiver got {} of the {} bytes sent", received, out.stats.bytes_sent));
  }
  const uint64_t mismatches = (*peer)["integrity"]["mismatches"].get<uint64_t>();
  if (mismatches > 0) {
    if (!BreaksReuseRuleOnPurpose(trial)) {
      const nlohmann::json& first = (*peer)["integrity"]["first_mismatch_offset"];
      return finish("error", fmt::format("integrity: {} bytes differ from the pattern, the first at stream offset {}", mismatches,
                                         first.is_number() ? first.dump() : "unknown"));
    }
  }
  return finish("ok", "");
}

}  // namespace zcb
