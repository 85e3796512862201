#include "harness/remote_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "drivers/network_path.h"
#include "drivers/remote_protocol.h"
#include "harness/probes/cpu_accounting.h"
#include "harness/trial_common.h"
#include "stack/pattern.h"
#include "stack/stream_receiver.h"

namespace zcb {
namespace {

using Clock = std::chrono::steady_clock;

bool SameHost(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&a)->sin_addr.s_addr == reinterpret_cast<const sockaddr_in*>(&b)->sin_addr.s_addr;
  }
  return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(&a)->sin6_addr, &reinterpret_cast<const sockaddr_in6*>(&b)->sin6_addr,
                     sizeof(in6_addr)) == 0;
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

uint16_t PortOf(const sockaddr_storage& addr) {
  return ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port
                                          : reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
}

}  // namespace

Result<RemoteServer> RemoteServer::Listen(ServeConfig config) {
  if (config.token.size() < remote::kMinTokenBytes) {
    return Errorf("zcbench serve: the token must be at least {} bytes", remote::kMinTokenBytes);
  }
  UniqueFd listener(::socket(config.listen.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener) return SysError("serve: socket");
  int one = 1;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listener.get(), reinterpret_cast<const sockaddr*>(&config.listen), SockaddrLength(config.listen)) != 0) {
    return SysError(fmt::format("serve: bind {}", FormatSockaddr(config.listen)));
  }
  if (::listen(listener.get(), 8) != 0) return SysError("serve: listen");
  sockaddr_storage address{};
  socklen_t len = sizeof address;
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &len);
  return RemoteServer(std::move(config), std::move(listener), address);
}

void RemoteServer::Log(const std::string& line) const {
  if (config_.log) {
    config_.log(line);
  } else {
    fmt::print(stderr, "zcbench serve: {}\n", line);
    std::fflush(stderr);
  }
}

Status RemoteServer::Serve() {
  static const bool sigpipe_ignored = [] { return ::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
  (void)sigpipe_ignored;
  ZCB_RETURN_IF_ERROR(PinThread(config_.receiver_cpu, "receiver"));
  Log(fmt::format("listening on {} (control protocol {}/{})", FormatSockaddr(address_), remote::kProtocolName,
                  remote::kProtocolVersion));
  while (config_.max_sessions == 0 || sessions_ < config_.max_sessions) {
    if (config_.stop != nullptr && config_.stop->load()) break;
    pollfd pfd{listener_.get(), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 100);
    if (ready < 0 && errno != EINTR) return SysError("serve: poll");
    if (ready <= 0) continue;
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    UniqueFd conn(::accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
    if (!conn) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN) continue;
      return SysError("serve: accept");
    }
    ++sessions_;
    Status session = OkStatus();
    try {
      session = Session(conn.get(), peer);
    } catch (const std::exception& e) {
      // Nothing a client sends may end the server; an unexpected exception ends the session.
      session = Errorf("internal error: {}", e.what());
    }
    if (session.ok()) {
      Log(fmt::format("{}: session ended", FormatSockaddr(peer)));
    } else {
      ++failed_;
      Log(fmt::format("{}: session failed: {}", FormatSockaddr(peer), session.error().ToString()));
    }
  }
  return OkStatus();
}

