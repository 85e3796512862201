#include "harness/trial.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "drivers/network_path.h"
#include "harness/datagram_trial.h"
#include "harness/measured_window.h"
#include "harness/probes/cpu_accounting.h"
#include "harness/sender_side.h"
#include "harness/remote_trial.h"
#include "harness/trial_common.h"
#include "stack/payload.h"
#include "stack/stream_receiver.h"
#include "stack/udp_limits.h"
#include "stack/unique_fd.h"

namespace zcb {
namespace {

using Clock = TrialClock;

// Everything the two threads share: the gate to the window, and the receiver's address.
struct Shared {
  explicit Shared(const std::atomic<bool>* cancel) : gate(2, cancel) {}
  WindowGate gate;
  std::promise<sockaddr_storage> listening;  // the receiver's bound address
};

void ReceiverThread(const ResolvedTrial& trial, NetworkPath& path, StreamReceiver& receiver, Shared& shared,
                    SideOutcome& out) {
  out.tid = CurrentTid();
  UniqueFd listener, conn;
  bool published = false;
  auto setup = [&]() -> Status {
    ZCB_RETURN_IF_ERROR(path.EnterReceiverSide());
    ZCB_RETURN_IF_ERROR(PinThread(trial.spec.receiver_cpu, "receiver"));
    sockaddr_storage addr = path.ReceiverAddress();
    listener.Reset(::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener) return SysError("receiver: socket");
    int one = 1;
    ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), SockaddrLength(addr)) != 0) {
      return SysError(fmt::format("receiver: bind {}", FormatSockaddr(addr)));
    }
    if (::listen(listener.get(), 1) != 0) return SysError("receiver: listen");
    socklen_t len = sizeof addr;
    ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    shared.listening.set_value(addr);
    published = true;
    // Wait in short slices so that a sender that failed its set-up is noticed at once.
    const Clock::time_point give_up = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(trial.spec.receive_timeout_s * 1000));
    for (;;) {
      if (shared.gate.aborted()) return Errorf("receiver: aborted before the sender connected");
      if (Clock::now() >= give_up) return Errorf("receiver: the sender did not connect within {} s", trial.spec.receive_timeout_s);
      pollfd pfd{listener.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 100) > 0) break;
    }
    conn.Reset(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) return SysError("receiver: accept");
    return SetTimeout(conn.get(), SO_RCVTIMEO, trial.spec.receive_timeout_s);
  };
  out.setup = setup();
  if (!out.setup.ok() && !published) {
    shared.listening.set_exception(std::make_exception_ptr(std::runtime_error("receiver set-up failed")));
  }
  if (!shared.gate.Arrive(out.setup)) return;
  const SideCpuMeter cpu(/*io_workers=*/false);
  out.run = receiver.Run(conn.get());
  out.cpu = cpu.Stop();
  if (!out.run.ok()) Abort(conn.get());
}

void SenderThread(const ResolvedTrial& trial, NetworkPath& path, Payload& payload, const StreamReceiver& receiver,
                  HostConstraints* constraints, Shared& shared, SideOutcome& out, SendStats& stats) {
  out.tid = CurrentTid();
  const TrialSpec& spec = trial.spec;
  UniqueFd sock;
  std::unique_ptr<SendStrategy> strategy;
  auto setup = [&]() -> Status {
    ZCB_RETURN_IF_ERROR(EnterSenderSide(spec, path, constraints));
    ZCB_ASSIGN_OR_RETURN(const sockaddr_storage addr, AwaitReceiver(shared.listening));
    ZCB_ASSIGN_OR_RETURN(sock, ConnectToReceiver(spec, addr, SOCK_STREAM, "the receiver"));
    out.tcp_congestion = TcpCongestionJson(sock.get());
    SendContext ctx = NewSendContext(trial, sock.get(), payload);
    if (path.capabilities().local_delivery) ctx.peer_received = &receiver.progress();
    ZCB_ASSIGN_OR_RETURN(strategy, trial.strategy->create(ctx));
    return OkStatus();
  };
  out.setup = setup();
  // (A failed set-up aborts: a receiver waiting for the connection gives up.)
  if (!shared.gate.Arrive(out.setup)) return;

  // The sender owns the io_uring rings: their workers are read while the rings exist.
  const SideCpuMeter cpu(/*io_workers=*/true);
  out.run = SendPaced(*strategy, payload, spec, shared.gate.window_start(), shared.gate.cancel());
  if (strategy) stats = strategy->stats();
  out.cpu = cpu.Stop();
  if (out.run.ok()) {
    ::shutdown(sock.get(), SHUT_WR);
  } else {
    Abort(sock.get());
  }
}

}  // namespace

