#pragma once

#include "drivers/network_path.h"

namespace zcb {

// The receiver on another host, run by `zcbench serve` there: the path connects to the
// peer's control port and authenticates when it is created (so that a wrong peer or
// token fails at once), and each trial negotiates a receiver over that connection.
PathInfo RemotePathInfo();

}  // namespace zcb
