#include "harness/remote/remote_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "drivers/interface_info.h"
#include "drivers/network_path.h"
#include "drivers/remote/auth.h"
#include "drivers/remote/framing.h"
#include "drivers/remote/host_port.h"
#include "drivers/remote/messages.h"
#include "drivers/remote/protocol.h"
#include "harness/probes/cpu_accounting.h"
#include "harness/remote/remote_request.h"
#include "harness/remote/server_handshake.h"
#include "harness/trial/receiving_end.h"
#include "harness/trial/trial_record.h"
#include "harness/trial/trial_sockets.h"
#include "harness/trial/trial_threads.h"
#include "stack/datagram_receiver.h"
#include "stack/pattern.h"
#include "stack/stream_receiver.h"
#include "workloads/registry.h"

namespace zcb {
namespace {

using Clock = std::chrono::steady_clock;

// The receiver's interface profile for each result (drivers/remote/messages.h): the
// device this host routes to the client through, read after the receive, outside its
// window (its half a dozen ip/ethtool/tc commands would slow the handshake and the start
// of a trial).
void AddReceiverInterface(const sockaddr_storage& client, nlohmann::json& message) {
  auto device = RouteDevice(remote::FormatHost(client));
  auto profile =
      device.ok() ? DescribeInterface(-1, "", *device, "receiver") : Result<nlohmann::json>(std::move(device).error());
  if (profile.ok()) {
    message["interface"] = std::move(*profile);
  } else {
    message["interface"] = nullptr;
    message["interface_reason"] = profile.error().ToString();
  }
}

bool SameHost(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&a)->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(&b)->sin_addr.s_addr;
  }
  return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(&a)->sin6_addr,
                     &reinterpret_cast<const sockaddr_in6*>(&b)->sin6_addr, sizeof(in6_addr)) == 0;
}

void SetPort(sockaddr_storage& addr, uint16_t port) {
  if (addr.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port = htons(port);
  else reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(port);
}

// Whether the client has closed (or reset) the control connection. Between its last data
// byte and our result a client only waits, so a closed control connection means it
// went away, whatever the data stream's end looked like.
bool ClientHungUp(int control_fd) {
  pollfd p{control_fd, POLLIN | POLLRDHUP, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

Clock::duration Seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// Connections accepted per turn of the poll loop at most.
constexpr int kAcceptBatch = 256;

uint16_t PortOf(const sockaddr_storage& addr) {
  return ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port
                                          : reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
}

}  // namespace

Status CheckServeLimits(const ServeConfig& config) {
  if (config.max_pending < 1) return Usagef("--max-pending {}: expected at least 1", config.max_pending);
  if (!(config.handshake_timeout_s > 0))
    return Usagef("--handshake-timeout {}: expected a positive number of seconds", config.handshake_timeout_s);
  if (!(config.busy_wait_s >= 0)) return Usagef("--busy-wait {}: expected 0 or more seconds", config.busy_wait_s);
  return OkStatus();
}

Result<RemoteServer> RemoteServer::Listen(ServeConfig config) {
  if (config.token.size() < remote::kMinTokenBytes) {
    return Errorf("zcbench serve: the token must be at least {} bytes", remote::kMinTokenBytes);
  }
  ZCB_RETURN_IF_ERROR(CheckServeLimits(config));
  // Both threads log: one line at a time.
  config.log = [log = std::move(config.log), mutex = std::make_shared<std::mutex>()](const std::string& line) {
    std::lock_guard lock(*mutex);
    if (log) {
      log(line);
    } else {
      fmt::print(stderr, "zcbench serve: {}\n", line);
      std::fflush(stderr);
    }
  };
  UniqueFd listener(::socket(config.listen.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listener) return SysError("serve: socket");
  int one = 1;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listener.get(), reinterpret_cast<const sockaddr*>(&config.listen), SockaddrLength(config.listen)) != 0) {
    return SysError(fmt::format("serve: bind {}", FormatSockaddr(config.listen)));
  }
  // A long queue: a burst of connections waits there to be accepted (and counted, and
  // closed if over the bound) rather than having its SYNs dropped.
  if (::listen(listener.get(), SOMAXCONN) != 0) return SysError("serve: listen");
  sockaddr_storage address{};
  socklen_t len = sizeof address;
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &len);
  return RemoteServer(std::move(config), std::move(listener), address);
}

