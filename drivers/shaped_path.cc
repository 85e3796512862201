#include "drivers/shaped_path.h"

#include "drivers/namespace_chain.h"

namespace zcb {

PathInfo ShapedPathInfo() {
  PathInfo info;
  info.name = "shaped";
  info.summary = "veth with a rate limit on the sender's egress (presets 100baseTX, 1GbE, 10GbE); needs root";
  info.caps = {.needs_root = true, .has_link_layer = true, .local_delivery = true};
  info.options = DevicePathOptions();
  for (auto& o : ShaperOptions("100baseTX", /*allow_none=*/false)) info.options.push_back(std::move(o));
  info.validate = [](const Options& options) { return ValidateDevicePathOptions(options, /*with_shaper=*/true); };
  info.create = [caps = info.caps](const Options& options) -> Result<std::unique_ptr<NetworkPath>> {
    ChainConfig config;
    config.path_name = "shaped";
    config.description = "veth pair with a rate-limiting qdisc on the sender's egress";
    config.caps = caps;
    config.profile = OffloadProfile::FromOptions(options);
    ZCB_ASSIGN_OR_RETURN(config.sender_shaper, ShaperFromOptions(options, config.profile.mtu));
    return CreateNamespaceChain(std::move(config));
  };
  return info;
}

}  // namespace zcb
