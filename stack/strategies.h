#pragma once

// One declaration per strategy file (stack/strategy_<name>.cc). The registry lists them.

#include "stack/send_strategy.h"

namespace zcb {

StrategyInfo WriteStrategyInfo();
StrategyInfo WritevStrategyInfo();
StrategyInfo SendfileStrategyInfo();

}  // namespace zcb
