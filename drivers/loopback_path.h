#pragma once

#include "drivers/network_path.h"

namespace zcb {

// Sender and receiver on 127.0.0.1 in the caller's namespace.
PathInfo LoopbackPathInfo();

}  // namespace zcb
