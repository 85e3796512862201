// How fast the receiver checks bytes against the pattern, per core. The receiver's
// `verify` mode must stay far above the network rate (>= 8 GB/s per core), so that
// verification never limits a trial. Run: build/workloads/micro/zcb_micro
//   --benchmark_filter=Pattern

#include <benchmark/benchmark.h>

#include <vector>

#include "stack/pattern.h"
#include "stack/stream_receiver.h"

namespace {

// Verifying one receive buffer's worth of stream bytes at a moving stream offset, as
// StreamReceiver does after each recv().
void BM_PatternVerify(benchmark::State& state) {
  const size_t chunk = static_cast<size_t>(state.range(0));
  zcb::Pattern pattern(42);
  std::vector<uint8_t> data(chunk);
  uint64_t offset = 12345;  // unaligned, like a real stream position
  std::vector<std::vector<uint8_t>> chunks;
  for (int i = 0; i < 4; ++i) {
    chunks.emplace_back(chunk);
    pattern.Fill(offset + i * chunk, {chunks.back().data(), chunk});
  }
  int i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(pattern.FindMismatch(offset + i * chunk, {chunks[i].data(), chunk}));
    i = (i + 1) % 4;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * chunk));
}
BENCHMARK(BM_PatternVerify)->Arg(16 << 10)->Arg(64 << 10)->Arg(256 << 10);

// The worst case: the data is not in any cache (a 64 MiB working set walked in 256 KiB
// receive-buffer steps), so the check runs at DRAM speed. The receiver never sees this
// (it checks what recv() has just copied into a cache-resident buffer), but it bounds
// what verification can cost.
void BM_PatternVerifyFromDram(benchmark::State& state) {
  constexpr size_t kChunk = 256 << 10;
  constexpr size_t kWorkingSet = 64 << 20;
  zcb::Pattern pattern(42);
  std::vector<uint8_t> data(kWorkingSet);
  pattern.Fill(0, data);
  size_t at = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(pattern.FindMismatch(at, {data.data() + at, kChunk}));
    at = (at + kChunk) % kWorkingSet;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunk));
}
BENCHMARK(BM_PatternVerifyFromDram);

// Producing the pattern (what a `generated` source pays per message).
void BM_PatternFill(benchmark::State& state) {
  const size_t chunk = static_cast<size_t>(state.range(0));
  zcb::Pattern pattern(42);
  std::vector<uint8_t> data(chunk);
  uint64_t offset = 0;
  for (auto _ : state) {
    pattern.Fill(offset, {data.data(), chunk});
    benchmark::ClobberMemory();
    offset += chunk;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * chunk));
}
BENCHMARK(BM_PatternFill)->Arg(64 << 10);

}  // namespace
