#include "drivers/remote/remote_path.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include "drivers/interface_info.h"
#include "drivers/remote/auth.h"
#include "drivers/remote/framing.h"
#include "drivers/remote/host_port.h"
#include "drivers/remote/messages.h"
#include "drivers/remote/protocol.h"
#include "drivers/remote/remote_receiver.h"
#include "stack/socket_io.h"
#include "stack/unique_fd.h"

namespace zcb {
namespace {

constexpr double kHandshakeTimeoutS = 10;

std::string HostOf(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr, host, sizeof host);
  } else {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr, host, sizeof host);
  }
  return host;
}

class RemotePath final : public NetworkPath, public RemoteReceiver {
 public:
  const std::string& name() const override { return name_; }

  PathCapabilities capabilities() const override {
    PathCapabilities caps{
        .needs_root = false, .has_link_layer = false, .local_delivery = false, .remote_receiver = true};
    // A "remote" peer that runs on this very kernel (another namespace, or loopback)
    // still delivers locally: zero-copy sends are copied there, and the record says so.
    caps.local_delivery = same_kernel_;
    return caps;
  }

  sockaddr_storage ReceiverAddress() const override { return peer_; }

  nlohmann::json Describe() const override {
    return {
        {"name", name_},
        {"description",
         "receiver on another host, run by zcbench serve and driven over an authenticated control connection"},
        {"peer", FormatSockaddr(peer_)},
        {"control_protocol", fmt::format("{}/{}", remote::kProtocolName, remote::kProtocolVersion)},
        {"server", server_},
        {"client", remote::HostIdentity()},
        {"same_kernel", same_kernel_},
        {"interfaces", local_interfaces_},
    };
  }

  RemoteReceiver* remote() override { return this; }

  std::string PeerName() const override { return FormatSockaddr(peer_); }

  Result<sockaddr_storage> BeginTrial(const remote::TrialRequest& request) override {
    ZCB_RETURN_IF_ERROR(SetTimeout(control_.get(), SO_RCVTIMEO, kHandshakeTimeoutS));
    ZCB_RETURN_IF_ERROR(remote::WriteMessage(control_.get(), request.ToJson()));
    auto ready = remote::ReadMessageOfType(control_.get(), "ready");
    if (!ready.ok()) return std::move(ready).error().Context("remote receiver at " + PeerName());
    auto port = ready->find("data_port");
    if (port == ready->end() || !port->is_number_unsigned() || port->get<uint64_t>() == 0 ||
        port->get<uint64_t>() > 65535) {
      return Errorf("remote receiver at {}: 'ready' without a valid data_port", PeerName());
    }
    sockaddr_storage data = peer_;
    const uint16_t p = htons(static_cast<uint16_t>(port->get<uint64_t>()));
    if (data.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&data)->sin6_port = p;
    else reinterpret_cast<sockaddr_in*>(&data)->sin_port = p;
    return data;
  }

  Status EndDatagrams(uint64_t datagrams_sent, bool aborted) override {
    return remote::WriteMessage(control_.get(), remote::DatagramsSent{datagrams_sent, aborted}.ToJson());
  }

  Result<nlohmann::json> FinishTrial(double timeout_s) override {
    ZCB_RETURN_IF_ERROR(SetTimeout(control_.get(), SO_RCVTIMEO, timeout_s));
    auto result = remote::ReadMessageOfType(control_.get(), "result");
    if (!result.ok()) return std::move(result).error().Context("remote receiver at " + PeerName());
    auto status = result->find("status");
    if (status == result->end() || !status->is_string())
      return Errorf("remote receiver at {}: 'result' without a status", PeerName());
    auto metrics = result->find("metrics");
    if (metrics == result->end()) return Errorf("remote receiver at {}: 'result' without metrics", PeerName());
    if (auto valid = remote::ValidateResultMetrics(*metrics); !valid.ok()) {
      return std::move(valid).error().Context("remote receiver at " + PeerName());
    }
    return *result;
  }

  Status Connect(const std::string& peer_text, const std::string& token_file, double connect_timeout_s);

 private:
  Status Handshake(const std::string& token);

  std::string name_ = "remote";
  sockaddr_storage peer_{};
  UniqueFd control_;
  nlohmann::json server_;
  nlohmann::json local_interfaces_ = nlohmann::json::array();
  bool same_kernel_ = false;
};

