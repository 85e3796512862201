#pragma once

// The client side of a trial whose receiver runs on another host (a path with
// capabilities().remote_receiver): negotiate a receiver with the peer, stream to it from
// a pinned sender thread, and merge the peer's metrics (bytes, integrity, its CPU) into
// the same record a local trial produces.

#include <nlohmann/json.hpp>

#include "drivers/host_constraints.h"
#include "drivers/network_path.h"
#include "harness/trial.h"
#include "stack/payload.h"

namespace zcb {

// `record` is the record RunTrial began (schema, params, point, started_at); the
// returned record is complete. `constraints` may be null.
nlohmann::json RunRemoteTrial(const ResolvedTrial& trial, const TrialContext& context, NetworkPath& path, Payload& payload,
                              HostConstraints* constraints, nlohmann::json record);

}  // namespace zcb
