// Fuzz target: `zcbench serve` as a peer on the network sees it. A real RemoteServer
// listens on loopback (started once, on a thread); each input is one control connection
// whose bytes are the fuzzer's: the handshake (hello, auth) as any peer can send it, or,
// after a correct handshake made here with the server's token, the messages of an
// authenticated session (trial requests, bye), as a client holding the token can. The
// connection's write side is then shut and its replies are read to the end, so that each
// session is over before the next input: the server must answer every input by ending
// the session, within its handshake timeout, and go on serving.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>

#include "drivers/remote/auth.h"
#include "drivers/remote/framing.h"
#include "drivers/remote/protocol.h"
#include "harness/remote/remote_server.h"
#include "stack/socket_io.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

constexpr char kToken[] = "fuzzing-token-0123456789abcdef";

// The server, serving until the process exits.
const sockaddr_storage& ServerAddress() {
  static const sockaddr_storage address = [] {
    zcb::ServeConfig config;
    auto* in = reinterpret_cast<sockaddr_in*>(&config.listen);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    config.token = kToken;
    config.handshake_timeout_s = 2;
    config.idle_timeout_s = 2;
    config.log = [](const std::string&) {};  // one line per session: not for the fuzzer's output
    auto server = zcb::RemoteServer::Listen(config);
    if (!server.ok()) zcb::fuzz::Fail("listen");
    const sockaddr_storage bound = server->address();
    std::thread([s = std::move(*server)]() mutable { (void)s.Serve(); }).detach();
    return bound;
  }();
  return address;
}

zcb::UniqueFd Connect(const sockaddr_storage& address) {
  zcb::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) zcb::fuzz::Fail("socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(sockaddr_in)) != 0) {
    // libFuzzer's SIGALRM (its -timeout watch) may interrupt the connect, which then goes
    // on by itself: wait for it to complete.
    if (errno != EINTR) zcb::fuzz::Fail("connect to the server");
    pollfd p{fd.get(), POLLOUT, 0};
    int error = 0;
    socklen_t len = sizeof error;
    while (::poll(&p, 1, 10000) < 0 && errno == EINTR) {
    }
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0 || !(p.revents & POLLOUT)) {
      errno = error;
      zcb::fuzz::Fail("connect to the server");
    }
  }
  // Bounds every wait below: a server that neither answers nor closes is a hang to report.
  if (!zcb::SetTimeout(fd.get(), SO_RCVTIMEO, 10).ok() || !zcb::SetTimeout(fd.get(), SO_SNDTIMEO, 10).ok())
    zcb::fuzz::Fail("SO_RCVTIMEO");
  return fd;
}

// The client's half of the handshake, with the right token.
void Authenticate(int fd) {
  auto nonce = zcb::remote::NewNonce();
  if (!nonce.ok()) zcb::fuzz::Fail("nonce");
  if (!zcb::remote::WriteMessage(fd, {{"type", "hello"},
                                      {"protocol", zcb::remote::kProtocolName},
                                      {"version", zcb::remote::kProtocolVersion},
                                      {"client_nonce", *nonce}})
           .ok())
    zcb::fuzz::Fail("send hello");
  auto challenge = zcb::remote::ReadMessageOfType(fd, "challenge");
  if (!challenge.ok()) zcb::fuzz::Fail(("challenge: " + challenge.error().ToString()).c_str());
  const std::string proof = zcb::remote::ClientProof(kToken, (*challenge)["server_nonce"].get<std::string>(), *nonce);
  if (!zcb::remote::WriteMessage(fd, {{"type", "auth"}, {"proof", proof}}).ok()) zcb::fuzz::Fail("send auth");
  auto welcome = zcb::remote::ReadMessageOfType(fd, "welcome");
  if (!welcome.ok()) zcb::fuzz::Fail(("welcome: " + welcome.error().ToString()).c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The first byte picks the stage the bytes start at: even, the handshake; odd, an
  // authenticated session.
  const auto [stage, rest] = zcb::fuzz::TakeSelector(data, size);
  zcb::UniqueFd fd = Connect(ServerAddress());
  if (stage % 2 == 1) Authenticate(fd.get());
  size_t sent = 0;
  while (sent < rest.size()) {
    const ssize_t n = ::send(fd.get(), rest.data() + sent, rest.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;  // libFuzzer's SIGALRM (its -timeout watch)
    if (n <= 0) break;                      // the server ended the session before reading everything
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd.get(), SHUT_WR);
  // The server's answers, to the end of the session.
  uint8_t buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n > 0 || (n < 0 && errno == EINTR)) continue;
    if (n == 0 || errno == ECONNRESET) break;
    zcb::fuzz::Fail("the server kept the session open past its timeouts");
  }
  return 0;
}
