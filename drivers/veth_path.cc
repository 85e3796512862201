#include "drivers/veth_path.h"

#include "drivers/namespace_chain.h"

namespace zcb {

PathInfo VethPathInfo() {
  PathInfo info;
  info.name = "veth";
  info.summary = "two network namespaces joined by a veth pair (198.18.0.0/24); needs root";
  info.caps = {.needs_root = true, .has_link_layer = true, .local_delivery = true};
  info.options = DevicePathOptions();
  info.validate = [](const Options& options) { return ValidateDevicePathOptions(options, /*with_shaper=*/false); };
  info.create = [caps = info.caps](const Options& options) -> Result<std::unique_ptr<NetworkPath>> {
    ChainConfig config;
    config.path_name = "veth";
    config.description = "sender and receiver in two network namespaces joined by a veth pair";
    config.caps = caps;
    config.profile = OffloadProfile::FromOptions(options);
    return CreateNamespaceChain(std::move(config));
  };
  return info;
}

}  // namespace zcb
