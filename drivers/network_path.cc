#include "drivers/network_path.h"

#include <arpa/inet.h>

#include <fmt/format.h>

#include "drivers/loopback_path.h"
#include "drivers/remote/remote_path.h"
#include "drivers/routed_path.h"
#include "drivers/shaped_path.h"
#include "drivers/sink_path.h"
#include "drivers/veth_path.h"

namespace zcb {

nlohmann::json SinkCounts::CountsJson() const {
  return {{"udp_skbs", udp_skbs},           {"udp_datagrams", udp_datagrams}, {"udp_payload_bytes", udp_payload_bytes},
          {"udp_fragments", udp_fragments}, {"other_skbs", other_skbs},       {"other_bytes", other_bytes}};
}

Result<SinkCounts> NetworkPath::ReadSink() const {
  return Errorf("path {} has a receiver: it is no sink and counts nothing it carries", name());
}

const std::vector<PathInfo>& AllPaths() {
  static const std::vector<PathInfo> all = {
      LoopbackPathInfo(), VethPathInfo(), ShapedPathInfo(), RoutedPathInfo(), SinkPathInfo(), RemotePathInfo(),
  };
  return all;
}

Result<const PathInfo*> FindPath(const std::string& name) {
  std::string names;
  for (const auto& info : AllPaths()) {
    if (info.name == name) return &info;
    names += names.empty() ? info.name : ", " + info.name;
  }
  return Usagef("unknown path '{}'; valid paths: {}", name, names);
}

Status ValidatePathOptions(const std::string& name, const std::map<std::string, std::string>& options) {
  ZCB_ASSIGN_OR_RETURN(const PathInfo* info, FindPath(name));
  ZCB_ASSIGN_OR_RETURN(Options parsed, Options::Parse(info->options, options, "path " + name));
  if (info->validate) {
    if (auto valid = info->validate(parsed); !valid.ok()) {
      return std::move(valid).error().Context("path " + name).Kind(ErrorKind::kUsage);  // the options asked for
    }
  }
  return OkStatus();
}

Result<std::unique_ptr<NetworkPath>> CreatePath(const std::string& name,
                                                const std::map<std::string, std::string>& options) {
  ZCB_ASSIGN_OR_RETURN(const PathInfo* info, FindPath(name));
  ZCB_ASSIGN_OR_RETURN(Options parsed, Options::Parse(info->options, options, "path " + name));
  ZCB_RETURN_IF_ERROR(ValidatePathOptions(name, options));
  return info->create(parsed);
}

socklen_t SockaddrLength(const sockaddr_storage& addr) {
  return addr.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

std::string FormatSockaddr(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return fmt::format("[{}]:{}", host, ntohs(in6->sin6_port));
  }
  const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
  ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
  return fmt::format("{}:{}", host, ntohs(in->sin_port));
}

}  // namespace zcb
