// Is mapping a file cheaper than copying it? The primitives a server chooses between to send
// N KiB of a page-cache file, below the socket layer, 4 KiB to 4 MiB:
//
//   BM_MmapMunmap       mmap + munmap, pages never touched: the cost of the mapping alone
//   BM_MmapTouchMunmap  mmap + read one byte per page + munmap: what a server that writes
//                       from the mapping pays before the socket copies (page faults, page-
//                       table entries, and at munmap the TLB flush)
//   BM_Pread            pread() of N bytes at offset 0 into a buffer: the kernel's copy
//   BM_MemcpyFromCache  memcpy of N bytes from a source copied every iteration (cache-resident
//                       up to about the last-level cache; above it, it streams)
//   BM_MemcpyFromDram   memcpy of N bytes from a 256 MiB source walked in N-byte steps (8x
//                       this VM's 32 MiB L3): the copy from memory
//
// Each runs with `siblings:0` and `siblings:1`: with 1, a thread of this process spins on
// another CPU while the benchmark thread (pinned) runs, so that munmap of touched pages must
// flush that CPU's TLB too, a remote shootdown (see stack/sibling_thread.h). On a machine with
// one usable CPU the sibling runs are skipped with the reason. The question: can mmap +
// munmap cost more than copying a small file?
//
// The file is a page-cache file of 4 MiB created (and unlinked) in $ZCB_MICRO_FILE_DIR, or
// the current directory; it is written, synced (no dirty pages for writeback to
// write-protect during the run) and read once before any benchmark, so it is warm. The
// context of the JSON output says which file system held it.
//
// Counters, each per iteration: bytes/s (SetBytesProcessed: N per iteration);
// tlb_shootdowns_per_iter, from the /proc/interrupts "TLB" row around the run (system-wide,
// a lower bound in a VM: interrupt_counts.h), 0 when the row is absent, the label then says
// so; minor_faults_per_iter, from getrusage(RUSAGE_THREAD) of the benchmark thread.
//
// Run: workloads/micro/run_map_vs_copy.py --out results/<run> (keeps the JSON, prints where
// map+unmap stops costing more than a copy), or build/workloads/micro/zcb_micro
//   --benchmark_filter='BM_(Mmap|Pread|Memcpy)'

#include <benchmark/benchmark.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "stack/result.h"
#include "stack/sibling_thread.h"
#include "stack/unique_fd.h"
#include "workloads/micro/interrupt_counts.h"

