#include "harness/trial/trial_payload.h"

#include <algorithm>

#include <fmt/format.h>

namespace zcb {

PayloadConfig PayloadConfigFor(const ResolvedTrial& trial) {
  PayloadConfig config;
  config.kind = trial.source;
  config.max_message = trial.spec.message_size;
  config.file_dir = trial.spec.file_dir;
  config.cold = trial.spec.cold_cache;
  config.working_set = trial.spec.working_set.value_or(DefaultWorkingSet());
  // A trial of a known byte count never sends a byte twice from a working set that large:
  // the rest would only cost memory (and a cold file's disk writes).
  if (trial.spec.bytes) config.working_set = std::min<uint64_t>(config.working_set, *trial.spec.bytes);
  return config;
}

nlohmann::json PayloadJson(const ResolvedTrial& trial, const PayloadSource& payload, const MeasuredWindow& window,
                           uint64_t bytes_sent) {
  nlohmann::json out = nlohmann::json::object();
  if (payload.kind() == SourceKind::kGenerated) {
    out["working_set_bytes"] = nullptr;
    out["working_set_bytes_reason"] =
        "the generated source writes each message just before sending it (cache-hot by design)";
  } else {
    out["working_set_bytes"] = payload.cycle();
    out["working_set_source"] =
        trial.spec.working_set ? "given (--working-set, working_set)"
        : LastLevelCache()
            ? fmt::format("default: {} times the last-level cache", kWorkingSetPerLlc)
            : fmt::format("default: {} MiB, the last-level cache size is unknown", kWorkingSetWithoutLlc >> 20);
    if (trial.spec.bytes && payload.config().working_set == *trial.spec.bytes) {
      out["working_set_source"] =
          out["working_set_source"].get<std::string>() + ", cut to the bytes sent (each sent once)";
    }
    // Parallel streams each send from a payload of their own, of this working set.
    const int streams = std::max(trial.spec.streams, 1);
    out["passes"] = static_cast<double>(bytes_sent) / (static_cast<double>(payload.cycle()) * streams);
    if (streams > 1) {
      out["streams_note"] =
          "each stream sends from a payload of its own of this working set: passes is their mean; file_bytes and "
          "page_cache_drops are the first stream's";
    }
  }
  if (const auto llc = LastLevelCache()) {
    out["llc_bytes"] = llc->bytes;
    out["llc_source"] = llc->source;
  } else {
    out["llc_bytes"] = nullptr;
    out["llc_bytes_reason"] = "sysfs (/sys/devices/system/cpu/cpu0/cache) names no data or unified cache";
  }
  if (payload.kind() == SourceKind::kFile) {
    out["file_system"] = payload.file_system();
    out["file_bytes"] = payload.file_size();
    out["page_cache_drops"] = payload.page_cache_drops();
  }
  if (window.device_read_before && window.device_read_after) {
    out["device_read_bytes"] = *window.device_read_after - *window.device_read_before;
    out["device_read_bytes_source"] =
        "/proc/self/io read_bytes over the window: bytes the process caused to be read from the storage layer, "
        "readahead "
        "included; pages another process had already brought in are not counted";
  } else {
    out["device_read_bytes"] = nullptr;
    out["device_read_bytes_reason"] = "/proc/self/io could not be read (a kernel without task I/O accounting)";
  }
  return out;
}

}  // namespace zcb
