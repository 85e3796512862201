#pragma once

#include "drivers/network_path.h"

namespace zcb {

// Sender, router and receiver namespaces; the bottleneck is a rate limit on the
// router's egress towards the receiver (your speed is gated by the slowest link).
PathInfo RoutedPathInfo();

}  // namespace zcb
