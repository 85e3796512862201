#pragma once

// The strategy registry: every strategy is listed once, here, by its StrategyInfo.

#include <string_view>
#include <vector>

#include "stack/result.h"
#include "stack/send_strategy.h"

namespace zcb {

// All strategies, in the order of DESIGN.md's table.
const std::vector<StrategyInfo>& AllStrategies();

// The strategy called `name`, or an error that lists the valid names.
Result<const StrategyInfo*> FindStrategy(std::string_view name);

// Availability, probed once per process (probes open sockets and rings).
const Availability& ProbeAvailability(const StrategyInfo& info);

}  // namespace zcb
