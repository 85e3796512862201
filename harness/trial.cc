#include "harness/trial.h"

namespace zcb {

nlohmann::json TrialParamsJson(const ResolvedTrial& trial) { return TrialParams::Of(trial).ToJson(); }

}  // namespace zcb
