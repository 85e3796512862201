#include "harness/remote/remote_request.h"

#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "harness/plan/parameters.h"
#include "harness/plan/spec.h"
#include "workloads/registry.h"

namespace zcb {
namespace {

// What one server takes of an authenticated client: its buffers and its waits are bounded.
constexpr uint64_t kMaxReceiveBytes = 1ull << 30;  // message size and pattern period
constexpr double kMaxReceiveTimeoutS = 3600;
constexpr double kMaxDrainS = 60;

// The receiving-end parameter a request's field sets: "KEY", or "KEY.OPTION" for one
// option of a key-value parameter (workload_options.NAME); nullptr for any other field.
const Parameter* FindReceivingEndParameter(const std::string& field) {
  const size_t dot = field.find('.');
  const std::string_view key = std::string_view(field).substr(0, dot);
  for (const Parameter* p : ReceivingEndParameters()) {
    if (p->key == key && (dot != std::string::npos) == (p->key_values != nullptr)) return p;
  }
  return nullptr;
}

// Every option given is one the workload declares, with a value it takes (the workload
// itself the parser of 'workload' has found: a server does not know a newer workload).
Status CheckWorkloadOptions(const TrialSpec& spec) {
  ZCB_ASSIGN_OR_RETURN(const WorkloadInfo* workload, FindWorkload(spec.workload));
  for (const auto& [option, value] : spec.workload_options) {
    auto checked = workload->ParseOptions({{option, value}});
    if (!checked.ok()) return Usagef("field 'workload_options.{}': {}", option, checked.error().what());
  }
  return OkStatus();
}

// The bounds above; the table's parsers have taken the values already.
Status CheckServerBounds(const TrialSpec& spec) {
  if (spec.message_size > kMaxReceiveBytes) {
    return Usagef("field 'message_size': {} bytes, this server takes at most {}", spec.message_size, kMaxReceiveBytes);
  }
  if (spec.pattern_period > kMaxReceiveBytes) {
    return Usagef("field 'pattern_period': {} bytes, this server takes at most {}", spec.pattern_period,
                  kMaxReceiveBytes);
  }
  if (spec.receive_timeout_s > kMaxReceiveTimeoutS) {
    return Usagef("field 'receive_timeout': {} s, this server takes at most {} s", spec.receive_timeout_s,
                  kMaxReceiveTimeoutS);
  }
  if (spec.drain_s > kMaxDrainS)
    return Usagef("field 'drain': {} s, this server takes at most {} s", spec.drain_s, kMaxDrainS);
  return OkStatus();
}

}  // namespace

remote::TrialRequest MakeTrialRequest(const TrialSpec& spec, uint32_t flow_id) {
  remote::TrialRequest request;
  for (const Parameter* p : ReceivingEndParameters()) {
    if (!p->applies.Holds(spec.protocol)) continue;
    if (p->key_values != nullptr) {
      // One field per option given: "workload_options.NAME".
      const auto options = p->receiving_end_options != nullptr ? p->receiving_end_options(spec) : spec.*p->key_values;
      for (const auto& [option, value] : options) request.parameters[fmt::format("{}.{}", p->key, option)] = value;
    } else {
      request.parameters[std::string(p->key)] = p->read(spec);
    }
  }
  request.flow_id = spec.protocol == Protocol::kUdp ? flow_id : 0;
  return request;
}

Result<TrialSpec> ReadTrialRequest(const remote::TrialRequest& request) {
  const SpecCatalog& catalog = SpecCatalog::Registered();
  TrialSpec spec;
  for (const auto& [key, text] : request.parameters) {
    const Parameter* p = FindReceivingEndParameter(key);
    if (p == nullptr) {
      std::vector<std::string> keys;
      for (const Parameter* known : ReceivingEndParameters()) {
        keys.push_back(known->key_values != nullptr ? fmt::format("{}.NAME", known->key) : std::string(known->key));
      }
      return Usagef("field '{}': not a parameter of a receiving end (they are: {})", key, fmt::join(keys, ", "));
    }
    if (p->key_values != nullptr) {
      const std::string option = key.substr(key.find('.') + 1) + "=" + text;
      auto canonical = p->parse(option, catalog);
      if (!canonical.ok()) return Usagef("field '{}': {}", key, canonical.error().what());
      SetOption(*p, *canonical, spec);
      continue;
    }
    auto canonical = p->parse(text, catalog);
    if (!canonical.ok()) return Usagef("field '{}': {}", key, canonical.error().what());
    p->apply(*canonical, spec);
  }
  for (const Parameter* p : ReceivingEndParameters()) {
    if (p->key_values != nullptr) continue;  // none given is a valid set of options
    if (p->applies.Holds(spec.protocol) && request.parameters.count(std::string(p->key)) == 0) {
      return Usagef("field '{}' is missing (a {} trial's receiving end needs it)", p->key, ToString(spec.protocol));
    }
  }
  if (spec.protocol == Protocol::kUdp && request.flow_id == 0) {
    return Usagef("field 'flow_id': a UDP trial needs a flow id from 1 to {}", UINT32_MAX);
  }
  ZCB_RETURN_IF_ERROR(CheckWorkloadOptions(spec));
  ZCB_RETURN_IF_ERROR(CheckServerBounds(spec));
  if (const auto gaps = CheckReceivingEnd(spec); !gaps.empty()) return Usagef("{}", gaps.front().Message());
  return spec;
}

}  // namespace zcb