namespace zcb::micro {
namespace {

constexpr int64_t kMinBytes = 4 << 10;
constexpr int64_t kMaxBytes = 4 << 20;
constexpr size_t kDramSourceBytes = 256 << 20;
constexpr size_t kPage = 4096;  // the stride of the touch: one read per base page
constexpr const char* kFileDirVariable = "ZCB_MICRO_FILE_DIR";

// The benchmark thread's CPU and its sibling's: the first two CPUs this process may run on;
// unsupported when it has only one (the sibling variant cannot be measured there).
struct CpuPair {
  int benchmark_cpu = -1;
  int sibling_cpu = -1;
};

Result<CpuPair> ChooseCpuPair() {
  ZCB_ASSIGN_OR_RETURN(const std::vector<int> cpus, AllowedCpus());
  if (cpus.size() < 2) {
    return Unsupportedf("a sibling on another CPU needs 2 CPUs and this process may run on {} only", cpus.size());
  }
  return CpuPair{cpus[0], cpus[1]};
}

std::string FileDir() {
  const char* dir = std::getenv(kFileDirVariable);
  return dir != nullptr && *dir != '\0' ? dir : ".";
}

std::string FileSystemName(const std::string& dir) {
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0) return fmt::format("unknown (statfs: {})", std::strerror(errno));
  switch (static_cast<unsigned long>(fs.f_type)) {
    case EXT4_SUPER_MAGIC:
      return "ext2/3/4";
    case TMPFS_MAGIC:
      return "tmpfs";
    case XFS_SUPER_MAGIC:
      return "xfs";
    case BTRFS_SUPER_MAGIC:
      return "btrfs";
    case OVERLAYFS_SUPER_MAGIC:
      return "overlayfs";
    default:
      return fmt::format("magic {:#x}", static_cast<unsigned long>(fs.f_type));
  }
}

// The JSON's context says how the numbers were taken; registered before main() runs.
[[maybe_unused]] const bool kContextRegistered = [] {
  benchmark::AddCustomContext("map_vs_copy_file_system", FileSystemName(FileDir()));
  benchmark::AddCustomContext("map_vs_copy_file_bytes", std::to_string(kMaxBytes));
  benchmark::AddCustomContext("map_vs_copy_dram_source_bytes", std::to_string(kDramSourceBytes));
  benchmark::AddCustomContext("map_vs_copy_sibling", "a thread of the process spinning on another CPU");
  benchmark::AddCustomContext("map_vs_copy_tlb_shootdowns_source", "/proc/interrupts TLB row, all CPUs, per iteration");
  return true;
}();

// The warm page-cache file all file benchmarks share: kMaxBytes, written, synced, read once.
Result<int> WarmFile() {
  static std::unique_ptr<Result<UniqueFd>> file;
  if (!file) {
    file = std::make_unique<Result<UniqueFd>>([]() -> Result<UniqueFd> {
      std::string path = FileDir() + "/zcb-micro-map-vs-copy-XXXXXX";
      UniqueFd fd(::mkstemp(path.data()));
      if (!fd) return SysError(fmt::format("creating a file in {} (set {})", FileDir(), kFileDirVariable));
      ::unlink(path.c_str());
      std::vector<char> bytes(kMaxBytes);
      for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 131 + 7);
      if (::pwrite(fd.get(), bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
        return SysError("writing the benchmark file");
      }
      if (::fdatasync(fd.get()) != 0) return SysError("fdatasync of the benchmark file");
      if (::pread(fd.get(), bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
        return SysError("reading the benchmark file once to warm it");
      }
      return fd;
    }());
  }
  if (!file->ok()) return file->error();
  return file->value().get();
}

// A source far larger than the last-level cache, filled once (so its pages exist).
const std::vector<char>& DramSource() {
  static const std::vector<char> source(kDramSourceBytes, 1);
  return source;
}

// The benchmark's first argument: the bytes each iteration maps, reads or copies.
size_t BytesOf(const benchmark::State& state) { return static_cast<size_t>(state.range(0)); }

uint64_t ThreadMinorFaults() {
  struct rusage usage {};
  ::getrusage(RUSAGE_THREAD, &usage);
  return static_cast<uint64_t>(usage.ru_minflt);
}

// One run of a benchmark function: pins the thread, starts the sibling if asked, and
// writes the counters when it finishes. A run that cannot be set up is skipped with why.
class PrimitiveRun {
 public:
  explicit PrimitiveRun(benchmark::State& state) : state_(state), bytes_(BytesOf(state)) {
    Status set_up = SetUp(state.range(1) != 0);
    if (!set_up.ok()) {
      state.SkipWithError(set_up.error().ToString().c_str());
      return;
    }
    tlb_before_ = InterruptTotal("TLB");
    faults_before_ = ThreadMinorFaults();
    ready_ = true;
  }

  bool ready() const { return ready_; }
  size_t bytes() const { return bytes_; }

  // After the timed loop.
  void Finish() {
    const auto iterations = static_cast<double>(state_.iterations());
    if (!ready_ || iterations == 0) return;
    state_.SetBytesProcessed(static_cast<int64_t>(state_.iterations() * bytes_));
    state_.counters["minor_faults_per_iter"] = static_cast<double>(ThreadMinorFaults() - faults_before_) / iterations;
    std::optional<uint64_t> tlb_after = InterruptTotal("TLB");
    if (tlb_before_ && tlb_after) {
      state_.counters["tlb_shootdowns_per_iter"] = static_cast<double>(*tlb_after - *tlb_before_) / iterations;
      state_.SetLabel("tlb_shootdowns: /proc/interrupts TLB, all CPUs");
    } else {
      state_.counters["tlb_shootdowns_per_iter"] = 0;
      state_.SetLabel("tlb_shootdowns: not counted, /proc/interrupts has no TLB row here");
    }
  }

 private:
  Status SetUp(bool with_sibling) {
    if (!with_sibling) {
      // Pinned as with a sibling, so that the sibling is the only difference.
      auto cpus = ChooseCpuPair();
      int cpu = cpus.ok() ? cpus->benchmark_cpu : ::sched_getcpu();
      return pin_.Pin(cpu);
    }
    ZCB_ASSIGN_OR_RETURN(CpuPair cpus, ChooseCpuPair());
    ZCB_RETURN_IF_ERROR(pin_.Pin(cpus.benchmark_cpu));
    return sibling_.Start(cpus.sibling_cpu, SiblingMode::kSpin);
  }

  benchmark::State& state_;
  size_t bytes_;
  ScopedCpuPin pin_;
  SiblingThread sibling_;  // declared after pin_: stops before the pin is undone
  std::optional<uint64_t> tlb_before_;
  uint64_t faults_before_ = 0;
  bool ready_ = false;
};

// The file benchmarks' file descriptor, or a skip with the reason.
std::optional<int> FileFor(benchmark::State& state) {
  Result<int> fd = WarmFile();
  if (!fd.ok()) {
    state.SkipWithError(fd.error().ToString().c_str());
    return std::nullopt;
  }
  return *fd;
}

// mmap + munmap of the first `bytes` of the file per iteration, reading one byte per page
// in between if `touch`.
void MapUnmap(benchmark::State& state, bool touch) {
  std::optional<int> fd = FileFor(state);
  if (!fd) return;
  PrimitiveRun run(state);
  if (!run.ready()) return;
  for (auto _ : state) {
    void* map = ::mmap(nullptr, run.bytes(), PROT_READ, MAP_SHARED, *fd, 0);
    if (map == MAP_FAILED) {
      state.SkipWithError(SysError("mmap").ToString().c_str());
      break;
    }
    if (touch) {
      const volatile char* bytes = static_cast<const char*>(map);
      char sum = 0;
      for (size_t at = 0; at < run.bytes(); at += kPage) sum = static_cast<char>(sum + bytes[at]);
      benchmark::DoNotOptimize(sum);
    }
    benchmark::DoNotOptimize(map);
    ::munmap(map, run.bytes());
  }
  run.Finish();
}

void BM_MmapMunmap(benchmark::State& state) { MapUnmap(state, /*touch=*/false); }
void BM_MmapTouchMunmap(benchmark::State& state) { MapUnmap(state, /*touch=*/true); }

// The buffers of the copies are allocated and written before a PrimitiveRun starts, so that
// their page faults are not counted as the primitive's.

void BM_Pread(benchmark::State& state) {
  std::optional<int> fd = FileFor(state);
  if (!fd) return;
  std::vector<char> buffer(BytesOf(state), 0);
  PrimitiveRun run(state);
  if (!run.ready()) return;
  for (auto _ : state) {
    if (::pread(*fd, buffer.data(), run.bytes(), 0) != static_cast<ssize_t>(run.bytes())) {
      state.SkipWithError(SysError("pread of the whole size").ToString().c_str());
      break;
    }
    benchmark::ClobberMemory();
  }
  run.Finish();
}

void BM_MemcpyFromCache(benchmark::State& state) {
  std::vector<char> source(BytesOf(state), 1);
  std::vector<char> destination(BytesOf(state), 0);
  PrimitiveRun run(state);
  if (!run.ready()) return;
  for (auto _ : state) {
    std::memcpy(destination.data(), source.data(), run.bytes());
    benchmark::ClobberMemory();
  }
  run.Finish();
}

void BM_MemcpyFromDram(benchmark::State& state) {
  const std::vector<char>& source = DramSource();
  std::vector<char> destination(BytesOf(state), 0);
  PrimitiveRun run(state);
  if (!run.ready()) return;
  size_t at = 0;
  for (auto _ : state) {
    std::memcpy(destination.data(), source.data() + at, run.bytes());
    benchmark::ClobberMemory();
    at = (at + run.bytes()) % kDramSourceBytes;  // sizes are powers of two: no partial step
  }
  run.Finish();
}

void MapVsCopyArguments(benchmark::internal::Benchmark* b) {
  b->ArgNames({"bytes", "siblings"})->UseRealTime();
  for (int siblings : {0, 1}) {
    for (int64_t bytes = kMinBytes; bytes <= kMaxBytes; bytes *= 2) b->Args({bytes, siblings});
  }
}

BENCHMARK(BM_MmapMunmap)->Apply(MapVsCopyArguments);
BENCHMARK(BM_MmapTouchMunmap)->Apply(MapVsCopyArguments);
BENCHMARK(BM_Pread)->Apply(MapVsCopyArguments);
BENCHMARK(BM_MemcpyFromCache)->Apply(MapVsCopyArguments);
BENCHMARK(BM_MemcpyFromDram)->Apply(MapVsCopyArguments);

}  // namespace
}  // namespace zcb::micro