nlohmann::json ReceiverSettingsJson(const ReceiverSettings& settings) {
  nlohmann::json json = {{"recv_bytes", settings.recv_bytes}, {"rcvlowat", settings.rcvlowat}};
  if (!settings.rcvlowat_reason.empty()) json["rcvlowat_reason"] = settings.rcvlowat_reason;
  return json;
}

nlohmann::json TrialParamsJson(const ResolvedTrial& trial) {
  const TrialSpec& s = trial.spec;
  nlohmann::json options = nlohmann::json::object();
  for (const auto& [k, v] : trial.options.given()) options[k] = v;
  nlohmann::json path_options = nlohmann::json::object();
  for (const auto& [k, v] : s.path_options) path_options[k] = v;
  auto cpu = [](std::optional<int> c) { return c ? nlohmann::json(*c) : nlohmann::json(nullptr); };
  nlohmann::json params = {
      {"protocol", ToString(s.protocol)},
      {"strategy", trial.strategy->name},
      {"path", s.path},
      {"workload", s.workload},
      {"source", ToString(trial.source)},
      {"message_size", s.message_size},
      {"receiver", ToString(s.receiver)},
      {"duration_s", s.duration_s ? nlohmann::json(*s.duration_s) : nlohmann::json(nullptr)},
      {"bytes", s.bytes ? nlohmann::json(*s.bytes) : nlohmann::json(nullptr)},
      {"sender_cpu", cpu(s.sender_cpu)},
      {"receiver_cpu", cpu(s.receiver_cpu)},
      {"seed", s.seed},
      {"rate_bps", s.rate_bps},
      {"pattern_period", s.pattern_period},
      {"working_set", s.working_set ? nlohmann::json(*s.working_set) : nlohmann::json(nullptr)},
      {"page_cache", trial.source == SourceKind::kFile ? (s.cold_cache ? "cold" : "warm") : nlohmann::json(nullptr)},
      {"file_dir", s.file_dir.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.file_dir)},
      {"options", options},
      {"path_options", path_options},
      {"constraints", s.constraints.ToJson()},
  };
  // Every option with its effective value: a default that changes is still on record.
  nlohmann::json option_values = nlohmann::json::object();
  for (const auto& [k, v] : trial.options.values()) option_values[k] = v;
  params["option_values"] = option_values;
  // UDP: the receiver's UDP_GRO changes what is measured (PointKey keeps it).
  if (s.protocol == Protocol::kUdp) {
    params["udp"] = {{"gro", s.gro}, {"drain_s", s.drain_s}};
  } else {
    params["receiver_settings"] = ReceiverSettingsJson(
        StreamReceiver::SettingsFor(s.receiver, !trial.strategy->caps.waits_for_reader));
  }
  return params;
}