Status RemotePath::Connect(const std::string& peer_text, const std::string& token_file, double connect_timeout_s) {
  if (peer_text.empty()) return Errorf("path remote needs the peer: --peer HOST:PORT (where zcbench serve listens)");
  if (token_file.empty())
    return Errorf("path remote needs the shared token: --token-file FILE (the file zcbench serve was given)");
  ZCB_ASSIGN_OR_RETURN(peer_, remote::ResolveHostPort(peer_text, remote::kDefaultPort));
  ZCB_ASSIGN_OR_RETURN(const std::string token, remote::ReadTokenFile(token_file));
  control_.Reset(::socket(peer_.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!control_) return SysError("control connection: socket");
  // Linux bounds a blocking connect() by SO_SNDTIMEO.
  ZCB_RETURN_IF_ERROR(SetTimeout(control_.get(), SO_SNDTIMEO, connect_timeout_s));
  if (::connect(control_.get(), reinterpret_cast<const sockaddr*>(&peer_), SockaddrLength(peer_)) != 0) {
    const int err = errno == EINPROGRESS ? ETIMEDOUT : errno;
    return Error(err, fmt::format("connect to zcbench serve at {}", FormatSockaddr(peer_)));
  }
  ZCB_RETURN_IF_ERROR(SetTimeout(control_.get(), SO_RCVTIMEO, kHandshakeTimeoutS));
  if (auto hs = Handshake(token); !hs.ok())
    return std::move(hs).error().Context("zcbench serve at " + FormatSockaddr(peer_));
  // The device this host sends through, as it is now (the record's interfaces).
  if (auto dev = RouteDevice(HostOf(peer_)); dev.ok()) {
    if (auto info = DescribeInterface(-1, "", *dev, "sender"); info.ok()) local_interfaces_.push_back(*info);
  }
  return OkStatus();
}

Status RemotePath::Handshake(const std::string& token) {
  ZCB_ASSIGN_OR_RETURN(const std::string client_nonce, remote::NewNonce());
  ZCB_RETURN_IF_ERROR(remote::WriteMessage(control_.get(), {{"type", "hello"},
                                                            {"protocol", remote::kProtocolName},
                                                            {"version", remote::kProtocolVersion},
                                                            {"client_nonce", client_nonce}}));
  ZCB_ASSIGN_OR_RETURN(nlohmann::json challenge, remote::ReadMessageOfType(control_.get(), "challenge"));
  auto nonce = challenge.find("server_nonce");
  if (nonce == challenge.end() || !nonce->is_string() || nonce->get<std::string>().size() != 2 * remote::kNonceBytes ||
      !remote::FromHex(nonce->get<std::string>())) {
    return Errorf("malformed challenge (no valid server_nonce)");
  }
  const std::string server_nonce = nonce->get<std::string>();
  ZCB_RETURN_IF_ERROR(remote::WriteMessage(
      control_.get(), {{"type", "auth"}, {"proof", remote::ClientProof(token, server_nonce, client_nonce)}}));
  ZCB_ASSIGN_OR_RETURN(nlohmann::json welcome, remote::ReadMessageOfType(control_.get(), "welcome"));
  auto proof = welcome.find("proof");
  if (proof == welcome.end() || !proof->is_string() ||
      !remote::ProofsEqual(proof->get<std::string>(), remote::ServerProof(token, server_nonce, client_nonce))) {
    return Errorf(
        "the server did not prove that it knows the token: not the zcbench serve you meant, or another token");
  }
  auto host = welcome.find("host");
  server_ = host != welcome.end() && host->is_object() ? *host : nlohmann::json::object();
  const nlohmann::json me = remote::HostIdentity();
  same_kernel_ = server_.contains("boot_id") && server_["boot_id"].is_string() &&
                 !me["boot_id"].get<std::string>().empty() && server_["boot_id"] == me["boot_id"];
  return OkStatus();
}

}  // namespace

PathInfo RemotePathInfo() {
  PathInfo info;
  info.name = "remote";
  info.summary = "the receiver on another host, run by zcbench serve (--peer HOST:PORT --token-file FILE)";
  info.caps = {.needs_root = false, .has_link_layer = false, .local_delivery = false, .remote_receiver = true};
  info.options = {
      {"peer", OptionType::kString, "", "HOST:PORT where zcbench serve listens (also --peer)", {}},
      {"token_file",
       OptionType::kString,
       "",
       "file holding the token shared with zcbench serve (also --token-file)",
       {}},
      {"connect_timeout", OptionType::kInt, "10", "seconds to wait for the control connection", {}},
  };
  info.validate = [](const Options& options) -> Status {
    if (options.GetString("peer").empty())
      return Errorf("path remote needs the peer: --peer HOST:PORT (where zcbench serve listens)");
    if (options.GetString("token_file").empty()) {
      return Errorf("path remote needs the shared token: --token-file FILE (the file zcbench serve was given)");
    }
    const int64_t timeout = options.GetInt("connect_timeout");
    if (timeout <= 0 || timeout > 600)
      return Errorf("path remote option connect_timeout={}: expected 1 to 600 seconds", timeout);
    return OkStatus();
  };
  info.create = [](const Options& options) -> Result<std::unique_ptr<NetworkPath>> {
    auto path = std::make_unique<RemotePath>();
    const int64_t timeout = options.GetInt("connect_timeout");
    ZCB_RETURN_IF_ERROR(
        path->Connect(options.GetString("peer"), options.GetString("token_file"), static_cast<double>(timeout)));
    return std::unique_ptr<NetworkPath>(std::move(path));
  };
  return info;
}

}  // namespace zcb
