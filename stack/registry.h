#pragma once

// The strategy registry: every strategy is listed once, here, by its StrategyInfo.

#include <string_view>
#include <vector>

#include "stack/result.h"
#include "stack/send_strategy.h"

namespace zcb {

// All strategies: those that speak TCP first (from the copying baseline `write`), then the
// UDP-only ones; the order `zcbench list strategies` prints.
const std::vector<StrategyInfo>& AllStrategies();

// The strategy called `name`, or an error that lists the valid names.
Result<const StrategyInfo*> FindStrategy(std::string_view name);

// Availability, probed once per process (probes open sockets and rings).
const Availability& ProbeAvailability(const StrategyInfo& info);

}  // namespace zcb