nlohmann::json RunTrial(const ResolvedTrial& trial, const TrialContext& context) {
  if (trial.spec.protocol == Protocol::kUdp) return RunDatagramTrial(trial, context);
  static const bool sigpipe_ignored = [] { return ::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
  (void)sigpipe_ignored;
  const TrialSpec& spec = trial.spec;
  nlohmann::json record = NewTrialRecord(trial, context);
  auto finish = [&](const char* status, const std::string& error) {
    record["status"] = status;
    record["error"] = error;
    return record;
  };

  const Availability& availability = ProbeAvailability(*trial.strategy);
  if (!availability.available) return finish("unsupported", availability.reason);

  Pattern pattern(spec.seed, spec.pattern_period);
  auto payload = Payload::Create(PayloadConfigFor(trial), pattern);
  if (!payload.ok()) return finish("error", "payload: " + payload.error().ToString());
  auto path = CreatePath(spec.path, spec.path_options);
  if (!path.ok()) return finish("error", "path: " + path.error().ToString());
  std::unique_ptr<HostConstraints> constraints;
  if (!spec.constraints.empty()) {
    auto created = HostConstraints::Create(spec.constraints);
    if (!created.ok()) return finish("error", "host constraints: " + created.error().ToString());
    constraints = std::move(*created);
  }
  // A receiver on another host: the remote flow (decided by capability, never by name).
  if ((*path)->capabilities().remote_receiver) {
    return RunRemoteTrial(trial, context, **path, **payload, constraints.get(), std::move(record));
  }
  auto receiver = StreamReceiver::Create(spec.receiver, pattern, !trial.strategy->caps.waits_for_reader);
  if (!receiver.ok()) return finish("error", receiver.error().ToString());

  Shared shared(context.cancel);
  SideOutcome sender_out, receiver_out;
  SendStats send_stats;
  std::thread receiver_thread(ReceiverThread, std::cref(trial), std::ref(**path), std::ref(*receiver), std::ref(shared),
                              std::ref(receiver_out));
  std::thread sender_thread(SenderThread, std::cref(trial), std::ref(**path), std::ref(**payload), std::cref(*receiver),
                            constraints.get(), std::ref(shared), std::ref(sender_out), std::ref(send_stats));
  const MeasuredWindow window = shared.gate.Run(context, {&sender_thread, &receiver_thread});
  RecordPathAndConstraints(record, **path, constraints.get());
  record["params"]["tcp_congestion"] = sender_out.tcp_congestion;

  if (!sender_out.setup.ok()) return finish("error", sender_out.setup.error().ToString());
  if (!receiver_out.setup.ok()) return finish("error", receiver_out.setup.error().ToString());

  const ReceiveStats& rx = receiver->stats();
  const Clock::time_point last = rx.bytes_received > 0 ? rx.last_byte : window.end;
  const double elapsed = std::chrono::duration<double>(last - window.start).count();
  nlohmann::json metrics = {
      {"bytes_sent", send_stats.bytes_sent},
      {"bytes_received", rx.bytes_received},
      {"elapsed_s", elapsed},
      {"goodput_bps", elapsed > 0 ? static_cast<double>(rx.bytes_received) * 8 / elapsed : 0.0},
      {"send_calls", send_stats.send_calls},
      {"recv_calls", rx.recv_calls},
  };
  const IntegrityStats& integrity = rx.integrity;
  metrics["integrity"] = {
      {"mode", ToString(integrity.mode)},
      {"verified_bytes", integrity.verified_bytes},
      {"mismatches", integrity.mismatches},
      {"first_mismatch_offset", integrity.first_mismatch_offset ? nlohmann::json(*integrity.first_mismatch_offset) : nlohmann::json(nullptr)},
  };
  if (spec.receiver == ReceiverMode::kZeroCopy) {
    metrics["receive_zerocopy"] = {{"mapped_bytes", rx.mapped_bytes}, {"copied_bytes", rx.copied_bytes}};
  }
  metrics["cpu"] = window.CpuJson(LocalTrialCpu(sender_out, receiver_out), rx.bytes_received);
  metrics["payload"] = PayloadJson(trial, **payload, window, send_stats.bytes_sent);
  metrics["zerocopy"] = trial.strategy->caps.reports_zerocopy ? ZeroCopyJson(send_stats.zerocopy) : nlohmann::json(nullptr);
  metrics["reuse_gate"] = ReuseGateJson(send_stats.peer_gate);
  ReportProbes(context, SummarizeWindow(trial, elapsed, rx.bytes_received, send_stats, sender_out.tid, receiver_out.tid),
               window, metrics);
  record["metrics"] = metrics;

  // The first failure explains the others (a receiver that went away makes the sender fail).
  if (!sender_out.run.ok()) return finish("error", sender_out.run.error().ToString());
  if (!receiver_out.run.ok()) return finish("error", receiver_out.run.error().ToString());
  if (rx.bytes_received != send_stats.bytes_sent) {
    return finish("error", fmt::format("the receiver got {} of the {} bytes sent", rx.bytes_received, send_stats.bytes_sent));
  }
  if (integrity.mismatches > 0) {
    if (!BreaksReuseRuleOnPurpose(trial)) {
      return finish("error", fmt::format("integrity: {} bytes differ from the pattern, the first at stream offset {}",
                                         integrity.mismatches, *integrity.first_mismatch_offset));
    }
  }
  return record;
}

}  // namespace zcb
