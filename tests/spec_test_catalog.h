#pragma once

// A small, fixed catalog of strategies and paths for spec and matrix tests, so that
// expected counts do not change when strategies are added to the real registry.
//
//   tcp_mem    tcp       memory              no options
//   tcp_file   tcp       file                header: none|cork|more
//   udp_only   udp       memory              no options
//   dual       tcp, udp  memory, generated   batch: int
//   paths: lo (no options), dev (sg: on|off|keep, needs root)
//   workloads: bulk (no options), files (count: int 1-8), exchange (TCP only, no options)

#include "harness/plan/spec.h"

namespace zcb::testing {

inline StrategyInfo FakeStrategy(std::string name, EnumSet<Protocol> protocols, std::vector<SourceKind> sources,
                                 std::vector<OptionSpec> options = {}) {
  StrategyInfo info;
  info.name = std::move(name);
  info.summary = "fake strategy for tests";
  info.caps.protocols = protocols;
  info.caps.sources = std::move(sources);
  info.options = std::move(options);
  info.probe = [] { return Availability{}; };
  return info;
}

inline PathInfo FakePath(std::string name, bool needs_root, std::vector<OptionSpec> options = {}) {
  PathInfo info;
  info.name = std::move(name);
  info.summary = "fake path for tests";
  info.caps.needs_root = needs_root;
  info.options = std::move(options);
  return info;
}

inline WorkloadInfo FakeWorkload(std::string name, std::vector<OptionSpec> options) {
  WorkloadInfo info;
  info.name = std::move(name);
  info.summary = "fake workload for tests";
  info.needs.protocols = EnumSet<Protocol>{Protocol::kTcp, Protocol::kUdp};
  info.needs.sources = AllSourceKinds();
  info.options = std::move(options);
  return info;
}

// A workload that runs over TCP only (as request_response does).
inline WorkloadInfo FakeTcpWorkload(std::string name) {
  WorkloadInfo info = FakeWorkload(std::move(name), {});
  info.needs.protocols = EnumSet<Protocol>{Protocol::kTcp};
  return info;
}

inline const SpecCatalog& TestCatalog() {
  static const SpecCatalog catalog = [] {
    SpecCatalog c;
    c.strategies = {
        FakeStrategy("tcp_mem", {Protocol::kTcp}, {SourceKind::kMemory}),
        FakeStrategy("tcp_file", {Protocol::kTcp}, {SourceKind::kFile},
                     {{"header", OptionType::kChoice, "none", "header mode", {"none", "cork", "more"}}}),
        FakeStrategy("udp_only", {Protocol::kUdp}, {SourceKind::kMemory}),
        FakeStrategy("dual", {Protocol::kTcp, Protocol::kUdp}, {SourceKind::kMemory, SourceKind::kGenerated},
                     {{"batch", OptionType::kInt, "1", "messages per call", {}}}),
    };
    c.paths = {
        FakePath("lo", false),
        FakePath("dev", true, {{"sg", OptionType::kChoice, "keep", "scatter-gather", {"on", "off", "keep"}}}),
    };
    c.workloads = {FakeWorkload("bulk", {}),
                   FakeWorkload("files", {OptionSpec{"count", OptionType::kInt, "1", "files per trial"}.InRange(1, 8)}),
                   FakeTcpWorkload("exchange")};
    return c;
  }();
  return catalog;
}

}  // namespace zcb::testing
