#include "drivers/remote/remote_path.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <memory>
#include <optional>

#include <fmt/format.h>

#include "drivers/interface_config.h"
#include "drivers/interface_info.h"
#include "drivers/privilege.h"
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
    const nlohmann::json sender_now = SenderInterfaceNow();
    return {
        {"name", name_},
        {"description",
         "receiver on another host, run by zcbench serve and driven over an authenticated control connection"},
        {"peer", FormatSockaddr(peer_)},
        {"control_protocol", fmt::format("{}/{}", remote::kProtocolName, remote::kProtocolVersion)},
        {"server", server_},
        {"client", remote::HostIdentity()},
        {"same_kernel", same_kernel_},
        {"interfaces", sender_now},
        {"sender_interface", SenderInterfaceJson(sender_now)},
        {"receiver_interface", receiver_interface_},
        {"receiver_interface_reason",
         receiver_interface_.is_null() ? nlohmann::json(receiver_interface_reason_) : nlohmann::json(nullptr)},
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
    if (auto read = ReadReceiverInterface(*result); !read.ok())
      return std::move(read).error().Context("remote receiver at " + PeerName() + ": result");
    return *result;
  }

  Status Connect(const std::string& peer_text, const std::string& token_file, double connect_timeout_s);
  // With configure_interface=true: sets the interface this host routes to the peer
  // through as the options ask, until the path goes away.
  Status ConfigureInterface(const Options& options);

 private:
  Status Handshake(const std::string& token);
  // The receiver's interface profile from a trial's result (the latest wins).
  Status ReadReceiverInterface(const nlohmann::json& message) {
    ZCB_ASSIGN_OR_RETURN(remote::ReceiverInterfaceProfile read, remote::ReceiverInterface(message));
    receiver_interface_ = std::move(read.profile);
    receiver_interface_reason_ = std::move(read.reason);
    return OkStatus();
  }
  // The sender's interface as it is now, for the record's interfaces (empty when this
  // host has no route to the peer it could read).
  nlohmann::json SenderInterfaceNow() const;
  // `sender_interface`: the request, the interface before and as configured (`now`, as
  // SenderInterfaceNow read it), what is restored.
  nlohmann::json SenderInterfaceJson(const nlohmann::json& now) const;

  std::string name_ = "remote";
  sockaddr_storage peer_{};
  UniqueFd control_;
  nlohmann::json server_;
  std::string sender_device_;               // the interface this host routes to the peer through
  nlohmann::json sender_before_ = nullptr;  // its profile when the path was set up
  std::string sender_before_reason_;        // why it is null
  std::optional<InterfaceRequest> interface_request_;
  std::unique_ptr<InterfaceConfig> interface_config_;  // restores the interface when the path goes
  nlohmann::json receiver_interface_ = nullptr;
  std::string receiver_interface_reason_ =
      "the receiver reports its interface with each trial's result, and none came yet (the manifest describes the "
      "path before its first trial)";
  bool same_kernel_ = false;
};

nlohmann::json RemotePath::SenderInterfaceNow() const {
  nlohmann::json interfaces = nlohmann::json::array();
  if (sender_device_.empty()) return interfaces;
  if (auto info = DescribeInterface(-1, "", sender_device_, "sender"); info.ok()) interfaces.push_back(*info);
  return interfaces;
}

nlohmann::json RemotePath::SenderInterfaceJson(const nlohmann::json& now) const {
  nlohmann::json out = {{"device", sender_device_.empty() ? nlohmann::json(nullptr) : nlohmann::json(sender_device_)},
                        {"configure_interface", interface_request_.has_value()},
                        {"requested", interface_request_ ? interface_request_->ToJson() : nlohmann::json(nullptr)},
                        {"before", sender_before_}};
  if (sender_before_.is_null()) out["before_reason"] = sender_before_reason_;
  if (interface_config_ == nullptr) {
    out["configured"] = nullptr;
    out["configured_reason"] = interface_request_ ? "the interface was not configured"
                                                  : "configure_interface=false: the interface was left as it was";
    return out;
  }
  out["configured"] = now.empty() ? nlohmann::json(nullptr) : now[0];
  if (now.empty()) out["configured_reason"] = fmt::format("could not read {} back", sender_device_);
  out["restore"] = {{"saved", interface_config_->saved().ToJson()},
                    {"when", "when the trial's path is torn down, on every exit path; zcbench cleanup after a kill"}};
  return out;
}

