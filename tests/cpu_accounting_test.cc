// CPU accounting: the trial's CPU figure from nanosecond thread clocks plus the network
// softirq work done outside the trial's threads, beside the tick-sampled system-wide
// /proc/stat figure (netperf's method); and a short paced trial, which the tick-sampled
// figure read as 0 ns/KiB, gets a real one.

#include <liburing.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "harness/probes/cpu_accounting.h"
#include "harness/probes/ebpf_probe.h"
#include "harness/trial/trial_threads.h"
#include "tests/ci_requirements.h"
#include "tests/trial_test_util.h"

namespace zcb {
namespace {

// Two CPUs, each spanning `window_s` between the snapshots, busy for `busy_s` of it.
std::pair<CpuSnapshot, CpuSnapshot> Window(double window_s, double busy_s) {
  CpuSnapshot before, after;
  before.per_cpu = after.per_cpu = {CpuTimes{}, CpuTimes{}};
  for (auto& cpu : after.per_cpu) {
    cpu.system = busy_s;
    cpu.idle = window_s - busy_s;
  }
  after.total.system = 2 * busy_s;
  after.total.idle = 2 * (window_s - busy_s);
  return {before, after};
}

TrialCpuParts Threads(double sender_s, double receiver_s) {
  TrialCpuParts parts;
  parts.sender_thread_s = sender_s;
  parts.receiver_thread_s = receiver_s;
  return parts;
}

// The record as a flow builds it: CpuRecord, then the probes, then FinishTrialCpu.
nlohmann::json Finished(nlohmann::json cpu, const nlohmann::json& probes, uint64_t bytes) {
  nlohmann::json metrics = {{"cpu", std::move(cpu)}, {"probes", probes}};
  FinishTrialCpu(metrics, bytes);
  return metrics["cpu"];
}

TEST(CpuAccounting, SystemWideServiceDemandIsBusyNanosecondsPerKibDelivered) {
  auto [before, after] = Window(1.0, 0.5);
  const auto cpu = CpuRecord(before, after, Threads(0.4, 0.3), 0.8, 1 << 30);
  const auto& system = cpu["system_wide"];
  EXPECT_DOUBLE_EQ(system["ns_per_kib"].get<double>(), 1.0 * 1e9 / (1 << 20));
  EXPECT_DOUBLE_EQ(system["tick_s"].get<double>(), CpuTickSeconds());
  EXPECT_DOUBLE_EQ(system["busy_s"].get<double>(), 1.0);
  EXPECT_FALSE(system.contains("ns_per_kib_reason"));
}

TEST(CpuAccounting, TrialServiceDemandIsThreadTimePlusSoftirqOutsideTheThreads) {
  auto [before, after] = Window(1.0, 0.5);
  const auto cpu = Finished(CpuRecord(before, after, Threads(0.4, 0.3), 0.8, 1 << 30),
                            {{"softirq_net_outside_trial_ns", 100'000'000}}, 1 << 30);
  EXPECT_DOUBLE_EQ(cpu["softirq_outside_threads_s"].get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(cpu["trial_s"].get<double>(), 0.4 + 0.3 + 0.1);
  EXPECT_DOUBLE_EQ(cpu["ns_per_kib"].get<double>(), 0.8 * 1e9 / (1 << 20));
  EXPECT_TRUE(cpu["ns_per_kib_omits"].empty()) << cpu.dump();
  // The process's other threads (0.8 - 0.7 s here) are reported, never charged.
  EXPECT_NEAR(cpu["other_threads_s"].get<double>(), 0.1, 1e-12);
}

TEST(CpuAccounting, AWindowOfAFewTicksStillHasATrialFigureButNoSystemWideOne) {
  // 3 ticks: /proc/stat may well show no busy time at all; 0 ns/KiB would be a lie.
  auto [before, after] = Window(3 * CpuTickSeconds(), 0);
  const auto cpu = Finished(CpuRecord(before, after, Threads(0.001, 0.002), 0.003, 10 << 20),
                            {{"softirq_net_outside_trial_ns", 0}}, 10 << 20);
  EXPECT_TRUE(cpu["system_wide"]["ns_per_kib"].is_null());
  EXPECT_NE(cpu["system_wide"]["ns_per_kib_reason"].get<std::string>().find("--duration"), std::string::npos);
  EXPECT_DOUBLE_EQ(cpu["ns_per_kib"].get<double>(), 0.003 * 1e9 / (10 << 10));
}

TEST(CpuAccounting, WithoutTheSoftirqProbeTheFigureSaysWhatItOmits) {
  auto [before, after] = Window(1.0, 0.5);
  nlohmann::json metrics = {{"cpu", CpuRecord(before, after, Threads(0.4, 0.3), 0.8, 1 << 30)},
                            {"probes", nullptr},
                            {"probes_reason", "not requested (--probes)"}};
  FinishTrialCpu(metrics, 1 << 30);
  const auto& cpu = metrics["cpu"];
  EXPECT_DOUBLE_EQ(cpu["ns_per_kib"].get<double>(), 0.7 * 1e9 / (1 << 20));
  EXPECT_TRUE(cpu["softirq_outside_threads_s"].is_null());
  EXPECT_EQ(cpu["softirq_outside_threads_s_reason"], "not requested (--probes)");
  ASSERT_EQ(cpu["ns_per_kib_omits"].size(), 1u);
  EXPECT_NE(cpu["ns_per_kib_omits"][0].get<std::string>().find("softirq"), std::string::npos);
}

TEST(CpuAccounting, NothingDeliveredHasNoServiceDemand) {
  auto [before, after] = Window(1.0, 0.5);
  const auto cpu = Finished(CpuRecord(before, after, Threads(0, 0), 0, 0), {{"softirq_net_outside_trial_ns", 0}}, 0);
  EXPECT_TRUE(cpu["ns_per_kib"].is_null());
  EXPECT_EQ(cpu["ns_per_kib_reason"], "nothing was delivered");
  EXPECT_TRUE(cpu["system_wide"]["ns_per_kib"].is_null());
}

// Spins for about `seconds` of CPU time on the calling thread.
void Spin(double seconds) {
  const double end = ThreadCpuSeconds() + seconds;
  volatile uint64_t sink = 0;
  while (ThreadCpuSeconds() < end) sink = sink + 1;
}

TEST(CpuAccounting, ThreadCpuClocksResolveFarLessThanATick) {
  // 50 us of spinning reads as about that, not as 0 or a 4 ms tick.
  const auto before = ThreadCpuNs(CurrentTid());
  Spin(50e-6);
  const auto after = ThreadCpuNs(CurrentTid());
  ASSERT_TRUE(before && after);
  EXPECT_GE(*after - *before, 50'000u);
  EXPECT_LT(*after - *before, 2'000'000u);
}

TEST(CpuAccounting, AnotherThreadsCpuClockReadsItsRuntime) {
  std::promise<std::pair<int, double>> spun;  // the worker's TID and its own last reading
  std::promise<void> release;
  std::thread worker([&] {
    Spin(0.02);
    spun.set_value({CurrentTid(), ThreadCpuSeconds()});
    release.get_future().wait();  // blocked: no CPU until released
  });
  const auto [tid, own_s] = spun.get_future().get();
  const auto ns = ThreadCpuNs(tid);
  release.set_value();
  worker.join();
  ASSERT_TRUE(ns.has_value());
  // Read from outside, after its own last reading: not less, and not much more (what it
  // did until it blocked, and any interrupt work the kernel charged it meanwhile).
  EXPECT_GE(static_cast<double>(*ns) * 1e-9, own_s - 1e-9);
  EXPECT_LT(static_cast<double>(*ns) * 1e-9, own_s + 0.004);
  // join() returns when the kernel clears the thread's TID, a little before it releases
  // the task: the clock goes away within a bounded time after that, not at once.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (ThreadCpuNs(tid).has_value() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_FALSE(ThreadCpuNs(tid).has_value()) << "an exited thread has no clock";
}

TEST(CpuAccounting, IoUringWorkersAreFoundAmongTheProcesssThreads) {
  const size_t before = IoUringWorkerCpuNs().size();
  io_uring ring;
  io_uring_params params{};
  params.flags = IORING_SETUP_SQPOLL;  // a kernel thread (iou-sqp-*) of this process
  params.sq_thread_idle = 1000;
  const int rc = io_uring_queue_init_params(8, &ring, &params);
  if (rc != 0) {
    ZCB_SKIP_OR_FAIL_UNDER_CI(std::string("io_uring SQPOLL unavailable: ") + strerror(-rc));
  }
  const size_t with_ring = IoUringWorkerCpuNs().size();
  io_uring_queue_exit(&ring);
  EXPECT_EQ(with_ring, before + 1);
}

// write 64 KiB paced at 100 Mbit/s for 0.2 s: about 2.4 MiB in 0.2 s. /proc/stat, in
// 4 ms ticks, read 0, 0, 3906 and 7812 ns/KiB for it in four runs.
TrialSpec ShortPacedWrite() {
  TrialSpec spec;
  spec.strategy = "write";
  spec.duration_s = 0.2;
  spec.rate_bps = 100'000'000;
  spec.message_size = 64 * 1024;
  spec.receiver = ReceiverMode::kVerify;
  ApplyDefaultPinning(spec);
  return spec;
}

// Every KiB is copied into the kernel, out of it and read by the verifier (tens of ns
// each at least), and two threads cannot use more than the CPUs the window spanned.
void ExpectSaneTrialCpu(const nlohmann::json& record) {
  ASSERT_EQ(record["status"], "ok") << record["error"];
  const auto& m = record["metrics"];
  const auto& cpu = m["cpu"];
  ASSERT_TRUE(cpu["ns_per_kib"].is_number()) << cpu.dump();
  const double kib = m["bytes_received"].get<double>() / 1024;
  const double cpus = static_cast<double>(std::thread::hardware_concurrency());
  EXPECT_GT(cpu["ns_per_kib"].get<double>(), 20.0) << cpu.dump();
  EXPECT_LT(cpu["trial_s"].get<double>(), cpus * m["elapsed_s"].get<double>() * 1.05 + 0.01) << cpu.dump();
  EXPECT_NEAR(cpu["ns_per_kib"].get<double>(), cpu["trial_s"].get<double>() * 1e9 / kib,
              1e-6 * cpu["ns_per_kib"].get<double>());
  EXPECT_GT(cpu["sender_thread_s"].get<double>(), 0);
  EXPECT_GT(cpu["receiver_thread_s"].get<double>(), 0);
}

TEST(CpuAccounting, AShortPacedTrialHasANonZeroCpuFigureEveryTime) {
  for (int run = 0; run < 3; ++run) {
    const nlohmann::json record = testing::RunOrFail(ShortPacedWrite());
    ExpectSaneTrialCpu(record);
    // Thread clocks and softirq time are nanosecond counts: no tick quantisation to hide.
    EXPECT_FALSE(record["metrics"]["cpu"].contains("ns_per_kib_reason")) << record["metrics"]["cpu"].dump();
  }
}

TEST(CpuAccounting, WithTheProbesTheSoftirqPartIsAddedOnceAndBounded) {
  ZCB_REQUIRE_ROOT();
  auto probe = EbpfProbe::Open({});
  ASSERT_TRUE(probe->unavailable_reason().empty()) << probe->unavailable_reason();
  auto resolved = ResolveTrial(ShortPacedWrite());
  ASSERT_TRUE(resolved.ok()) << resolved.error().ToString();
  TrialContext context;
  context.run_id = "test";
  context.probes = {probe.get()};
  const nlohmann::json record = RunTrial(*resolved, context);
  ExpectSaneTrialCpu(record);
  const auto& m = record["metrics"];
  const auto& cpu = m["cpu"];
  ASSERT_TRUE(cpu["softirq_outside_threads_s"].is_number()) << cpu.dump();
  EXPECT_TRUE(cpu["ns_per_kib_omits"].empty()) << cpu.dump();
  // The part outside the threads is part of all the network softirq time, never more.
  const double net_softirq_s =
      (m["probes"]["softirq_net_rx_ns"].get<double>() + m["probes"]["softirq_net_tx_ns"].get<double>()) * 1e-9;
  EXPECT_LE(cpu["softirq_outside_threads_s"].get<double>(), net_softirq_s + 1e-9);
  EXPECT_NEAR(cpu["trial_s"].get<double>(),
              cpu["sender_thread_s"].get<double>() + cpu["receiver_thread_s"].get<double>() +
                  cpu["io_workers_s"].get<double>() + cpu["softirq_outside_threads_s"].get<double>(),
              1e-9);
  // The probes were told the trial's two threads.
  EXPECT_EQ(m["probes"]["trial_threads"]["tids"].size(), 2u) << m["probes"]["trial_threads"].dump();
}

}  // namespace
}  // namespace zcb
