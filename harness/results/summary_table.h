#pragma once

// Human-readable tables of trial records, for the terminal.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace zcb {

// One row per record: strategy, source, size, status, goodput, CPU per KiB, integrity,
// zero-copy completions (copied/total); with UDP trials, datagrams received/sent and loss.
std::string FormatSummaryTable(const std::vector<nlohmann::json>& records);

// "18.52 Gbit/s"
std::string FormatBitRate(double bps);

}  // namespace zcb