Status RemotePath::ConfigureInterface(const Options& options) {
  ZCB_ASSIGN_OR_RETURN(sender_device_, SingleRouteDevice(remote::FormatHost(peer_)));
  ZCB_ASSIGN_OR_RETURN(sender_before_, DescribeInterface(-1, "", sender_device_, "sender"));
  // A shaper's bucket is sized for the MTU the interface will have.
  ZCB_ASSIGN_OR_RETURN(interface_request_, InterfaceRequestFromOptions(options, sender_before_.value("mtu", 1500)));
  ZCB_ASSIGN_OR_RETURN(interface_config_, InterfaceConfig::Apply(sender_device_, *interface_request_));
  return OkStatus();
}

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
  auto dev = RouteDevice(remote::FormatHost(peer_));
  if (dev.ok()) sender_device_ = *dev;
  auto info = dev.ok() ? DescribeInterface(-1, "", *dev, "sender") : Result<nlohmann::json>(std::move(dev).error());
  if (info.ok()) sender_before_ = std::move(*info);
  else sender_before_reason_ = info.error().ToString();
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
  info.summary =
      "the receiver on another host, run by zcbench serve (--peer HOST:PORT --token-file FILE); with "
      "configure_interface=true the device paths' offload, MTU and shaper options set this host's interface to the "
      "peer (put back after each trial)";
  info.caps = {.needs_root = false, .has_link_layer = false, .local_delivery = false, .remote_receiver = true};
  info.options = {
      {"peer", OptionType::kString, "", "HOST:PORT where zcbench serve listens (also --peer)", {}},
      {"token_file",
       OptionType::kString,
       "",
       "file holding the token shared with zcbench serve (also --token-file)",
       {}},
      {"connect_timeout", OptionType::kInt, "10", "seconds to wait for the control connection", {}},
      {"configure_interface",
       OptionType::kBool,
       "false",
       "allow the options below to change this host's interface to the peer (root; a real interface: its settings are "
       "put "
       "back after each trial, and by zcbench cleanup after a killed run)",
       {}},
  };
  for (auto& o : InterfaceConfigOptions()) info.options.push_back(std::move(o));
  info.validate = [](const Options& options) -> Status {
    if (options.GetString("peer").empty())
      return Errorf("path remote needs the peer: --peer HOST:PORT (where zcbench serve listens)");
    if (options.GetString("token_file").empty()) {
      return Errorf("path remote needs the shared token: --token-file FILE (the file zcbench serve was given)");
    }
    const int64_t timeout = options.GetInt("connect_timeout");
    if (timeout <= 0 || timeout > 600)
      return Errorf("path remote option connect_timeout={}: expected 1 to 600 seconds", timeout);
    ZCB_ASSIGN_OR_RETURN(const InterfaceRequest request, InterfaceRequestFromOptions(options, /*current_mtu=*/1500));
    if (request.ChangesSomething() && !options.GetBool("configure_interface")) {
      std::string asked;
      for (const auto& [key, value] : options.given()) {
        for (const auto& spec : InterfaceConfigOptions()) {
          if (spec.name == key) asked += fmt::format("{}{}={}", asked.empty() ? "" : " ", key, value);
        }
      }
      return Errorf(
          "{} would change this host's network interface to the peer, a real interface of this host: add "
          "--path-option configure_interface=true to allow it (its settings are put back after each trial)",
          asked);
    }
    return OkStatus();
  };
  info.create = [](const Options& options) -> Result<std::unique_ptr<NetworkPath>> {
    // Before the peer is contacted: a run that cannot configure fails at once.
    if (options.GetBool("configure_interface")) {
      ZCB_RETURN_IF_ERROR(RequireCapabilities({Capability::kNetAdmin}, "path remote with configure_interface=true",
                                              "it sets the offloads, MTU and qdisc of this host's interface to the "
                                              "peer"));
    }
    auto path = std::make_unique<RemotePath>();
    const int64_t timeout = options.GetInt("connect_timeout");
    ZCB_RETURN_IF_ERROR(
        path->Connect(options.GetString("peer"), options.GetString("token_file"), static_cast<double>(timeout)));
    if (options.GetBool("configure_interface")) {
      if (auto configured = path->ConfigureInterface(options); !configured.ok())
        return std::move(configured).error().Context("path remote, configure_interface");
    }
    return std::unique_ptr<NetworkPath>(std::move(path));
  };
  return info;
}

}  // namespace zcb
