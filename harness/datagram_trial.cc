#include "harness/datagram_trial.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <future>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "drivers/network_path.h"
#include "harness/measured_window.h"
#include "harness/probes/cpu_accounting.h"
#include "harness/sender_side.h"
#include "harness/trial_common.h"
#include "stack/datagram_receiver.h"
#include "stack/payload.h"
#include "stack/unique_fd.h"

namespace zcb {
namespace {

using Clock = TrialClock;

struct Shared {
  explicit Shared(const std::atomic<bool>* cancel) : gate(2, cancel) {}
  WindowGate gate;
  std::promise<sockaddr_storage> listening;  // the receiver's bound address
  Clock::time_point sender_end{};  // when the sender's last send returned
  DatagramEnd end;  // the sender's count, for the receiver to know when it has them all
};

uint32_t NewFlowId() {
  std::random_device rd;
  uint32_t id = 0;
  while (id == 0) id = rd();
  return id;
}

void ReceiverThread(const ResolvedTrial& trial, NetworkPath& path, DatagramReceiver& receiver, Shared& shared,
                    SideOutcome& out) {
  out.tid = CurrentTid();
  UniqueFd sock;
  bool published = false;
  auto setup = [&]() -> Status {
    ZCB_RETURN_IF_ERROR(path.EnterReceiverSide());
    ZCB_RETURN_IF_ERROR(PinThread(trial.spec.receiver_cpu, "receiver"));
    sockaddr_storage addr = path.ReceiverAddress();
    ZCB_ASSIGN_OR_RETURN(sock, receiver.OpenSocket(addr));
    socklen_t len = sizeof addr;
    if (::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) return SysError("UDP receiver: getsockname");
    shared.listening.set_value(addr);
    published = true;
    return OkStatus();
  };
  out.setup = setup();
  if (!out.setup.ok() && !published) {
    shared.listening.set_exception(std::make_exception_ptr(std::runtime_error("receiver set-up failed")));
  }
  if (!shared.gate.Arrive(out.setup)) return;
  const SideCpuMeter cpu(/*io_workers=*/false);
  out.run = receiver.Run(sock.get(), shared.end);
  out.cpu = cpu.Stop();
}

void SenderThread(const ResolvedTrial& trial, NetworkPath& path, Payload& payload, uint32_t flow_id,
                  HostConstraints* constraints, Shared& shared, SideOutcome& out, SendStats& stats) {
  out.tid = CurrentTid();
  const TrialSpec& spec = trial.spec;
  UniqueFd sock;
  std::unique_ptr<SendStrategy> strategy;
  auto setup = [&]() -> Status {
    ZCB_RETURN_IF_ERROR(EnterSenderSide(spec, path, constraints));
    ZCB_ASSIGN_OR_RETURN(const sockaddr_storage addr, AwaitReceiver(shared.listening));
    ZCB_ASSIGN_OR_RETURN(sock, ConnectToReceiver(spec, addr, SOCK_DGRAM, "the receiver"));
    SendContext ctx = NewSendContext(trial, sock.get(), payload);
    ctx.flow_id = flow_id;
    if (auto link = path.link_layer()) {
      LinkEndpoint endpoint;
      endpoint.ifindex = link->sender_ifindex;
      endpoint.source_mac = link->sender_mac;
      endpoint.next_hop_mac = link->next_hop_mac;
      endpoint.mtu = link->mtu;
      ctx.link = endpoint;
    }
    ZCB_ASSIGN_OR_RETURN(strategy, trial.strategy->create(ctx));
    return OkStatus();
  };
  out.setup = setup();
  if (!shared.gate.Arrive(out.setup)) return;

  const SideCpuMeter cpu(/*io_workers=*/true);
  // The sender's rate counts until its last send returned, not its wait for completions.
  out.run = SendPaced(*strategy, payload, spec, shared.gate.window_start(), shared.gate.cancel(), &shared.sender_end);
  if (shared.sender_end == Clock::time_point{}) shared.sender_end = Clock::now();  // failed in the loop
  if (strategy) stats = strategy->stats();
  out.cpu = cpu.Stop();
  // Tell the receiver how many datagrams to expect (or, after a failure, to stop now).
  shared.end.datagrams_sent.store(stats.datagrams, std::memory_order_release);
  if (!out.run.ok()) shared.end.abort.store(true, std::memory_order_release);
  shared.end.sender_done.store(true, std::memory_order_release);
}

double Rate(uint64_t bytes, double seconds) { return seconds > 0 ? static_cast<double>(bytes) * 8 / seconds : 0.0; }

nlohmann::json OptionalJson(const std::optional<uint64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

nlohmann::json RunDatagramTrial(const ResolvedTrial& trial, const TrialContext& context) {
  const TrialSpec& spec = trial.spec;
  nlohmann::json record = NewTrialRecord(trial, context);
  auto finish = [&](const char* status, const std::string& error) {
    record["status"] = status;
    record["error"] = error;
    return record;
  };

  const Availability& availability = ProbeAvailability(*trial.strategy);
  if (!availability.available) return finish("unsupported", availability.reason);
  auto path_info = FindPath(spec.path);
  if (!path_info.ok()) return finish("error", "path: " + path_info.error().ToString());
  if (trial.strategy->caps.needs_link_layer && !(*path_info)->caps.has_link_layer) {
    return finish("unsupported", fmt::format("{} writes Ethernet frames and needs a path with a link layer (an Ethernet "
                                             "device); path {} has none: use a path such as veth",
                                             trial.strategy->name, spec.path));
  }
  if ((*path_info)->caps.remote_receiver) {
    return finish("unsupported", fmt::format("UDP trials run both ends in this process; path {} has its receiver on "
                                             "another host",
                                             spec.path));
  }

  Pattern pattern(spec.seed, spec.pattern_period);
  auto payload = Payload::Create(PayloadConfigFor(trial), pattern);
  if (!payload.ok()) return finish("error", "payload: " + payload.error().ToString());
  const uint32_t flow_id = NewFlowId();
  DatagramReceiverConfig receiver_config;
  receiver_config.mode = spec.receiver;
  receiver_config.gro = spec.gro;
  receiver_config.flow_id = flow_id;
  receiver_config.drain = std::chrono::milliseconds(static_cast<int64_t>(spec.drain_s * 1000));
  auto receiver = DatagramReceiver::Create(receiver_config, pattern);
  if (!receiver.ok()) return finish("error", receiver.error().ToString());
  auto path = CreatePath(spec.path, spec.path_options);
  if (!path.ok()) return finish("error", "path: " + path.error().ToString());
  std::unique_ptr<HostConstraints> constraints;
  if (!spec.constraints.empty()) {
    auto created = HostConstraints::Create(spec.constraints);
    if (!created.ok()) return finish("error", "host constraints: " + created.error().ToString());
    constraints = std::move(*created);
  }

  Shared shared(context.cancel);
  SideOutcome sender_out, receiver_out;
  SendStats send_stats;
  std::thread receiver_thread(ReceiverThread, std::cref(trial), std::ref(**path), std::ref(*receiver), std::ref(shared),
                              std::ref(receiver_out));
  std::thread sender_thread(SenderThread, std::cref(trial), std::ref(**path), std::ref(**payload), flow_id, constraints.get(),
                            std::ref(shared), std::ref(sender_out), std::ref(send_stats));
  const MeasuredWindow window = shared.gate.Run(context, {&sender_thread, &receiver_thread});
  RecordPathAndConstraints(record, **path, constraints.get());

  if (!sender_out.setup.ok()) return finish("error", sender_out.setup.error().ToString());
  if (!receiver_out.setup.ok()) return finish("error", receiver_out.setup.error().ToString());

  const DatagramReceiveStats& rx = receiver->stats();
  const bool verify = spec.receiver == ReceiverMode::kVerify;
  const uint64_t sent = send_stats.datagrams;
  const uint64_t received = rx.datagrams_received;
  const uint64_t lost = sent > received ? sent - received : 0;
  const Clock::time_point last = rx.datagrams_received > 0 ? rx.last_arrival : window.end;
  const double elapsed = std::chrono::duration<double>(last - window.start).count();
  const double sender_elapsed = std::chrono::duration<double>(shared.sender_end - window.start).count();
  // goodput: verify counts what verified; read and discard cannot check, so they count
  // the datagrams that arrived (first copies), as metrics.udp.goodput_counts says.
  const uint64_t good_bytes = verify ? rx.integrity.verified_bytes : rx.unique_bytes;
  nlohmann::json metrics = {
      {"bytes_sent", send_stats.bytes_sent},
      {"bytes_received", rx.unique_bytes},
      {"elapsed_s", elapsed},
      {"goodput_bps", Rate(good_bytes, elapsed)},
      {"send_calls", send_stats.send_calls},
      {"recv_calls", rx.recv_calls},
  };
  metrics["integrity"] = {
      {"mode", ToString(rx.integrity.mode)},
      {"verified_bytes", rx.integrity.verified_bytes},
      {"mismatches", rx.integrity.mismatches},
      // For datagrams: the byte within the first corrupt datagram (first_mismatch_sequence).
      {"first_mismatch_offset", OptionalJson(rx.integrity.first_mismatch_offset)},
      {"first_mismatch_sequence", OptionalJson(rx.first_corrupt_sequence)},
  };
  const nlohmann::json cpu = window.CpuJson(LocalTrialCpu(sender_out, receiver_out), rx.unique_bytes);
  metrics["cpu"] = cpu;
  metrics["payload"] = PayloadJson(trial, **payload, window, send_stats.bytes_sent);
  metrics["zerocopy"] = trial.strategy->caps.reports_zerocopy ? ZeroCopyJson(send_stats.zerocopy) : nlohmann::json(nullptr);
  const double kib_sent = static_cast<double>(send_stats.bytes_sent) / 1024.0;
  nlohmann::json busy_per_kib_sent = nullptr;
  if (cpu["system_wide"].is_object() && kib_sent > 0) busy_per_kib_sent = cpu["system_wide"]["busy_s"].get<double>() * 1e9 / kib_sent;
  metrics["udp"] = {
      {"datagrams_sent", sent},
      {"datagrams_received", received},
      {"lost", lost},
      {"duplicated", rx.duplicated},
      {"reordered", rx.reordered},
      {"stale", rx.stale},
      {"malformed", rx.malformed},
      {"empty", rx.empty},
      {"corrupt", rx.corrupt},
      {"loss_ratio", sent > 0 ? static_cast<double>(lost) / static_cast<double>(sent) : 0.0},
      {"sender_rate_bps", Rate(send_stats.bytes_sent, sender_elapsed)},
      {"receiver_rate_bps", Rate(rx.unique_bytes, elapsed)},
      {"sender_elapsed_s", sender_elapsed},
      {"mean_datagram_bytes", sent > 0 ? static_cast<double>(send_stats.bytes_sent) / static_cast<double>(sent) : 0.0},
      {"bytes_arrived", rx.bytes_received},
      {"goodput_counts", verify ? "verified datagrams (first copies; UDP payload with the 16-byte zcbench header)"
                                : "datagrams received, not checked (first copies; UDP payload with the 16-byte zcbench header)"},
      {"flow_id", flow_id},
      {"gro", spec.gro},
      {"coalesced_buffers", rx.coalesced_buffers},
      {"receive_queue_drops", rx.queue_drops_known ? nlohmann::json(rx.queue_drops) : nlohmann::json(nullptr)},
      {"receive_buffer_bytes", rx.receive_buffer_bytes},
      {"receive_buffer_forced", rx.receive_buffer_forced},
      {"end", rx.all_arrived ? "every datagram sent arrived" : fmt::format("no datagram for the {} s drain", spec.drain_s)},
      {"busy_ns_per_kib_sent", busy_per_kib_sent},
      {"sender_thread_ns_per_kib_sent", kib_sent > 0 ? nlohmann::json(sender_out.cpu.thread_s * 1e9 / kib_sent) : nlohmann::json(nullptr)},
  };
  ReportProbes(context, SummarizeWindow(trial, elapsed, rx.unique_bytes, send_stats, sender_out.tid, receiver_out.tid),
               window, metrics);
  record["metrics"] = metrics;

  if (!sender_out.run.ok()) return finish("error", sender_out.run.error().ToString());
  if (!receiver_out.run.ok()) return finish("error", receiver_out.run.error().ToString());
  if (!BreaksReuseRuleOnPurpose(trial)) {
    if (rx.malformed > 0) {
      return finish("error", fmt::format("integrity: {} datagrams did not carry this flow's header (flow id {:#x}) or "
                                         "had a length other than their header says",
                                         rx.malformed, flow_id));
    }
    if (rx.integrity.mismatches > 0) {
      return finish("error", fmt::format("integrity: {} datagrams differ from the pattern ({} bytes), the first is "
                                         "datagram {} from byte {}",
                                         rx.corrupt, rx.integrity.mismatches, rx.first_corrupt_sequence.value_or(0),
                                         rx.integrity.first_mismatch_offset.value_or(0)));
    }
  }
  if (rx.highest_sequence && *rx.highest_sequence >= sent) {
    return finish("error", fmt::format("integrity: a datagram carried sequence number {}, but only {} were sent",
                                       *rx.highest_sequence, sent));
  }
  if (sent > 0 && received == 0) {
    return finish("error", fmt::format("none of the {} datagrams sent arrived (the receiving kernel dropped them all: "
                                       "check its UDP counters, e.g. nstat -az Udp*)",
                                       sent));
  }
  return record;
}

}  // namespace zcb