void RemoteServer::Log(const std::string& line) const { config_.log(line); }

// The authenticated clients, in the order they authenticated, and the session thread
// that serves them one at a time.
struct RemoteServer::SessionLine {
  struct Waiting {
    UniqueFd fd;
    sockaddr_storage peer{};
    Clock::time_point give_up;
  };
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Waiting> waiting;
  bool in_session = false;
  bool closing = false;
  int ended = 0, failed = 0;  // sessions the session thread served

  size_t Waiters() {
    std::lock_guard lock(mutex);
    return waiting.size();
  }
  bool Idle() {
    std::lock_guard lock(mutex);
    return waiting.empty() && !in_session;
  }
  void Add(Waiting client) {
    std::lock_guard lock(mutex);
    waiting.push_back(std::move(client));
    wake.notify_one();
  }
  // The clients that waited past their time (all of them once closing).
  std::vector<Waiting> TakeExpired(Clock::time_point now) {
    std::lock_guard lock(mutex);
    std::vector<Waiting> expired;
    while (!waiting.empty() && (closing || waiting.front().give_up <= now)) {
      expired.push_back(std::move(waiting.front()));
      waiting.pop_front();
    }
    return expired;
  }
  void Close() {
    std::lock_guard lock(mutex);
    closing = true;
    wake.notify_one();
  }
  // The session thread: serves each client in turn until closed.
  void Run(const std::function<bool(int fd, const sockaddr_storage& peer)>& serve) {
    std::unique_lock lock(mutex);
    for (;;) {
      wake.wait(lock, [&] { return closing || !waiting.empty(); });
      if (closing) return;
      Waiting next = std::move(waiting.front());
      waiting.pop_front();
      in_session = true;
      lock.unlock();
      const bool ok = serve(next.fd.get(), next.peer);
      next.fd.Reset();
      lock.lock();
      in_session = false;
      ++ended;
      failed += ok ? 0 : 1;
    }
  }
};

