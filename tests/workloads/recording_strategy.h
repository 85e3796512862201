#pragma once

// A SendStrategy for the workloads' tests: records every Send() and Finish(), sends nothing.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "stack/send_strategy.h"

namespace zcb {

// Records every Send() and Finish(); sends nothing.
class RecordingStrategy final : public SendStrategy {
 public:
  Status Send(uint64_t offset, size_t len) override {
    sends.push_back({offset, len});
    stats_.bytes_sent += len;
    return OkStatus();
  }
  Status Finish() override {
    ++finishes;
    return OkStatus();
  }
  struct Call {
    uint64_t offset;
    size_t len;
  };
  std::vector<Call> sends;
  int finishes = 0;
};

}  // namespace zcb
