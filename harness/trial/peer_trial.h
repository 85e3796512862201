#pragma once

// A peer's trial (harness/peers/): the peer's server and client run instead of zcbench's
// receiver and sender, on the same path (the server in the path's receiver namespace,
// the client in the sender's, inside the sender's host constraints), pinned to the same
// CPUs, for the same duration, inside the same probe window. Its figures come from the
// peer's own output; its CPU from the peer processes' resource usage (wait4) and the same
// system-wide counters as zcbench's trials. Its integrity is "not verified by zcbench".

#include "harness/trial/trial.h"

namespace zcb {

// Fills `record` (trial.peer is set); the failure, if any, is returned for the record.
Status RunPeerTrial(const ResolvedTrial& trial, const TrialContext& context, TrialRecord& record);

}  // namespace zcb