Status RemoteServer::Authenticate(int fd) {
  auto hello = remote::ReadMessage(fd);
  if (!hello.ok()) {
    remote::SendError(fd, "malformed", hello.error().ToString());
    return std::move(hello).error().Context("handshake");
  }
  const nlohmann::json& h = *hello;
  if (h["type"] != "hello") {
    remote::SendError(fd, "malformed", "expected 'hello'");
    return Errorf("handshake: expected 'hello', got '{}'", h["type"].get<std::string>().substr(0, 64));
  }
  if (!h.contains("protocol") || h["protocol"] != remote::kProtocolName) {
    remote::SendError(fd, "protocol", fmt::format("this is a {} server", remote::kProtocolName));
    return Errorf("handshake: not a {} client", remote::kProtocolName);
  }
  if (!h.contains("version") || !h["version"].is_number_integer() || h["version"].get<int64_t>() != remote::kProtocolVersion) {
    const std::string asked = h.contains("version") ? h["version"].dump().substr(0, 32) : "none";
    remote::SendError(fd, "version",
                      fmt::format("this server speaks {} version {}; the client asked for {}", remote::kProtocolName,
                                  remote::kProtocolVersion, asked));
    return Errorf("handshake: unsupported protocol version {}", asked);
  }
  auto client_nonce = h.find("client_nonce");
  if (client_nonce == h.end() || !client_nonce->is_string() || client_nonce->get<std::string>().size() != 2 * remote::kNonceBytes ||
      !remote::FromHex(client_nonce->get<std::string>())) {
    remote::SendError(fd, "malformed", "'hello' needs a client_nonce of 32 random bytes in hex");
    return Errorf("handshake: no valid client_nonce");
  }
  ZCB_ASSIGN_OR_RETURN(const std::string server_nonce, remote::NewNonce());
  ZCB_RETURN_IF_ERROR(remote::WriteMessage(fd, {{"type", "challenge"}, {"version", remote::kProtocolVersion}, {"server_nonce", server_nonce}}));
  auto auth = remote::ReadMessage(fd);
  if (!auth.ok()) {
    remote::SendError(fd, "malformed", auth.error().ToString());
    return std::move(auth).error().Context("handshake");
  }
  auto proof = auth->find("proof");
  if ((*auth)["type"] != "auth" || proof == auth->end() || !proof->is_string()) {
    remote::SendError(fd, "malformed", "expected 'auth' with a proof");
    return Errorf("handshake: expected 'auth' with a proof");
  }
  const std::string expected = remote::ClientProof(config_.token, server_nonce, client_nonce->get<std::string>());
  if (!remote::ProofsEqual(proof->get<std::string>(), expected)) {
    remote::SendError(fd, "auth", "authentication failed: wrong token");
    return Errorf("authentication failed: wrong token");
  }
  return remote::WriteMessage(fd, {{"type", "welcome"},
                                   {"proof", remote::ServerProof(config_.token, server_nonce, client_nonce->get<std::string>())},
                                   {"host", remote::HostIdentity()}});
}