Status RemoteServer::Serve() {
  static const bool sigpipe_ignored = [] { return ::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
  (void)sigpipe_ignored;
  SessionLine line;
  std::promise<Status> pinned;
  std::thread session_thread([&] {
    Status pin = PinThread(config_.receiver_cpu, "receiver");
    const bool ok = pin.ok();
    pinned.set_value(std::move(pin));
    if (ok) line.Run([this](int fd, const sockaddr_storage& peer) { return ServeSession(fd, peer); });
  });
  if (Status pin = pinned.get_future().get(); !pin.ok()) {
    session_thread.join();
    return pin;
  }
  Log(fmt::format("listening on {} (control protocol {}/{}; at most {} handshakes at once, each within {} s)",
                  FormatSockaddr(address_), remote::kProtocolName, remote::kProtocolVersion, config_.max_pending,
                  config_.handshake_timeout_s));

  RefusalLog refusals(config_.log, config_.refusal_lines_per_second);
  std::vector<ServerHandshake> pending;
  int admitted = 0, handshakes_failed = 0;
  Clock::time_point accept_paused_until{};
  auto refuse = [&](RefusalKind kind, const sockaddr_storage& peer, const std::string& why) {
    refusals.Refused(kind, peer, why, Clock::now());
  };
  Status failure = OkStatus();
  for (;;) {
    if (config_.stop != nullptr && config_.stop->load()) break;
    const bool all_admitted = config_.max_sessions > 0 && admitted >= config_.max_sessions;
    if (all_admitted && pending.empty() && line.Idle()) break;
    Clock::time_point now = Clock::now();
    // Wake for the listener, every handshake, the nearest deadline, and at least every
    // 100 ms (the stop flag, waiting clients, the refusal log's second).
    std::vector<pollfd> pfds;
    const bool accepting = !all_admitted && now >= accept_paused_until;
    pfds.push_back({accepting ? listener_.get() : -1, POLLIN, 0});
    Clock::time_point wake = now + std::chrono::milliseconds(100);
    for (const auto& h : pending) {
      pfds.push_back({h.fd(), POLLIN | POLLRDHUP, 0});
      wake = std::min(wake, h.deadline());
    }
    const auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(wake - now).count();
    if (::poll(pfds.data(), pfds.size(), static_cast<int>(std::max<int64_t>(wait_ms, 0))) < 0 && errno != EINTR) {
      failure = SysError("serve: poll");
      break;
    }
    now = Clock::now();
    // The handshakes first (the listener's new ones have nothing to read yet).
    std::vector<ServerHandshake> still_pending;
    for (size_t i = 0; i < pending.size(); ++i) {
      ServerHandshake& h = pending[i];
      ServerHandshake::State state = pfds[i + 1].revents != 0 ? h.OnReadable() : ServerHandshake::State::kPending;
      if (state == ServerHandshake::State::kPending && h.ExpireAt(now, config_.handshake_timeout_s))
        state = ServerHandshake::State::kRefused;
      if (state == ServerHandshake::State::kPending) {
        still_pending.push_back(std::move(h));
      } else if (state == ServerHandshake::State::kRefused) {
        ++handshakes_failed;
        refuse(h.refusal()->kind, h.peer(), h.refusal()->why);
      } else {
        Log(fmt::format("{}: authenticated", FormatSockaddr(h.peer())));
        const sockaddr_storage peer = h.peer();
        line.Add({h.Release(), peer, now + Seconds(config_.busy_wait_s)});
      }
    }
    pending = std::move(still_pending);
    for (auto& client : line.TakeExpired(now)) {
      remote::SendError(client.fd.get(), "busy",
                        fmt::format("another client's session is in progress on this server (it runs one trial at a "
                                    "time); waited {} s: try again when it ends",
                                    config_.busy_wait_s));
      ++handshakes_failed;
      refuse(RefusalKind::kBusy, client.peer, "another client's session was in progress");
    }
    // New connections: each starts its handshake, with its deadline from now, unless
    // the bound is reached (then it is closed at once). A bounded batch per turn, so that
    // a flood of connections cannot keep the loop from the handshakes.
    for (int batch = 0; pfds[0].revents != 0 && batch < kAcceptBatch &&
                        !(config_.max_sessions > 0 && admitted >= config_.max_sessions);
         ++batch) {
      sockaddr_storage peer{};
      socklen_t len = sizeof peer;
      UniqueFd conn(::accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
      if (!conn) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: the queued connections wait until handshakes end.
          Log(fmt::format("accept: {}; pausing accepts for 100 ms", std::strerror(errno)));
          accept_paused_until = now + std::chrono::milliseconds(100);
          break;
        }
        failure = SysError("serve: accept");
        break;
      }
      const size_t in_use = pending.size() + line.Waiters();
      if (in_use >= static_cast<size_t>(config_.max_pending)) {
        refuse(RefusalKind::kOverLimit, peer,
               fmt::format("closed at once: {} handshakes and waiting clients already (--max-pending {})", in_use,
                           config_.max_pending));
        continue;
      }
      ++admitted;
      pending.emplace_back(std::move(conn), peer, now + Seconds(config_.handshake_timeout_s), config_.token);
    }
    if (!failure.ok()) break;
    peak_pending_ = std::max(peak_pending_, static_cast<int>(pending.size() + line.Waiters()));
    refusals.Tick(now);
  }

  // Stopping: the handshakes under way are dropped, the waiting clients told, the
  // session in progress ends on its own.
  pending.clear();
  line.Close();
  for (auto& client : line.TakeExpired(Clock::now())) {
    remote::SendError(client.fd.get(), "busy", "the server is stopping");
    ++handshakes_failed;
    refuse(RefusalKind::kBusy, client.peer, "the server is stopping");
  }
  session_thread.join();
  refusals.Tick(Clock::now() + std::chrono::seconds(1));
  sessions_ = admitted;
  failed_ = handshakes_failed + line.failed;
  refusals_ = refusals.counts();
  Log(fmt::format("stopped: {} sessions ({} failed), {} trials; {}; at most {} handshakes and waiting clients at once",
                  sessions_, failed_, trials_, refusals.Summary(), peak_pending_));
  return failure;
}

