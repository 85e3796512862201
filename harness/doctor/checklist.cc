#include "harness/doctor/checklist.h"

#include <sys/utsname.h>

#include <fstream>
#include <utility>

#include <fmt/format.h>

#include "harness/doctor/checks.h"

namespace zcb {
namespace doctor {

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (in) std::getline(in, line);
  return line;
}

}  // namespace doctor

std::vector<SupportCheck> CheckHostSupport() {
  std::vector<SupportCheck> checks;
  auto add = [&checks](std::vector<SupportCheck> area) {
    for (SupportCheck& check : area) checks.push_back(std::move(check));
  };
  utsname u{};
  ::uname(&u);
  checks.push_back({"kernel", "release", true, fmt::format("{} {} ({})", u.sysname, u.release, u.machine), ""});

  const uint64_t caps = doctor::EffectiveCapabilities();
  add(doctor::PrivilegeChecks(caps));
  // The catalog of tracepoints (from the kernel BTF and tracefs) serves both areas.
  const TracepointCatalog catalog = TracepointCatalog::Load({});
  add(doctor::BpfChecks(catalog));
  add(doctor::TracepointChecks(catalog));
  add(doctor::MeasurementChecks());
  add(doctor::ZeroCopyChecks());
  add(doctor::LimitChecks(caps));
  return checks;
}

nlohmann::json SupportChecksJson(const std::vector<SupportCheck>& checks) {
  nlohmann::json out = nlohmann::json::array();
  for (const SupportCheck& c : checks) {
    out.push_back({{"area", c.area},
                   {"name", c.name},
                   {"ok", c.ok},
                   {"detail", c.detail},
                   {"disables", c.disables.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.disables)}});
  }
  return out;
}

}  // namespace zcb