Status RemoteServer::Session(int fd, const sockaddr_storage& peer) {
  ZCB_RETURN_IF_ERROR(SetTimeout(fd, SO_RCVTIMEO, config_.handshake_timeout_s));
  ZCB_RETURN_IF_ERROR(SetTimeout(fd, SO_SNDTIMEO, config_.handshake_timeout_s));
  ZCB_RETURN_IF_ERROR(Authenticate(fd));
  Log(fmt::format("{}: authenticated", FormatSockaddr(peer)));
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

Status RemoteServer::RunTrial(int fd, const sockaddr_storage& peer, const nlohmann::json& message) {
  auto request = remote::TrialRequest::FromJson(message);
  if (!request.ok()) {
    remote::SendError(fd, "bad-request", request.error().ToString());
    return std::move(request).error().Context("trial request");
  }
  if (request->protocol != Protocol::kTcp) {
    remote::SendError(fd, "unsupported", "zcbench serve receives TCP streams; UDP trials are unsupported by this server");
    return Errorf("trial request: UDP is unsupported");
  }
  Pattern pattern(request->seed, request->pattern_period);
  auto receiver = StreamReceiver::Create(request->receiver, pattern);
  if (!receiver.ok()) {
    remote::SendError(fd, "unsupported", receiver.error().ToString());
    return std::move(receiver).error().Context("trial request");
  }

  // The data listener sits on the address the client reached us at.
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) return SysError("getsockname");
  SetPort(local, config_.data_port);
  UniqueFd listener(::socket(local.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener) return SysError("data listener: socket");
  int one = 1;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&local), SockaddrLength(local)) != 0 || ::listen(listener.get(), 1) != 0) {
    Error e = SysError(fmt::format("data listener: bind {}", FormatSockaddr(local)));
    remote::SendError(fd, "setup", e.ToString());
    return e;
  }
  len = sizeof local;
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&local), &len);
  ZCB_RETURN_IF_ERROR(remote::WriteMessage(fd, {{"type", "ready"}, {"data_port", PortOf(local)}}));

  // Wait for the client's data connection, watching the control connection: a client
  // that goes away (or talks out of turn) before connecting ends the trial at once.
  UniqueFd conn;
  const Clock::time_point give_up = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(request->receive_timeout_s * 1000));
  while (!conn) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - Clock::now()).count();
    if (left <= 0) return Errorf("trial: the client did not connect its data stream within {} s", request->receive_timeout_s);
    pollfd pfds[2] = {{listener.get(), POLLIN, 0}, {fd, POLLIN, 0}};
    if (::poll(pfds, 2, static_cast<int>(std::min<int64_t>(left, 100))) < 0 && errno != EINTR) return SysError("poll");
    if (pfds[1].revents != 0) return Errorf("trial: the client went away (or spoke out of turn) before connecting its data stream");
    if (pfds[0].revents == 0) continue;
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    UniqueFd candidate(::accept4(listener.get(), reinterpret_cast<sockaddr*>(&from), &from_len, SOCK_CLOEXEC));
    if (!candidate) continue;
    if (!SameHost(from, peer)) {
      Log(fmt::format("{}: refused a data connection from {} (not the authenticated client)", FormatSockaddr(peer), FormatSockaddr(from)));
      continue;
    }
    conn = std::move(candidate);
  }
  listener.Reset();
  ZCB_RETURN_IF_ERROR(SetTimeout(conn.get(), SO_RCVTIMEO, request->receive_timeout_s));

  auto before = CpuSnapshot::Read();
  const uint64_t process_before_ns = ProcessCpuNs();
  const SideCpuMeter cpu(/*io_workers=*/false);
  Status run = receiver->Run(conn.get());
  const double receiver_cpu_s = cpu.Stop().thread_s;
  const uint64_t process_after_ns = ProcessCpuNs();
  auto after = CpuSnapshot::Read();
  // Closing now tells the sender, which waits for this, that the last byte is in.
  if (!run.ok()) Abort(conn.get());
  conn.Reset();

  const ReceiveStats& rx = receiver->stats();
  const IntegrityStats& integrity = rx.integrity;
  nlohmann::json metrics = {
      {"bytes_received", rx.bytes_received},
      {"recv_calls", rx.recv_calls},
      {"receive_s", rx.bytes_received > 0 ? std::chrono::duration<double>(rx.last_byte - rx.first_byte).count() : 0.0},
      {"integrity",
       {{"mode", ToString(integrity.mode)},
        {"verified_bytes", integrity.verified_bytes},
        {"mismatches", integrity.mismatches},
        {"first_mismatch_offset",
         integrity.first_mismatch_offset ? nlohmann::json(*integrity.first_mismatch_offset) : nlohmann::json(nullptr)}}},
      {"host", remote::HostIdentity()},
  };
  TrialCpuParts parts;
  parts.receiver_thread_s = receiver_cpu_s;  // the sender is not on this host
  parts.omits.push_back("the sender's CPU, on the client's host");
  auto snapshot = [](Result<CpuSnapshot>& r) { return r.ok() ? std::optional<CpuSnapshot>(std::move(*r)) : std::nullopt; };
  metrics["cpu"] = CpuRecord(snapshot(before), snapshot(after), parts,
                             static_cast<double>(process_after_ns - process_before_ns) * 1e-9, rx.bytes_received);
  FinishTrialCpu(metrics, rx.bytes_received);
  ++trials_;
  // The stream's end alone does not say the trial was whole (the protocol does not carry
  // the expected length, and a killed client closes its data stream like a finished
  // one): a client that hung up, or cannot take its result, went away mid-trial.
  if (ClientHungUp(fd)) {
    Log(fmt::format("{}: trial {}: the client went away mid-trial after {} bytes ({} verified, {} mismatches)", FormatSockaddr(peer),
                    trials_, rx.bytes_received, integrity.verified_bytes, integrity.mismatches));
    return Errorf("the client closed the control connection before the trial's result");
  }
  Status sent = remote::WriteMessage(fd, {{"type", "result"},
                                          {"status", run.ok() ? "ok" : "error"},
                                          {"error", run.ok() ? nlohmann::json(nullptr) : nlohmann::json(run.error().ToString())},
                                          {"metrics", metrics}});
  std::string outcome = run.ok() ? "" : ", error: " + run.error().ToString();
  if (!sent.ok()) outcome += ", the client went away before taking its result: " + sent.error().ToString();
  Log(fmt::format("{}: trial {}: {} bytes received, {} verified, {} mismatches{}", FormatSockaddr(peer), trials_, rx.bytes_received,
                  integrity.verified_bytes, integrity.mismatches, outcome));
  return sent;
}

}  // namespace zcb