bool RemoteServer::ServeSession(int fd, const sockaddr_storage& peer) {
  Status session = OkStatus();
  try {
    session = Session(fd, peer);
  } catch (const std::exception& e) {
    // Nothing a client sends may end the server; an unexpected exception ends the session.
    session = Errorf("internal error: {}", e.what());
  }
  if (session.ok()) Log(fmt::format("{}: session ended", FormatSockaddr(peer)));
  else Log(fmt::format("{}: session failed: {}", FormatSockaddr(peer), session.error().ToString()));
  return session.ok();
}

Status RemoteServer::Session(int fd, const sockaddr_storage& peer) {
  ZCB_RETURN_IF_ERROR(SetTimeout(fd, SO_SNDTIMEO, config_.handshake_timeout_s));
  for (;;) {
    ZCB_RETURN_IF_ERROR(SetTimeout(fd, SO_RCVTIMEO, config_.idle_timeout_s));
    auto message = remote::ReadMessage(fd);
    if (!message.ok()) {
      if (remote::PeerClosed(message.error())) return OkStatus();
      remote::SendError(fd, "malformed", message.error().ToString());
      return std::move(message).error();
    }
    const std::string type = (*message)["type"].get<std::string>();
    if (type == "bye") return OkStatus();
    if (type != "trial") {
      remote::SendError(fd, "malformed", "expected 'trial' or 'bye'");
      return Errorf("unexpected message '{}'", type.substr(0, 64));
    }
    ZCB_RETURN_IF_ERROR(RunTrial(fd, peer, *message));
  }
}

// One trial's receive on this side, for the result.
struct RemoteServer::Received {
  Status run = OkStatus();
  nlohmann::json metrics;       // bytes_received, recv_calls, receive_s, integrity (UDP: datagrams)
  uint64_t bytes_received = 0;  // delivered (UDP: first copies), for the CPU figures
  IntegrityStats integrity;     // for the log
  double receiver_cpu_s = 0;    // the receiving thread's CPU time
  // /proc/stat and the process's CPU clock around the receive.
  std::optional<CpuSnapshot> cpu_before, cpu_after;
  uint64_t process_before_ns = 0, process_after_ns = 0;

  void Open() {
    cpu_before = ReadSnapshot();
    process_before_ns = ProcessCpuNs();
  }
  void Close() {
    process_after_ns = ProcessCpuNs();
    cpu_after = ReadSnapshot();
  }

 private:
  static std::optional<CpuSnapshot> ReadSnapshot() {
    auto snapshot = CpuSnapshot::Read();
    return snapshot.ok() ? std::optional<CpuSnapshot>(std::move(*snapshot)) : std::nullopt;
  }
};

