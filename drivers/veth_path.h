#pragma once

#include "drivers/network_path.h"

namespace zcb {

// Sender and receiver in two network namespaces joined by a veth pair: the traffic
// crosses a device with a driver, a qdisc and offload settings.
PathInfo VethPathInfo();

}  // namespace zcb
