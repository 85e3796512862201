#pragma once

// One declaration per strategy file (stack/strategy_<name>.cc). The registry lists them.

#include "stack/send_strategy.h"

namespace zcb {

StrategyInfo WriteStrategyInfo();
StrategyInfo WritevStrategyInfo();
StrategyInfo MmapWriteStrategyInfo();
StrategyInfo SendfileStrategyInfo();
StrategyInfo SpliceStrategyInfo();
StrategyInfo VmspliceStrategyInfo();
StrategyInfo MsgZerocopyStrategyInfo();
StrategyInfo IoUringSendStrategyInfo();
StrategyInfo IoUringSendZcStrategyInfo();
StrategyInfo MemfdSendfileStrategyInfo();
StrategyInfo SendtoStrategyInfo();
StrategyInfo SendmmsgStrategyInfo();
StrategyInfo UdpGsoStrategyInfo();
StrategyInfo PacketTxRingStrategyInfo();

}  // namespace zcb