Status RemoteServer::RunTrial(int fd, const sockaddr_storage& peer, const nlohmann::json& message) {
  // The request's shape (drivers), then its parameters through the table's parsers and
  // the receiving end's compatibility rules.
  auto request = remote::TrialRequest::FromJson(message);
  Result<TrialSpec> spec = request.ok() ? ReadTrialRequest(*request) : Result<TrialSpec>(std::move(request).error());
  if (!spec.ok()) {
    remote::SendError(fd, "bad-request", spec.error().ToString());
    return std::move(spec).error().Context("trial request");
  }
  // What the receiver is to check: the workload's expectation, from this server's own
  // registry. Its receivers are the local ends' (StreamReceiver, DatagramReceiver), so it
  // checks what they check.
  auto workload = CreateWorkload(spec->workload, spec->workload_options);
  auto receiver = workload.ok() ? ChooseReceivingEnd(LocalReceivingEnds(), ReceiverSite::kHere, spec->protocol,
                                                     (*workload)->expectation(), spec->workload)
                                : Result<const ReceivingEndKind*>(std::move(workload).error());
  if (!receiver.ok()) {
    remote::SendError(fd, "unsupported", receiver.error().ToString());
    return std::move(receiver).error().Context("trial request");
  }
  const uint32_t flow_id = request->flow_id;
  Pattern pattern(spec->seed, spec->pattern_period);
  // The data socket sits on the address the client reached us at.
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) return SysError("getsockname");
  SetPort(local, config_.data_port);

  auto received = spec->protocol == Protocol::kUdp ? ReceiveDatagrams(fd, *spec, flow_id, pattern, local)
                                                   : ReceiveStream(fd, peer, *spec, pattern, local);
  if (!received.ok()) return std::move(received).error();

  nlohmann::json& metrics = received->metrics;
  metrics["host"] = remote::HostIdentity();
  TrialCpuParts parts;
  parts.receiver_thread_s = received->receiver_cpu_s;  // the sender is not on this host
  parts.omits.push_back("the sender's CPU, on the client's host");
  metrics["cpu"] = CpuRecord(received->cpu_before, received->cpu_after, parts,
                             static_cast<double>(received->process_after_ns - received->process_before_ns) * 1e-9,
                             received->bytes_received);
  FinishTrialCpu(metrics, received->bytes_received);
  ++trials_;
  const Status& run = received->run;
  const IntegrityStats& integrity = received->integrity;
  // The stream's end alone does not say the trial was whole (the protocol does not carry
  // the expected length, and a killed client closes its data stream like a finished
  // one): a client that hung up, or cannot take its result, went away mid-trial.
  if (ClientHungUp(fd)) {
    Log(fmt::format("{}: trial {}: the client went away mid-trial after {} bytes ({} verified, {} mismatches)",
                    FormatSockaddr(peer), trials_, received->bytes_received, integrity.verified_bytes,
                    integrity.mismatches));
    return Errorf("the client closed the control connection before the trial's result");
  }
  nlohmann::json reply = {{"type", "result"},
                          {"status", run.ok() ? "ok" : "error"},
                          {"error", run.ok() ? nlohmann::json(nullptr) : nlohmann::json(run.error().ToString())},
                          {"metrics", metrics}};
  AddReceiverInterface(peer, reply);
  Status sent = remote::WriteMessage(fd, reply);
  std::string outcome = run.ok() ? "" : ", error: " + run.error().ToString();
  if (!sent.ok()) outcome += ", the client went away before taking its result: " + sent.error().ToString();
  Log(fmt::format("{}: trial {}: {} bytes received, {} verified, {} mismatches{}", FormatSockaddr(peer), trials_,
                  received->bytes_received, integrity.verified_bytes, integrity.mismatches, outcome));
  return sent;
}

