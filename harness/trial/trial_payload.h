#pragma once

// The payload a trial sends from (workloads/payload_source.h), configured from the trial, and the
// record's metrics.payload object describing it.

#include <cstdint>

#include <nlohmann/json.hpp>

#include "harness/trial/measured_window.h"
#include "harness/trial/trial.h"
#include "workloads/payload_source.h"

namespace zcb {

// The payload a trial sends from: its source, message size, file and working set.
PayloadConfig PayloadConfigFor(const ResolvedTrial& trial);

// The record's `payload` object: the working set the sends cycled through and why that
// size, the host's last-level cache, passes over it, and the bytes read from the device.
nlohmann::json PayloadJson(const ResolvedTrial& trial, const PayloadSource& payload, const MeasuredWindow& window,
                           uint64_t bytes_sent);

}  // namespace zcb
