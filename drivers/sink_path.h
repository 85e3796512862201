#pragma once

#include "drivers/network_path.h"

namespace zcb {

// A path where zero-copy is real on one machine: the sender in a network namespace of
// its own, whose packets are freed before any local delivery (where the kernel would
// copy the pages a zero-copy sender lent) and counted. The dropping device is chosen by
// what the kernel has (path option `device`, default auto): a dummy device, which frees
// every packet it is given, or else a veth pair whose far end drops every packet at tc
// ingress (sink.bpf.c). Nothing receives: UDP only; the record says which device it was.
PathInfo SinkPathInfo();

}  // namespace zcb