Result<RemoteServer::Received> RemoteServer::ReceiveStream(int fd, const sockaddr_storage& peer, const TrialSpec& spec,
                                                           const Pattern& pattern, sockaddr_storage local) {
  auto receiver = StreamReceiver::Create(spec.receiver, pattern, {spec.rcvlowat});
  if (!receiver.ok()) {
    remote::SendError(fd, "unsupported", receiver.error().ToString());
    return std::move(receiver).error().Context("trial request");
  }
  UniqueFd listener(::socket(local.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener) return SysError("data listener: socket");
  int one = 1;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // The receiver's socket options, before listen (the accepted connection inherits them).
  if (Status set = SetSocketOptions(listener.get(), SocketSide::kReceiver, Protocol::kTcp, spec.socket_options);
      !set.ok()) {
    remote::SendError(fd, "setup", set.error().ToString());
    return std::move(set).error();
  }
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&local), SockaddrLength(local)) != 0 ||
      ::listen(listener.get(), 1) != 0) {
    Error e = SysError(fmt::format("data listener: bind {}", FormatSockaddr(local)));
    remote::SendError(fd, "setup", e.ToString());
    return e;
  }
  socklen_t len = sizeof local;
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&local), &len);
  ZCB_RETURN_IF_ERROR(remote::WriteMessage(fd, {{"type", "ready"}, {"data_port", PortOf(local)}}));

  // Wait for the client's data connection, watching the control connection: a client
  // that goes away (or talks out of turn) before connecting ends the trial at once.
  UniqueFd conn;
  const Clock::time_point give_up =
      Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(spec.receive_timeout_s * 1000));
  while (!conn) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - Clock::now()).count();
    if (left <= 0)
      return Errorf("trial: the client did not connect its data stream within {} s", spec.receive_timeout_s);
    pollfd pfds[2] = {{listener.get(), POLLIN, 0}, {fd, POLLIN, 0}};
    if (::poll(pfds, 2, static_cast<int>(std::min<int64_t>(left, 100))) < 0 && errno != EINTR) return SysError("poll");
    if (pfds[1].revents != 0)
      return Errorf("trial: the client went away (or spoke out of turn) before connecting its data stream");
    if (pfds[0].revents == 0) continue;
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    UniqueFd candidate(::accept4(listener.get(), reinterpret_cast<sockaddr*>(&from), &from_len, SOCK_CLOEXEC));
    if (!candidate) continue;
    if (!SameHost(from, peer)) {
      Log(fmt::format("{}: refused a data connection from {} (not the authenticated client)", FormatSockaddr(peer),
                      FormatSockaddr(from)));
      continue;
    }
    conn = std::move(candidate);
  }
  listener.Reset();
  ZCB_RETURN_IF_ERROR(SetTimeout(conn.get(), SO_RCVTIMEO, spec.receive_timeout_s));
  ZCB_ASSIGN_OR_RETURN(const auto socket_options, ReadBackSocketOptions(conn.get(), SOCK_STREAM, SocketSide::kReceiver,
                                                                        spec.socket_options, kRemoteReceivingSocket));

  Received received;
  received.Open();
  const SideCpuMeter cpu(/*io_workers=*/false);
  received.run = receiver->Run(conn.get());
  received.receiver_cpu_s = cpu.Stop().thread_s;
  received.Close();
  // Closing now tells the sender, which waits for this, that the last byte is in.
  if (!received.run.ok()) Abort(conn.get());
  conn.Reset();

  const ReceiveStats& rx = receiver->stats();
  received.bytes_received = rx.bytes_received;
  received.integrity = rx.integrity;
  received.metrics = {
      {"bytes_received", rx.bytes_received},
      {"recv_calls", rx.recv_calls},
      {"receive_s", rx.bytes_received > 0 ? std::chrono::duration<double>(rx.last_byte - rx.first_byte).count() : 0.0},
      {"integrity", IntegrityMetrics::Of(rx.integrity).ToJson()},
      {"socket_options", AppliedSocketOptionsToJson(socket_options)},
  };
  return received;
}

