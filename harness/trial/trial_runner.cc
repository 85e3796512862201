// The trial runner: one flow for every protocol, path and workload. Check that the
// strategy can run and serve the workload, make the workload, the payload, the path and
// the host constraints, set the receiving end up, run the sender (and a local receiver)
// on their own threads through the measured window (the workload drives the sender), and
// turn what they report into the record. What differs between a local and a remote
// receiver, or a stream and datagrams, is the receiving end's (receiving_end.h).

#include <signal.h>
#include <sys/socket.h>

#include <memory>
#include <thread>

#include <fmt/format.h>

#include "drivers/host_constraints.h"
#include "drivers/network_path.h"
#include "drivers/sysctl_override.h"
#include "harness/probes/cpu_accounting.h"
#include "harness/trial/measured_window.h"
#include "harness/trial/peer_trial.h"
#include "harness/trial/receiving_end.h"
#include "harness/trial/sibling_threads.h"
#include "harness/trial/stream_set.h"
#include "harness/trial/trial.h"
#include "harness/trial/trial_metrics.h"
#include "harness/trial/trial_payload.h"
#include "harness/trial/trial_resolve.h"
#include "harness/trial/trial_sockets.h"
#include "harness/trial/trial_threads.h"
#include "stack/unique_fd.h"
#include "workloads/payload_source.h"
#include "workloads/workload.h"

