#include "drivers/routed_path.h"

#include "drivers/namespace_chain.h"

namespace zcb {

PathInfo RoutedPathInfo() {
  PathInfo info;
  info.name = "routed";
  info.summary = "sender, router and receiver namespaces, bottleneck on the router's egress (default 1GbE); needs root";
  info.caps = {.needs_root = true, .has_link_layer = true, .local_delivery = true};
  info.options = DevicePathOptions();
  for (auto& o : ShaperOptions("1GbE", /*allow_none=*/true)) info.options.push_back(std::move(o));
  info.validate = [](const Options& options) { return ValidateDevicePathOptions(options, /*with_shaper=*/true); };
  info.create = [caps = info.caps](const Options& options) -> Result<std::unique_ptr<NetworkPath>> {
    ChainConfig config;
    config.path_name = "routed";
    config.description =
        "sender -> router -> receiver over two veth pairs, the router forwarding and shaping its egress";
    config.caps = caps;
    config.with_router = true;
    config.profile = OffloadProfile::FromOptions(options);
    ZCB_ASSIGN_OR_RETURN(config.router_shaper, ShaperFromOptions(options, config.profile.mtu));
    return CreateNamespaceChain(std::move(config));
  };
  return info;
}

}  // namespace zcb
