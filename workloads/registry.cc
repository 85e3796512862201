#include "workloads/registry.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "workloads/workloads.h"

namespace zcb {

const std::vector<WorkloadInfo>& AllWorkloads() {
  static const std::vector<WorkloadInfo> all = {BulkWorkloadInfo(), RequestResponseWorkloadInfo(),
                                                FileServingWorkloadInfo(), HttpResponseWorkloadInfo()};
  return all;
}

std::vector<std::string> WorkloadNames() {
  std::vector<std::string> names;
  for (const WorkloadInfo& info : AllWorkloads()) names.push_back(info.name);
  return names;
}

Result<const WorkloadInfo*> FindWorkload(std::string_view name) {
  const auto& all = AllWorkloads();
  const auto it = std::find_if(all.begin(), all.end(), [&](const WorkloadInfo& w) { return w.name == name; });
  if (it == all.end())
    return Usagef("unknown workload '{}'; valid workloads: {}", name, fmt::join(WorkloadNames(), ", "));
  return &*it;
}

Result<std::unique_ptr<Workload>> CreateWorkload(std::string_view name,
                                                 const std::map<std::string, std::string>& given) {
  ZCB_ASSIGN_OR_RETURN(const WorkloadInfo* info, FindWorkload(name));
  ZCB_ASSIGN_OR_RETURN(const Options options, info->ParseOptions(given));
  return info->create(options);
}

Result<Options> WorkloadInfo::ParseOptions(const std::map<std::string, std::string>& given) const {
  return Options::Parse(options, given, "workload " + name);
}

std::string_view ToString(ReceiverExpectation expectation) {
  switch (expectation) {
    case ReceiverExpectation::kPatternStream:
      return "pattern stream";
    case ReceiverExpectation::kRequestResponse:
      return "request/response exchange";
    case ReceiverExpectation::kHttpResponses:
      return "exchange of HTTP responses";
  }
  return "?";
}

bool WorkloadInfo::Serves(const StrategyInfo& strategy, Protocol protocol, SourceKind source) const {
  return needs.protocols.Has(protocol) && strategy.Speaks(protocol) && strategy.CanSend(source) &&
         (!needs.responses || strategy.caps.sends_responses) &&
         std::find(needs.sources.begin(), needs.sources.end(), source) != needs.sources.end();
}

bool WorkloadInfo::Serves(const StrategyInfo& strategy, SourceKind source) const {
  return std::any_of(AllProtocols().begin(), AllProtocols().end(),
                     [&](Protocol p) { return Serves(strategy, p, source); });
}

}  // namespace zcb