namespace zcb {
namespace {

// What the strategy is told about the trial: socket, protocol, payload, size, options,
// and the path's link layer for a strategy that writes whole frames.
SendContext NewSendContext(const ResolvedTrial& trial, int socket_fd, Payload& payload, const NetworkPath& path) {
  SendContext ctx;
  ctx.socket_fd = socket_fd;
  ctx.protocol = trial.spec.protocol;
  ctx.payload = &payload;
  ctx.message_size = trial.spec.message_size;
  ctx.options = trial.options;
  if (auto link = path.link_layer()) {
    LinkEndpoint endpoint;
    endpoint.ifindex = link->sender_ifindex;
    endpoint.source_mac = link->sender_mac;
    endpoint.next_hop_mac = link->next_hop_mac;
    endpoint.mtu = link->mtu;
    ctx.link = endpoint;
  }
  return ctx;
}

// When the workload's sends stop and how fast they go.
SendSchedule ScheduleOf(const TrialSpec& spec) {
  return {spec.message_size, spec.bytes, spec.duration_s, spec.rate_bps};
}

void SenderThread(const ResolvedTrial& trial, NetworkPath& path, PayloadSource& payload, Workload& workload,
                  HostConstraints* constraints, ReceivingEnd& end, WindowGate& gate, SenderOutcome& out) {
  out.tid = CurrentTid();
  const TrialSpec& spec = trial.spec;
  const bool stream = spec.protocol == Protocol::kTcp;
  std::unique_ptr<SysctlOverride> optmem;  // put back last, once the socket is closed
  UniqueFd sock;
  std::unique_ptr<SendStrategy> strategy;
  sockaddr_storage receiver_addr{};
  auto setup = [&]() -> Status {
    // The path's sender side (its namespace), the host constraints (the sender's cgroup),
    // then the sender CPU: in that order, since entering a cgroup may move the thread.
    ZCB_RETURN_IF_ERROR(path.EnterSenderSide());
    if (constraints != nullptr) ZCB_RETURN_IF_ERROR(constraints->EnterSender());
    ZCB_RETURN_IF_ERROR(PinThread(spec.sender_cpu, "sender"));
    // In the sender's namespace: the limit its zero-copy notifications are charged to.
    if (spec.optmem_max) {
      ZCB_ASSIGN_OR_RETURN(optmem, SysctlOverride::Set(std::string(kOptmemMax), std::to_string(*spec.optmem_max)));
    }
    out.optmem_max = OptmemMaxJson(optmem.get(), "in the sender's network namespace, once it was set up");
    ZCB_ASSIGN_OR_RETURN(receiver_addr, end.Address());
    const int type = stream ? SOCK_STREAM : SOCK_DGRAM;
    ZCB_ASSIGN_OR_RETURN(
        sock, ConnectToReceiver(receiver_addr, type, spec.receive_timeout_s, end.name(), spec.socket_options));
    ZCB_ASSIGN_OR_RETURN(out.socket_options, ReadBackSocketOptions(sock.get(), type, SocketSide::kSender,
                                                                   spec.socket_options, "the sending socket"));
    if (stream) out.tcp_congestion = TcpCongestionJson(sock.get());
    SendContext ctx = NewSendContext(trial, sock.get(), payload, path);
    ZCB_RETURN_IF_ERROR(end.PrepareSender(sock.get(), ctx));
    ZCB_ASSIGN_OR_RETURN(strategy, trial.strategy->create(ctx));
    return OkStatus();
  };
  out.setup = setup();
  // (A failed set-up aborts: a receiver waiting for the connection gives up.)
  if (!gate.Arrive(out.setup)) return;

  // The sender owns the io_uring rings: their workers are read while the rings exist.
  const SideCpuMeter cpu(/*io_workers=*/true);
  WorkloadSend send;
  send.strategy = strategy.get();
  send.payload = &payload;
  send.schedule = ScheduleOf(spec);
  send.start = gate.window_start();
  send.cancel = gate.cancel();
  send.socket_fd = sock.get();
  send.peer_timeout_s = spec.receive_timeout_s;
  if (stream) {
    // More connections to the same end (a connection per request), made as the first.
    send.connect = [&]() -> Result<UniqueFd> {
      return ConnectToReceiver(receiver_addr, SOCK_STREAM, spec.receive_timeout_s, end.name(), spec.socket_options);
    };
  }
  Status run = workload.Send(send, &out.sends_done);
  if (out.sends_done == TrialClock::time_point{}) out.sends_done = TrialClock::now();  // failed in the loop
  out.stats = strategy->stats();
  out.run = end.EndFlow(sock.get(), out.stats, std::move(run));
  out.end = TrialClock::now();
  out.cpu = cpu.Stop();
}

// The measured part, once the path and the constraints exist: the trial's streams
// (stream_set.h; one unless --streams), each a sender thread and its receiving end.
Status RunThroughPath(const ResolvedTrial& trial, const TrialContext& context, NetworkPath& path,
                      PayloadSource& payload, Workload& workload, const ReceivingEndKind& end_kind,
                      const Pattern& pattern, HostConstraints* constraints, TrialRecord& record) {
  auto make_end = [&](const ResolvedTrial& stream_trial, const Workload& stream_workload) {
    return end_kind.create(ReceivingEndSetup{stream_trial, path, pattern, stream_workload.expectation(),
                                             stream_workload.exchange(ScheduleOf(stream_trial.spec))});
  };
  ZCB_ASSIGN_OR_RETURN(std::unique_ptr<StreamSet> streams,
                       StreamSet::Create(trial, end_kind, payload, workload, pattern, make_end));
  ZCB_RETURN_IF_ERROR(streams->Prepare());

  // The sibling threads run from before the senders start until the window has closed.
  ZCB_ASSIGN_OR_RETURN(std::unique_ptr<SiblingThreads> siblings, SiblingThreads::Start(trial.spec));
  record.params.siblings = siblings->ToJson();

  const MeasuredWindow window = streams->Run(context, [&](TrialStream& stream, WindowGate& gate) {
    SenderThread(stream.trial, path, *stream.payload, *stream.workload, constraints, *stream.end, gate, stream.sender);
  });
  if (constraints != nullptr) constraints->Stop();
  siblings->Stop();
  record.params.siblings = siblings->ToJson();
  const SenderOutcome sender = streams->Senders();
  if (trial.spec.protocol == Protocol::kTcp) record.params.tcp_congestion = sender.tcp_congestion;
  record.params.socket_options = SocketOptionsJson(trial.spec.socket_options, sender.socket_options, kSocketNotSetUp);
  if (!sender.optmem_max.is_null()) record.params.optmem_max = sender.optmem_max;

  ZCB_RETURN_IF_ERROR(sender.setup);
  ZCB_RETURN_IF_ERROR(streams->ReceiverSetup());
  const ReceivedFigures received = streams->Collect(window);
  std::vector<AppliedSocketOption> both = sender.socket_options;
  both.insert(both.end(), received.socket_options.begin(), received.socket_options.end());
  record.params.socket_options = SocketOptionsJson(trial.spec.socket_options, both, kSocketNotSetUp);
  record.metrics = BuildMetrics(trial, context, sender, received, window, payload);
  record.metrics->streams = streams->Metrics(window);
  if (nlohmann::json report = workload.Report(); !report.is_null()) {
    record.metrics->probe_results[trial.workload->name] = WorkloadMetrics(std::move(report), *record.metrics);
  }
  return streams->Judge();
}

Status Run(const ResolvedTrial& trial, const TrialContext& context, TrialRecord& record) {
  const TrialSpec& spec = trial.spec;
  const Availability& availability = ProbeAvailability(*trial.strategy);
  if (!availability.available) return Error(0, availability.reason, ErrorKind::kUnsupported);
  auto path_info = FindPath(spec.path);
  if (!path_info.ok()) return std::move(path_info).error().Context("path");
  // What the path cannot serve (ResolveTrial refused what the request itself gets wrong).
  for (const Incompatibility& gap :
       CheckCompatibility(*trial.strategy, **path_info, spec, trial.source, trial.workload)) {
    if (gap.kind == Incompatibility::Kind::kPath) return Unsupportedf("{}", gap.Message());
  }

  if (trial.workload == nullptr) return Errorf("workload {}: the trial was not resolved (ResolveTrial)", spec.workload);
  const WorkloadInfo& workload_info = *trial.workload;
  if (!workload_info.Serves(*trial.strategy, spec.protocol, trial.source)) {
    return Unsupportedf("workload {} cannot be served by {} over {} from a {} source", workload_info.name,
                        trial.strategy->name, ToString(spec.protocol), ToString(trial.source));
  }
  auto workload = workload_info.create(trial.workload_options);
  if (!workload.ok()) return std::move(workload).error().Context("workload");
  // The receiving end that checks what the workload expects, where the path puts the
  // receiver (unsupported when none can).
  auto end_kind = ChooseReceivingEnd(ReceivingEndKinds(), ReceiverSiteOf((*path_info)->caps), spec.protocol,
                                     (*workload)->expectation(), workload_info.name);
  if (!end_kind.ok()) return std::move(end_kind).error();
  ZCB_RETURN_IF_ERROR(CheckParallelStreams(**end_kind, spec.streams));  // before the path connects to a peer

  Pattern pattern(spec.seed, spec.pattern_period);
  auto payload = PayloadSource::Create(PayloadConfigFor(trial), pattern);
  if (!payload.ok()) return std::move(payload).error().Context("payload");
  // What the workload makes before the window (its files), outside the window and the path.
  if (Status prepared = (*workload)->Prepare(WorkloadSetup{spec.file_dir, &pattern}); !prepared.ok()) {
    return std::move(prepared).error().Context("workload");
  }
  auto path = CreatePath(spec.path, spec.path_options);
  if (!path.ok()) return std::move(path).error().Context("path");
  std::unique_ptr<HostConstraints> constraints;
  if (!spec.constraints.empty()) {
    auto created = HostConstraints::Create(spec.constraints);
    if (!created.ok()) return std::move(created).error().Context("host constraints");
    constraints = std::move(*created);
  }
  Status run =
      RunThroughPath(trial, context, **path, **payload, **workload, **end_kind, pattern, constraints.get(), record);
  // A path changed from outside during the trial (its namespace deleted) measured
  // something other than what the record would describe: the trial fails, naming what
  // went first, since it explains whatever else failed.
  if (Status intact = (*path)->CheckIntact(); !intact.ok()) {
    run = run.ok() ? std::move(intact)
                   : Error(intact.error().errno_value(),
                           fmt::format("{}; {}", intact.error().ToString(), run.error().ToString()));
  }
  // However the trial ended, the record says what the path and the constraints were
  // (offloads read back, qdisc counters as they are now).
  if (constraints != nullptr) constraints->Stop();
  record.path = (*path)->Describe();
  if (constraints != nullptr) record.constraints = constraints->Report();
  return run;
}

}  // namespace

TrialRecord RunTrial(const ResolvedTrial& trial, const TrialContext& context) {
  static const bool sigpipe_ignored = [] { return ::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
  (void)sigpipe_ignored;
  TrialRecord record = NewTrialRecord(trial, context);
  // A peer's own programs run instead of zcbench's sender and receiver.
  Status run = trial.peer != nullptr ? RunPeerTrial(trial, context, record) : Run(trial, context, record);
  if (!run.ok()) record.Fail(run.error());
  return record;
}

}  // namespace zcb
