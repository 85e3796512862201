#pragma once

#include "drivers/network_path.h"

namespace zcb {

// The veth path with a rate limit (tbf or htb) on the sender's egress, from a link
// preset (100baseTX, 1GbE, 10GbE) or explicit rate, burst and limit.
PathInfo ShapedPathInfo();

}  // namespace zcb
