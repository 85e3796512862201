#include "harness/trial/sibling_threads.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace zcb {
namespace {

constexpr const char* kPolicy =
    "one sibling per CPU: the CPUs other than the sender's and the receiver's, in increasing order, then the "
    "receiver's CPU only when no other is left; never the sender's";

}  // namespace

Result<std::vector<int>> PlaceSiblings(int count, std::optional<int> sender_cpu, std::optional<int> receiver_cpu,
                                       const std::vector<int>& allowed) {
  if (count <= 0) return std::vector<int>{};
  // The sender runs on one of the allowed CPUs, pinned or not.
  const size_t besides_sender = allowed.empty() ? 0 : allowed.size() - 1;
  if (static_cast<size_t>(count) > besides_sender) {
    return Unsupportedf(
        "siblings = {} needs {} CPUs besides the sender's and this process may run on {} CPU{} ({}){}: at most {} "
        "sibling{} here",
        count, count, allowed.size(), allowed.size() == 1 ? "" : "s", fmt::join(allowed, ","),
        sender_cpu ? fmt::format(", the sender on CPU {}", *sender_cpu) : std::string(), besides_sender,
        besides_sender == 1 ? "" : "s");
  }
  if (!sender_cpu) {
    return Usagef(
        "siblings = {} with an unpinned sender: siblings run on CPUs other than the sender's, so the sender must be "
        "pinned (pin = true, or --sender-cpu)",
        count);
  }
  std::vector<int> cpus;
  for (int cpu : allowed) {
    if (cpu != *sender_cpu && cpu != receiver_cpu) cpus.push_back(cpu);
  }
  if (receiver_cpu && *receiver_cpu != *sender_cpu && std::count(allowed.begin(), allowed.end(), *receiver_cpu) > 0) {
    cpus.push_back(*receiver_cpu);  // last: only when no other is left
  }
  cpus.resize(static_cast<size_t>(count));
  return cpus;
}

Result<std::unique_ptr<SiblingThreads>> SiblingThreads::Start(const TrialSpec& spec) {
  auto siblings = std::make_unique<SiblingThreads>();
  siblings->asked_ = SiblingsAsked(spec);
  if (spec.siblings == 0) return siblings;
  ZCB_ASSIGN_OR_RETURN(const std::vector<int> allowed, AllowedCpus());
  ZCB_ASSIGN_OR_RETURN(const std::vector<int> cpus,
                       PlaceSiblings(spec.siblings, spec.sender_cpu, spec.receiver_cpu, allowed));
  for (int cpu : cpus) {
    auto sibling = std::make_unique<Sibling>();
    sibling->cpu = cpu;
    sibling->shares_receiver_cpu = spec.receiver_cpu == cpu;
    if (Status started = sibling->thread.Start(cpu, spec.sibling_mode); !started.ok()) {
      return std::move(started).error().Context("siblings");
    }
    siblings->siblings_.push_back(std::move(sibling));
  }
  return siblings;
}

void SiblingThreads::Stop() {
  for (auto& sibling : siblings_) sibling->thread.Stop();
}

nlohmann::json SiblingThreads::ToJson() const {
  nlohmann::json out = asked_;
  nlohmann::json threads = nlohmann::json::array();
  for (const auto& sibling : siblings_) {
    out["cpus"].push_back(sibling->cpu);
    threads.push_back({{"cpu", sibling->cpu},
                       {"shares_receiver_cpu", sibling->shares_receiver_cpu},
                       {"tid", sibling->thread.tid()},
                       {"cpu_time_ns", sibling->thread.cpu_time_ns()}});
  }
  out["threads"] = threads;
  return out;
}

nlohmann::json SiblingsAsked(const TrialSpec& spec) {
  return {{"count", spec.siblings},
          {"mode", ToString(spec.sibling_mode)},
          {"policy", kPolicy},
          {"cpus", nlohmann::json::array()},
          {"threads", nlohmann::json::array()}};
}

}  // namespace zcb
