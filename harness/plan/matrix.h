#pragma once

// Matrix expansion: a spec's axes multiplied out into points (one TrialSpec each), minus
// the combinations no strategy can serve (left out by capability, and listed with the
// reason) and minus the points [[exclude]] rules remove (listed with the rule).
//
// Capability filtering reads the strategies' declarations (protocols, payload sources,
// options) and never a name. Option axes apply to the strategies (paths) that declare
// the option; the others are measured once, with their defaults.

#include <map>
#include <string>
#include <vector>

#include "harness/plan/spec.h"
#include "harness/trial/trial.h"

namespace zcb {

struct MatrixPoint {
  TrialSpec spec;         // everything but the seed, which the run sets
  std::string path_name;  // as in matrix.path: a [path.NAME] or a registered path
  // Axis key (as [[exclude]] names it) -> canonical value.
  std::map<std::string, std::string> coords;
  // "tcp write memory 64K loopback verify", with non-default extras appended.
  std::string label;
};

// The point of `spec` with its coordinates and label from the parameter table (the
// expansion appends the option axes' values to both).
MatrixPoint MakePoint(TrialSpec spec);

// Sets what [trial] gives (durations, pinning, timeouts, buffers, host-constraint sizes)
// on a point's trial. `where_applicable`: a setting that does not apply to the point
// (UDP_GRO on a TCP point) is left at its default, as a spec shared by TCP and UDP points
// wants; without it every setting is set, and ResolveTrial refuses what does not fit.
void ApplyTrialSettings(const TrialSettings& settings, TrialSpec& spec, bool where_applicable);

// Combinations left out because no strategy could serve them, grouped by the axes
// that decide it ("protocol=udp strategy=write").
struct LeftOut {
  std::string combination;
  std::string reason;
  size_t points = 0;
};

struct ExcludedPoint {
  std::string label;
  int rule_line = 0;
  std::string reason;
};

struct Matrix {
  std::vector<MatrixPoint> points;
  std::vector<LeftOut> left_out;
  std::vector<ExcludedPoint> excluded;
  // Facts worth a line in the plan: exclude rules that matched nothing, option axes that
  // only some strategies have.
  std::vector<std::string> notes;
};

Matrix ExpandMatrix(const ExperimentSpec& spec, const SpecCatalog& catalog);

}  // namespace zcb
