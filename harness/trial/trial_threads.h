#pragma once

// The threads of a trial: pinning one to a CPU and naming it to the probes.

#include <optional>

#include "stack/result.h"

namespace zcb {

// Pins the calling thread to `cpu` (nothing for nullopt). `who` is "sender" or "receiver".
Status PinThread(std::optional<int> cpu, const char* who);

// The calling thread's kernel id (what the probes and the thread CPU clocks know it by).
int CurrentTid();

}  // namespace zcb
