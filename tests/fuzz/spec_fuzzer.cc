// Fuzz target: an experiment spec as `zcbench run SPEC` reads it. The bytes are the TOML
// text; ParseSpec checks it against the parameter table and the registered strategies,
// paths and workloads, and a spec it accepts is expanded into its run plan, as the run
// does before the first trial (a matrix is expanded point by point: an input may ask for a
// large one, and the expansion must refuse it rather than exhaust memory).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "harness/plan/run_plan.h"
#include "harness/plan/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const zcb::SpecCatalog& catalog = zcb::SpecCatalog::Registered();
  auto spec = zcb::ParseSpec(text, "fuzz.toml", catalog);
  if (!spec.ok()) return 0;
  (void)zcb::BuildRunPlan(std::move(*spec), catalog, /*seed=*/1, /*quick=*/false);
  return 0;
}
