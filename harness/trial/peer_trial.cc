// The trial of a peer (peer_trial.h). Set-up, in order: the peer's programs, the path, the
// host constraints, a free port in the receiver's namespace, the peer's server there
// (pinned to the receiver CPU) until it has bound the port, then its client on a thread
// that entered the sender's namespace and cgroup (pinned to the sender CPU). The window
// opens as soon as the client exists, with the probes watching both processes, and closes
// when the client has exited (or was killed at its deadline); the server is then stopped.

#include "harness/trial/peer_trial.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <thread>

#include <fmt/format.h>

#include "drivers/command.h"
#include "drivers/host_constraints.h"
#include "drivers/network_path.h"
#include "harness/peers/peer_process.h"
#include "harness/peers/peer_registry.h"
#include "harness/probes/cpu_accounting.h"
#include "harness/trial/measured_window.h"
#include "stack/unique_fd.h"

namespace zcb {
namespace {

using Clock = std::chrono::steady_clock;

// How long a server may take to bind its port.
constexpr auto kServerReady = std::chrono::seconds(5);
// Beyond the client's run: connecting, a tool's warm-up and its final report.
constexpr double kClientGraceS = 10;
// A server asked to end (SIGTERM) is killed after this long.
constexpr auto kServerStopGrace = std::chrono::milliseconds(1000);
// The tail of the client's output kept in the record.
constexpr size_t kExcerptBytes = 1500;

// Runs `fn` on a thread that first entered the path's receiver or sender side (and, for
// the sender, the host constraints): a process `fn` starts is born in that network
// namespace and cgroup, which fork() copies from the calling thread.
template <typename Fn>
Status OnSide(NetworkPath& path, bool sender, HostConstraints* constraints, Fn&& fn) {
  Status status = OkStatus();
  std::thread thread([&] {
    status = sender ? path.EnterSenderSide() : path.EnterReceiverSide();
    if (status.ok() && sender && constraints != nullptr) status = constraints->EnterSender();
    if (status.ok()) status = fn();
  });
  thread.join();
  return status;
}

int SocketType(Protocol protocol) { return protocol == Protocol::kTcp ? SOCK_STREAM : SOCK_DGRAM; }

// Binds `port` (0: any) on `address`; the bound port, or the error (EADDRINUSE: taken).
Result<uint16_t> Bind(Protocol protocol, const sockaddr_in& address, uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SocketType(protocol) | SOCK_CLOEXEC, 0));
  if (!fd) return SysError("socket");
  sockaddr_in at = address;
  at.sin_port = htons(port);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&at), sizeof at) != 0) return SysError("bind");
  socklen_t length = sizeof at;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&at), &length) != 0) return SysError("getsockname");
  return ntohs(at.sin_port);
}

// The CPUs a process may run on, from /proc (once it has exec'd `program`: the child sets
// its affinity before exec).
std::string CpusAllowed(pid_t pid, const std::string& program) {
  const std::string proc = fmt::format("/proc/{}/", pid);
  const auto deadline = Clock::now() + std::chrono::seconds(1);
  while (Clock::now() < deadline) {
    char exe[4096];
    const ssize_t n = ::readlink((proc + "exe").c_str(), exe, sizeof exe - 1);
    if (n > 0 && std::string(exe, static_cast<size_t>(n)) == program) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::ifstream status(proc + "status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Cpus_allowed_list:", 0) == 0) {
      const size_t value = line.find_first_not_of(" \t", line.find(':') + 1);
      return value == std::string::npos ? "" : line.substr(value);
    }
  }
  return "";
}

