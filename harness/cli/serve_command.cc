// zcbench serve: the receiver side of the remote path, for another host to drive with
// `zcbench run --path remote --peer HOST:PORT --token-file FILE`.

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "drivers/remote/auth.h"
#include "drivers/remote/host_port.h"
#include "drivers/remote/protocol.h"
#include "harness/cli/commands.h"
#include "harness/remote/remote_server.h"

namespace zcb::cli {
namespace {

struct ServeArgs {
  std::string listen = fmt::format("127.0.0.1:{}", remote::kDefaultPort);
  std::string token_file;
  std::optional<int> receiver_cpu;
  int data_port = 0;
  int sessions = 0;
  int max_pending = ServeConfig{}.max_pending;
  double handshake_timeout_s = ServeConfig{}.handshake_timeout_s;
  double busy_wait_s = ServeConfig{}.busy_wait_s;
};

std::atomic<bool> g_serve_stop{false};

// The first Ctrl-C ends the server after the session in progress; a second one at once.
void OnServeStop(int sig) {
  if (g_serve_stop.exchange(true)) {
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    return;
  }
  static const char kMessage[] = "\nzcbench serve: stopping after the session in progress (Ctrl-C again to quit now)\n";
  (void)!::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
}

int Serve(const ServeArgs& args) {
  auto listen = remote::ResolveHostPort(args.listen, remote::kDefaultPort);
  if (!listen.ok()) {
    fmt::print(stderr, "zcbench serve: --listen {}\n", listen.error().ToString());
    return ExitCodeFor(listen.error());
  }
  if (args.data_port < 0 || args.data_port > 65535) {
    return StopOn("serve", Usagef("--data-port {}: expected 0 to 65535", args.data_port));
  }
  ServeConfig config;
  config.listen = *listen;
  config.max_sessions = args.sessions;
  config.max_pending = args.max_pending;
  config.handshake_timeout_s = args.handshake_timeout_s;
  config.busy_wait_s = args.busy_wait_s;
  if (Status limits = CheckServeLimits(config); !limits.ok()) return StopOn("serve", limits.error());
  auto token = remote::ReadTokenFile(args.token_file);
  if (!token.ok()) return StopOn("serve", token.error());
  config.token = *token;
  config.receiver_cpu = args.receiver_cpu;
  config.data_port = static_cast<uint16_t>(args.data_port);
  config.stop = &g_serve_stop;
  auto server = RemoteServer::Listen(config);
  if (!server.ok()) return StopOn("serve", server.error());
  struct sigaction sa {};
  sa.sa_handler = OnServeStop;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  auto served = server->Serve();
  if (!served.ok()) return StopOn("serve", served.error());
  return kExitOk;
}

}  // namespace

Command AddServeCommand(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* sub = app.add_subcommand("serve", "run the receiver side of the remote path for a zcbench run on another host");
  sub->add_option("--listen", args->listen, "ADDR:PORT for the control connection (loopback unless told otherwise)")
      ->capture_default_str();
  sub->add_option("--token-file", args->token_file,
                  "file with the shared token (at least 16 bytes, mode 600; e.g. openssl rand -hex 32)")
      ->required();
  sub->add_option("--receiver-cpu", args->receiver_cpu, "CPU to pin the receiver to");
  sub->add_option("--data-port", args->data_port, "port of the data connections (0: a free one per trial)")
      ->capture_default_str();
  sub->add_option("--sessions", args->sessions, "exit after this many client sessions (0: serve until Ctrl-C)")
      ->capture_default_str();
  sub->add_option("--max-pending", args->max_pending,
                  "handshakes under way (and authenticated clients waiting) at once; a connection over it is closed "
                  "at once and counted")
      ->capture_default_str();
  sub->add_option("--handshake-timeout", args->handshake_timeout_s,
                  "seconds from accept for a client to finish its handshake (bytes that trickle in do not extend it)")
      ->capture_default_str();
  sub->add_option("--busy-wait", args->busy_wait_s,
                  "seconds an authenticated client waits for another client's session (one trial at a time) before "
                  "it is told 'busy'")
      ->capture_default_str();
  sub->footer(
      "Limits: handshakes run at once, each within --handshake-timeout of its accept; over --max-pending a "
      "connection is closed at once. One session (one trial) at a time: a client authenticated meanwhile waits "
      "--busy-wait seconds, then gets 'busy' (keep it under the client's 10 s wait). Refusals are logged at most 10 "
      "lines a second, then one line of how many more and from where; the exit line counts sessions and refusals by "
      "kind (over_limit, timeout, closed, malformed, version, wrong_token, busy).");
  return [args] { return Serve(*args); };
}

}  // namespace zcb::cli
