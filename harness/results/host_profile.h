#pragma once

// What a reader needs to know about the machine and the build to trust, compare or
// reproduce a run (manifest.json, docs/ARCHITECTURE.md "Records"). Everything is read, not assumed: a field
// the machine does not expose is null, with the reason next to it where one is known.

#include <string>

#include <nlohmann/json.hpp>

namespace zcb {

// host: hostname, cpu_model, cores, numa_nodes, memory_bytes, kernel_release,
// kernel_version, kernel_cmdline, virtualization, pmu_available, bpf_available, thp,
// governor, sysctls {name: value}, memlock_limit_bytes, and details beside them.
nlohmann::json HostProfile();

// zcbench: version, git_commit and git_dirty of the source tree the binary was built
// from (read at run time; null when the tree is not a git checkout any more).
nlohmann::json ZcbenchInfo();

// build: compiler, flags, build_type.
nlohmann::json BuildInfo();

// libraries: name -> version, for the libraries zcbench is linked with.
nlohmann::json LibraryVersions();

// The sysctls recorded in the host profile.
const std::vector<std::string>& RecordedSysctls();

}  // namespace zcb