std::string Tail(const std::string& text, size_t bytes) {
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

// The command line as the record keeps it: the peer's scratch directory, a fresh temporary
// name per trial that is removed afterwards, as `$WORK_DIR`, so that records of the same
// trial read alike and name nothing of the host's file system but the programs' paths.
std::string RecordedCommand(const std::vector<std::string>& argv, const std::string& work_dir) {
  std::string line = FormatCommand(argv);
  if (work_dir.empty()) return line;
  for (size_t at = line.find(work_dir); at != std::string::npos; at = line.find(work_dir, at + 1))
    line.replace(at, work_dir.size(), kWorkDirPlaceholder);
  return line;
}

nlohmann::json ProcessJson(const std::vector<std::string>& argv, const std::string& work_dir, pid_t pid,
                           const std::string& cpus_allowed, std::optional<int> cpu, const PeerExit& exit) {
  return {{"command_line", RecordedCommand(argv, work_dir)},
          {"pid", pid},
          {"cpu", cpu ? nlohmann::json(*cpu) : nlohmann::json(nullptr)},
          {"cpus_allowed", cpus_allowed},
          {"exit", exit.Describe()},
          {"user_s", exit.user_s},
          {"system_s", exit.system_s}};
}

// "exit 1: <the last of its stderr>" for a failed peer process.
std::string Failure(const char* which, const PeerExit& exit) {
  std::string err = exit.err.empty() ? exit.out : exit.err;
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  return fmt::format("the peer's {} failed ({}): {}", which, exit.Describe(), Tail(err, 500));
}

// metrics.request_response of a peer that reports round trips.
RequestResponseMetrics PeerExchange(const PeerFigures& f, const nlohmann::json& cpu) {
  RequestResponseMetrics r;
  r.transactions = f.transactions.value_or(0);
  r.transactions_per_s = f.transactions_per_s.value_or(0);
  if (f.latency_us) {
    const PeerLatency& l = *f.latency_us;
    r.latency_us = LatencySummary{l.p50, l.p90, l.p99, l.p999, l.mean, l.min, l.max};
  } else {
    r.latency_us_reason = f.latency_source;
  }
  r.latency_source = f.latency_source;
  r.histogram_relative_error = 0;  // the peer's percentiles are its own; no histogram is kept
  if (r.transactions > 0 && cpu.contains("trial_s") && cpu["trial_s"].is_number()) {
    r.cpu_ns_per_transaction = cpu["trial_s"].get<double>() * 1e9 / static_cast<double>(r.transactions);
  } else {
    r.cpu_ns_per_transaction_reason = r.transactions == 0 ? "no transaction completed" : "cpu.trial_s was not measured";
  }
  r.completion_latency_reason = "a peer: its sender lends no buffers that zcbench could time";
  return r;
}

}  // namespace