Result<RemoteServer::Received> RemoteServer::ReceiveDatagrams(int fd, const TrialSpec& spec, uint32_t flow_id,
                                                              const Pattern& pattern, sockaddr_storage local) {
  DatagramReceiverConfig config;
  config.mode = spec.receiver;
  config.gro = spec.gro;
  config.flow_id = flow_id;
  config.drain = std::chrono::milliseconds(static_cast<int64_t>(spec.drain_s * 1000));
  config.receive_buffer = ReceiveBufferFor(spec.socket_options, config.receive_buffer);
  auto receiver = DatagramReceiver::Create(config, pattern);
  if (!receiver.ok()) {
    remote::SendError(fd, "unsupported", receiver.error().ToString());
    return std::move(receiver).error().Context("trial request");
  }
  // Datagrams of another flow (another sender) fail the header check and count as
  // malformed: the flow id stands in for the stream's check of the peer's address.
  auto sock = receiver->OpenSocket(local);
  if (!sock.ok()) {
    remote::SendError(fd, "setup", sock.error().ToString());
    return std::move(sock).error();
  }
  // The receiver's other socket options (its queue is sized above).
  if (Status set = SetSocketOptions(sock->get(), SocketSide::kReceiver, Protocol::kUdp,
                                    WithoutReceiveBuffer(spec.socket_options));
      !set.ok()) {
    remote::SendError(fd, "setup", set.error().ToString());
    return std::move(set).error();
  }
  ZCB_ASSIGN_OR_RETURN(const auto socket_options, ReadBackSocketOptions(sock->get(), SOCK_DGRAM, SocketSide::kReceiver,
                                                                        spec.socket_options, kRemoteReceivingSocket));
  socklen_t len = sizeof local;
  if (::getsockname(sock->get(), reinterpret_cast<sockaddr*>(&local), &len) != 0)
    return SysError("UDP data socket: getsockname");
  ZCB_RETURN_IF_ERROR(remote::WriteMessage(fd, {{"type", "ready"}, {"data_port", PortOf(local)}}));

  // The receiver runs on a thread of its own (pinned as this one is) while this one
  // waits for the client's count on the control connection (or for it to go away,
  // within the session's idle timeout), which tells the receiver when it has them all.
  Received received;
  DatagramEnd end;
  received.Open();
  std::thread receiving([&] {
    const SideCpuMeter cpu(/*io_workers=*/false);
    received.run = receiver->Run(sock->get(), end);
    received.receiver_cpu_s = cpu.Stop().thread_s;
  });
  Status told = OkStatus();
  auto message = remote::ReadMessageOfType(fd, "sent");
  if (message.ok()) {
    auto sent = remote::DatagramsSent::FromJson(*message);
    if (sent.ok()) {
      end.datagrams_sent.store(sent->datagrams, std::memory_order_release);
      if (sent->aborted) end.abort.store(true, std::memory_order_release);
    } else {
      told = std::move(sent).error().Context("'sent'");
    }
  } else {
    told = std::move(message).error();
  }
  if (!told.ok()) end.abort.store(true, std::memory_order_release);
  end.sender_done.store(true, std::memory_order_release);
  receiving.join();
  received.Close();
  if (!told.ok()) {
    remote::SendError(fd, "malformed", told.error().ToString());
    return std::move(told).error().Context("trial: waiting for the client's datagram count");
  }

  const DatagramReceiveStats& rx = receiver->stats();
  received.bytes_received = rx.unique_bytes;
  received.integrity = rx.integrity;
  IntegrityMetrics integrity = IntegrityMetrics::Of(rx.integrity);
  integrity.first_mismatch_sequence = rx.first_corrupt_sequence;
  received.metrics = {
      {"bytes_received", rx.unique_bytes},
      {"recv_calls", rx.recv_calls},
      {"receive_s",
       rx.datagrams_received > 0 ? std::chrono::duration<double>(rx.last_arrival - rx.first_arrival).count() : 0.0},
      {"integrity", integrity.ToJson()},
      {"datagrams", remote::DatagramStatsToJson(rx)},
      {"socket_options", AppliedSocketOptionsToJson(socket_options)},
  };
  return received;
}

}  // namespace zcb
