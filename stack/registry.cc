#include "stack/registry.h"

#include <algorithm>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "stack/strategies.h"

namespace zcb {

bool StrategyInfo::CanSend(SourceKind s) const {
  return std::find(caps.sources.begin(), caps.sources.end(), s) != caps.sources.end();
}

const std::vector<StrategyInfo>& AllStrategies() {
  static const std::vector<StrategyInfo> all = {
      WriteStrategyInfo(),         WritevStrategyInfo(),        MmapWriteStrategyInfo(),   SendfileStrategyInfo(),
      SpliceStrategyInfo(),        VmspliceStrategyInfo(),      MsgZerocopyStrategyInfo(), IoUringSendStrategyInfo(),
      IoUringSendZcStrategyInfo(), MemfdSendfileStrategyInfo(), SendtoStrategyInfo(),      SendmmsgStrategyInfo(),
      UdpGsoStrategyInfo(),        PacketTxRingStrategyInfo(),
  };
  return all;
}

Result<const StrategyInfo*> FindStrategy(std::string_view name) {
  std::string names;
  for (const auto& info : AllStrategies()) {
    if (info.name == name) return &info;
    names += names.empty() ? info.name : ", " + info.name;
  }
  return Usagef("unknown strategy '{}'; valid strategies: {}", name, names);
}

const Availability& ProbeAvailability(const StrategyInfo& info) {
  static std::mutex mutex;
  static std::map<std::string, Availability> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find(info.name);
  if (it == cache.end()) it = cache.emplace(info.name, info.probe ? info.probe() : Availability{}).first;
  return it->second;
}

}  // namespace zcb