Status RunPeerTrial(const ResolvedTrial& trial, const TrialContext& context, TrialRecord& record) {
  const PeerTool& peer = *trial.peer;
  const TrialSpec& spec = trial.spec;
  // The programs, in --peer-dir first, then on PATH (a missing one: unsupported, naming both).
  PeerInvocation invocation;
  for (const std::string& program : peer.programs()) {
    auto found = FindPeerProgram(peer, program, spec.peer_dir);
    if (!found.ok()) return Error(0, found.error().what(), ErrorKind::kUnsupported);
    invocation.program_paths[program] = *found;
  }
  ZCB_ASSIGN_OR_RETURN(const PathInfo* path_info, FindPath(spec.path));
  const std::string path_name = spec.path_name.empty() ? spec.path : spec.path_name;
  const auto gaps =
      PeerGaps(peer, spec.protocol, spec.workload, spec.message_size, *path_info, path_name, spec.workload_options);
  if (!gaps.empty()) return Unsupportedf("{}", gaps.front().reason);
  if (!spec.duration_s) return Unsupportedf("peer {} runs for a duration: give --duration, not --bytes", peer.name());
  if (spec.streams != 1 || spec.siblings != 0) {
    return Unsupportedf("peer {} runs one stream and no sibling threads (zcbench's own: --streams, --siblings)",
                        peer.name());
  }

  ZCB_ASSIGN_OR_RETURN(std::unique_ptr<NetworkPath> path, CreatePath(spec.path, spec.path_options));
  std::unique_ptr<HostConstraints> constraints;
  if (!spec.constraints.empty()) {
    ZCB_ASSIGN_OR_RETURN(constraints, HostConstraints::Create(spec.constraints));
  }
  // However the trial ends, the record says what the path and the constraints were.
  struct Describe {
    TrialRecord& record;
    NetworkPath& path;
    HostConstraints* constraints;
    ~Describe() {
      if (constraints != nullptr) constraints->Stop();
      record.path = path.Describe();
      if (constraints != nullptr) record.constraints = constraints->Report();
    }
  } describe{record, *path, constraints.get()};

  const sockaddr_storage receiver = path->ReceiverAddress();
  if (receiver.ss_family != AF_INET)
    return Unsupportedf("peer {}: the path's receiver has no IPv4 address", peer.name());
  const sockaddr_in& receiver_in = reinterpret_cast<const sockaddr_in&>(receiver);
  char address[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &receiver_in.sin_addr, address, sizeof address);

  invocation.protocol = spec.protocol;
  invocation.seed = spec.seed;
  invocation.workload_options = &trial.workload_options;
  invocation.file_dir = spec.file_dir;
  invocation.address = address;
  invocation.message_size = spec.message_size;
  invocation.duration_s = *spec.duration_s;
  ZCB_RETURN_IF_ERROR(OnSide(*path, /*sender=*/false, nullptr, [&]() -> Status {
    ZCB_ASSIGN_OR_RETURN(invocation.port, Bind(spec.protocol, receiver_in, 0));
    return OkStatus();
  }));
  // What the peer makes before its server starts (nginx_wrk: its configuration and the
  // file set), removed when the trial returns, after the server has stopped.
  ZCB_ASSIGN_OR_RETURN(std::unique_ptr<PeerPreparation> prepared, peer.Prepare(invocation));
  PeerCommands commands = peer.Commands(invocation);
  commands.server[0] = invocation.program_paths.at(commands.server[0]);
  commands.client[0] = invocation.program_paths.at(commands.client[0]);

  // The server, in the receiver's namespace, until it holds the port.
  std::optional<PeerProcess> server;
  std::string server_cpus;
  ZCB_RETURN_IF_ERROR(OnSide(*path, /*sender=*/false, nullptr, [&]() -> Status {
    ZCB_ASSIGN_OR_RETURN(PeerProcess started, PeerProcess::Start(commands.server, spec.receiver_cpu));
    server.emplace(std::move(started));
    server_cpus = CpusAllowed(server->pid(), commands.server[0]);
    for (const auto deadline = Clock::now() + kServerReady;;) {
      auto bound = Bind(spec.protocol, receiver_in, invocation.port);
      if (!bound.ok() && bound.error().errno_value() == EADDRINUSE) return OkStatus();
      if (Clock::now() >= deadline) {
        return Errorf("the peer's server '{}' did not bind port {} within {} s",
                      RecordedCommand(commands.server, invocation.work_dir), invocation.port,
                      std::chrono::duration_cast<std::chrono::seconds>(kServerReady).count());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }));

  // The client, in the sender's namespace and cgroup; the window opens once it exists.
  std::promise<Result<std::pair<pid_t, std::string>>> started;
  PeerExit client_exit;
  const double client_bound_s = commands.client_run_s + kClientGraceS;
  std::thread client_thread([&] {
    std::optional<PeerProcess> client;
    Status entered = OnSide(*path, /*sender=*/true, constraints.get(), [&]() -> Status {
      ZCB_ASSIGN_OR_RETURN(PeerProcess process, PeerProcess::Start(commands.client, spec.sender_cpu));
      client.emplace(std::move(process));
      return OkStatus();
    });
    if (!entered.ok()) {
      started.set_value(entered.error());
      return;
    }
    started.set_value(std::make_pair(client->pid(), CpusAllowed(client->pid(), commands.client[0])));
    client_exit = client->Wait(
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(client_bound_s)));
  });
  auto client_started = started.get_future().get();
  if (!client_started.ok()) {
    client_thread.join();
    return std::move(client_started).error().Context("the peer's client");
  }
  const auto [client_pid, client_cpus] = *client_started;
  const MeasuredWindow window = RunMeasuredWindow(
      context, /*measure=*/true, {static_cast<int>(server->pid()), static_cast<int>(client_pid)},
      [](TrialClock::time_point) {}, [&] { client_thread.join(); });
  const pid_t server_pid = server->pid();
  const PeerExit server_exit = server->Stop(kServerStopGrace);

  nlohmann::json peer_json = {
      {"tool", peer.programs().front()},
      {"entry", peer.name()},
      {"label", peer.label()},
      {"sends_with", peer.capabilities().sends_with},
      {"server",
       ProcessJson(commands.server, invocation.work_dir, server_pid, server_cpus, spec.receiver_cpu, server_exit)},
      {"client",
       ProcessJson(commands.client, invocation.work_dir, client_pid, client_cpus, spec.sender_cpu, client_exit)},
      {"output_excerpt", Tail(client_exit.out, kExcerptBytes)},
  };
  if (client_exit.timed_out) {
    return Errorf("the peer's client '{}' did not finish within {} s and was killed",
                  RecordedCommand(commands.client, invocation.work_dir), client_bound_s);
  }
  if (client_exit.exit_code != 0) return Errorf("{}", Failure("client", client_exit));
  auto parsed = peer.Parse(client_exit.out, invocation);
  if (!parsed.ok()) return std::move(parsed).error().Context(RecordedCommand(commands.client, invocation.work_dir));
  PeerFigures& figures = *parsed;
  if (figures.version.empty() && prepared != nullptr) figures.version = prepared->version();
  peer_json["version"] = figures.version.empty() ? nlohmann::json(nullptr) : nlohmann::json(figures.version);
  if (figures.version.empty()) peer_json["version_reason"] = "the tool's output does not state its version";
  peer_json["parsed"] = figures.parsed;
  if (prepared != nullptr) peer_json["prepared"] = prepared->Report();
  peer_json["goodput_source"] = figures.goodput_source;
  peer_json["not_measured"] = {{"zerocopy", "the peer's sender reports no zero-copy completions"},
                               {"send_calls", "the peer does not report its system calls (metrics.send_calls is 0)"},
                               {"integrity", "the peer's own receiver took the bytes; zcbench did not see them"}};

  TrialMetrics m;
  m.bytes_sent = figures.bytes;
  m.bytes_received = figures.bytes;
  m.elapsed_s = figures.elapsed_s;
  m.goodput_bps = figures.goodput_bps;
  m.integrity_not_verified = true;
  m.integrity_reason = "the peer's own receiver took the bytes; zcbench did not see them";
  m.payload = nullptr;

  // CPU: the peer processes' user and system time (wait4), whole processes from exec to
  // exit, in the places of the sender's and receiver's thread clocks; the network softirq
  // work outside them as the probes see it; /proc/stat system-wide.
  TrialCpuParts parts;
  parts.sender_thread_s = client_exit.user_s + client_exit.system_s;
  parts.receiver_thread_s = server_exit.user_s + server_exit.system_s;
  parts.omits = {
      "the peer processes' CPU is their rusage (wait4): tick-sampled at the kernel's HZ, not nanosecond thread "
      "clocks, and whole processes from exec to exit (their start-up, and the server's time before and after the "
      "window, included)"};
  nlohmann::json probed = {{"cpu", window.CpuJson(parts, figures.bytes)}};
  WindowSummary summary{figures.elapsed_s, figures.bytes, figures.bytes, static_cast<int>(client_pid),
                        static_cast<int>(server_pid)};
  summary.protocol = spec.protocol;
  summary.source = peer.capabilities().source;
  summary.receiver_mode = ReceiverMode::kRead;  // a peer's receiver reads into its buffer
  summary.caps = trial.strategy->caps;
  for (WindowProbe* probe : context.probes) probe->Report(summary, probed);
  if (!window.probe_errors.empty()) probed["probe_errors"] = window.probe_errors;
  FinishTrialCpu(probed, figures.bytes);
  m.cpu = std::move(probed["cpu"]);
  probed.erase("cpu");
  // zcbench's own process over the window, all of it: the peer ran in other processes.
  m.cpu["other_threads_s"] = static_cast<double>(window.process_cpu_after_ns - window.process_cpu_before_ns) * 1e-9;
  m.cpu["method"] = "peer_process_rusage";
  m.cpu["ns_per_kib_source"] =
      "the peer's client and server processes' user and system time (wait4 rusage, tick-sampled), plus NET_RX and "
      "NET_TX softirq time on the trial's CPUs not run on those processes (softirq_time probe, ns)";
  if (figures.transactions) m.request_response = PeerExchange(figures, m.cpu);
  probed["peer"] = std::move(peer_json);
  m.probe_results = std::move(probed);
  record.metrics = std::move(m);
  return OkStatus();
}

}  // namespace zcb
