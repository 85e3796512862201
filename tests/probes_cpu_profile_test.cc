// The CPU profile (harness/probes/cpu_profile_probe.h): the categoriser on synthetic
// stacks and its table's order rules, the kallsyms lookup, and on the running kernel a
// root trial's record (samples within the bounds of duration x frequency x CPUs, shares
// summing to 1, and write's data-copy share clearly above sendfile's).

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/probes/cpu_categories.h"
#include "harness/probes/kernel_symbols.h"
#include "harness/probes/perf_counters.h"
#include "harness/probes/probe_suite.h"
#include "harness/trial/trial.h"
#include "tests/trial_test_util.h"

namespace zcb {
namespace {

std::string Categorize(const CpuCategoryTable& table, const std::vector<std::string>& frames) {
  return std::string(table.Categorize(frames).category);
}

TEST(CpuCategories, BuiltinTableParsesAndNamesEveryCategory) {
  const auto& table = CpuCategoryTable::Builtin();
  ASSERT_TRUE(table.ok()) << table.error().ToString();
  EXPECT_GT(table->rule_count(), 100u);
}

TEST(CpuCategories, SyntheticKernelStacksLeafFirst) {
  const auto& builtin = CpuCategoryTable::Builtin();
  ASSERT_TRUE(builtin.ok()) << builtin.error().ToString();
  const CpuCategoryTable& t = *builtin;
  // write(): the copy from user memory into the skb.
  EXPECT_EQ(Categorize(t, {"rep_movs_alternative", "_copy_from_iter", "skb_do_copy_data_nocache", "tcp_sendmsg_locked",
                           "tcp_sendmsg", "__sys_sendto", "do_syscall_64"}),
            "data_copy");
  // An unlisted helper inherits its nearest listed caller's category.
  EXPECT_EQ(Categorize(t, {"__check_object_size", "simple_copy_to_iter", "__skb_datagram_iter",
                           "skb_copy_datagram_iter", "tcp_recvmsg_locked"}),
            "data_copy");
  EXPECT_EQ(Categorize(t, {"native_queued_spin_lock_slowpath", "_raw_spin_lock_bh", "lock_sock_nested", "tcp_sendmsg"}),
            "locks");
  EXPECT_EQ(
      Categorize(t, {"kmem_cache_alloc_node_noprof", "__alloc_skb", "tcp_stream_alloc_skb", "tcp_sendmsg_locked"}),
      "memory_alloc_free");
  EXPECT_EQ(Categorize(t, {"__alloc_skb", "tcp_stream_alloc_skb", "tcp_sendmsg_locked"}), "skb_management");
  EXPECT_EQ(Categorize(t, {"kfree_skb_reason", "tcp_data_queue"}), "skb_management");
  // Names a broad glob of another category would also match: the specific rule first.
  EXPECT_EQ(Categorize(t, {"skb_page_frag_refill", "sk_page_frag_refill", "tcp_sendmsg_locked"}), "memory_alloc_free");
  EXPECT_EQ(Categorize(t, {"enqueue_to_backlog", "netif_rx_internal", "__netif_rx", "loopback_xmit"}), "netdev_driver");
  EXPECT_EQ(Categorize(t, {"tcp_gro_receive", "inet_gro_receive"}), "netdev_driver");
  EXPECT_EQ(Categorize(t, {"tcp_ack", "tcp_rcv_established", "tcp_v4_do_rcv"}), "tcp_ip");
  EXPECT_EQ(Categorize(t, {"flush_tlb_func", "__flush_smp_call_function_queue", "sysvec_call_function"}),
            "page_table_tlb");
  EXPECT_EQ(Categorize(t, {"__schedule", "schedule", "schedule_timeout", "sk_wait_data", "tcp_recvmsg_locked"}),
            "scheduling");
  EXPECT_EQ(Categorize(t, {"pv_native_safe_halt", "default_idle", "default_idle_call", "do_idle", "cpu_startup_entry"}),
            "idle");
  // Softirq work that interrupted the idle loop is busy time, not idle.
  EXPECT_EQ(Categorize(t, {"process_backlog", "__napi_poll", "net_rx_action", "handle_softirqs", "irq_exit_rcu",
                           "sysvec_apic_timer_interrupt", "pv_native_safe_halt", "default_idle", "do_idle"}),
            "netdev_driver");
  // A sample where interrupts were enabled again stands for the region before it: the
  // caller's (here a wake-up of the reader, under the wait-queue lock).
  const StackCategory wakeup = t.Categorize({"_raw_spin_unlock_irqrestore", "sock_def_readable", "tcp_data_queue"});
  EXPECT_EQ(wakeup.category, "scheduling");
  EXPECT_TRUE(wakeup.leaf_passed_to_caller);
  EXPECT_EQ(Categorize(t, {"_raw_spin_unlock_irqrestore", "tcp_write_xmit", "__tcp_push_pending_frames"}), "tcp_ip");
  EXPECT_FALSE(t.Categorize({"native_queued_spin_lock_slowpath", "_raw_spin_lock_irqsave"}).leaf_passed_to_caller);
  // An interrupt on top of TCP code is not TCP's.
  EXPECT_EQ(Categorize(t, {"handle_softirqs", "__irq_exit_rcu", "sysvec_apic_timer_interrupt",
                           "asm_sysvec_apic_timer_interrupt", "_raw_spin_unlock_irqrestore", "tcp_write_xmit"}),
            "other");
  // Softirqs run when bottom halves are enabled again: the loopback receive path.
  EXPECT_EQ(Categorize(t, {"handle_softirqs", "do_softirq.part.0", "__local_bh_enable_ip", "__dev_queue_xmit",
                           "ip_finish_output2"}),
            "netdev_driver");
  // Nothing listed: system-call entry, VFS.
  EXPECT_EQ(Categorize(t, {"fdget", "do_syscall_64", "entry_SYSCALL_64_after_hwframe"}), "other");
  EXPECT_EQ(Categorize(t, {}), "other");
}

TEST(CpuCategories, FirstMatchingFrameFromTheLeafThenFirstRule) {
  // Within one frame the table's order decides...
  auto table = CpuCategoryTable::Parse("# comment\n\nab*\tdata_copy\na*\tlocks   # trailing comment\n");
  ASSERT_TRUE(table.ok()) << table.error().ToString();
  EXPECT_EQ(table->rule_count(), 2u);
  EXPECT_EQ(Categorize(*table, {"abc"}), "data_copy");
  EXPECT_EQ(Categorize(*table, {"axe"}), "locks");
  // ...across frames the leaf does, even against an earlier rule.
  EXPECT_EQ(Categorize(*table, {"axe", "abc"}), "locks");
  EXPECT_EQ(Categorize(*table, {"zzz", "abc", "axe"}), "data_copy");
  EXPECT_EQ(Categorize(*table, {"zzz"}), "other");
  // `caller` passes a frame on to the next.
  auto pass = CpuCategoryTable::Parse("unlock\tcaller\nab*\tdata_copy\n");
  ASSERT_TRUE(pass.ok()) << pass.error().ToString();
  EXPECT_EQ(Categorize(*pass, {"unlock", "zzz", "abc"}), "data_copy");
  EXPECT_TRUE(pass->Categorize({"unlock", "abc"}).leaf_passed_to_caller);
  EXPECT_FALSE(pass->Categorize({"zzz", "unlock", "abc"}).leaf_passed_to_caller);
  EXPECT_EQ(Categorize(*pass, {"unlock"}), "other");
}

TEST(CpuCategories, BadTableLinesAreNamed) {
  auto unknown = CpuCategoryTable::Parse("memcpy\tdata_copy\nfoo\tnetworking\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().ToString().find("line 2"), std::string::npos) << unknown.error().ToString();
  EXPECT_NE(unknown.error().ToString().find("networking"), std::string::npos);
  EXPECT_NE(unknown.error().ToString().find("data_copy"), std::string::npos);  // lists the known ones
  auto no_tab = CpuCategoryTable::Parse("memcpy data_copy\n");
  ASSERT_FALSE(no_tab.ok());
  EXPECT_NE(no_tab.error().ToString().find("line 1"), std::string::npos) << no_tab.error().ToString();
  EXPECT_FALSE(CpuCategoryTable::Parse("# nothing\n").ok());
}

TEST(KernelSymbolTable, AddressesResolveToTheContainingTextSymbol) {
  const KernelSymbolTable table = KernelSymbolTable::Parse(
      "ffffffff81000000 T _stext\n"
      "ffffffff81001000 t memcpy_orig\n"
      "ffffffff81002000 D some_data\n"
      "ffffffff81003000 T tcp_sendmsg\t[fakemod]\n"
      "0000000000000000 T hidden\n");
  EXPECT_EQ(table.size(), 3u);  // text symbols with addresses only
  EXPECT_EQ(table.FunctionAt(0xffffffff81001000), "memcpy_orig");
  EXPECT_EQ(table.FunctionAt(0xffffffff81002fff), "memcpy_orig");  // data symbols are not functions
  EXPECT_EQ(table.FunctionAt(0xffffffff81003010), "tcp_sendmsg");
  EXPECT_EQ(table.FunctionAt(0xffffffff80000000), "0xffffffff80000000");
}

// A trial of `strategy` moving `bytes` over loopback to a discarding receiver, measured
// by `suite`. A fixed amount of work, not a fixed time: the trial's own samples then
// depend on the CPU time it needs, not on how much of the CPUs a busy machine leaves it.
nlohmann::json ProfiledTrial(const ProbeSuite& suite, const std::string& strategy, uint64_t bytes) {
  TrialSpec spec = testing::VerifiedStream(strategy, bytes);
  spec.receiver = ReceiverMode::kDiscard;
  return testing::RunOrFail(spec, suite.probes());
}

TEST(CpuProfile, RootTrialRecordsSharesAndWriteCopiesMoreThanSendfile) {
  ZCB_REQUIRE_ROOT();
  auto options = ParseProbeSelection("profile");
  ASSERT_TRUE(options.ok()) << options.error().ToString();
  auto suite = ProbeSuite::Open(*options);
  ASSERT_TRUE(suite.ok()) << suite.error().ToString();
  ASSERT_NE(suite->cpu_profile(), nullptr);
  ASSERT_EQ(suite->cpu_profile()->unavailable_reason(), "");
  const size_t cpus = OnlineCpus().size();

  std::map<std::string, double> copy_share;
  for (const std::string strategy : {"write", "sendfile"}) {
    const nlohmann::json record = ProfiledTrial(*suite, strategy, 1ull << 30);
    ASSERT_EQ(record["status"], "ok") << record["error"];
    const auto& m = record["metrics"];
    EXPECT_TRUE(m["probes"].is_null());  // only the profile was requested
    const auto& p = m["cpu_profile"];
    ASSERT_TRUE(p.is_object()) << m.dump();
    EXPECT_EQ(p["event"], "cpu-clock");
    ASSERT_EQ(p["cpus"].size(), cpus);
    // One sample per period on every sampled CPU, idle or not: the count is the
    // enabled time x frequency x CPUs. The events are enabled a little before the
    // window opens and disabled a little after it closes; hrtimers in a VM can slip.
    const double expected = m["elapsed_s"].get<double>() * p["frequency_hz"].get<double>() * static_cast<double>(cpus);
    const double samples = p["samples"].get<double>();
    EXPECT_GE(samples, 0.8 * expected) << p.dump();
    EXPECT_LE(samples, 1.2 * expected + 10.0 * static_cast<double>(cpus)) << p.dump();
    for (const auto& [cpu, n] : p["samples_per_cpu"].items()) {
      EXPECT_GE(n.get<double>(), 0.8 * expected / static_cast<double>(cpus)) << cpu;
    }
    // Every sample is counted once: in a category or as lost.
    EXPECT_EQ(p["counted_samples"].get<uint64_t>() + p["lost_samples"].get<uint64_t>(), p["samples"].get<uint64_t>())
        << p.dump();
    // Lost: stacks whose stack-map bucket another stack held (rare stacks, mostly of other
    // processes on a shared machine).
    EXPECT_LT(p["lost_samples"].get<double>(), samples / 30);
    EXPECT_EQ(p["busy_samples"].get<uint64_t>() + p["idle_samples"].get<uint64_t>(),
              p["counted_samples"].get<uint64_t>());
    // The trial keeps its CPUs busy (on a shared machine, partly with other processes);
    // moving 1 GiB takes it a few hundred milliseconds of CPU at least.
    EXPECT_GT(p["busy_samples"].get<double>(), samples / 4) << p.dump();
    EXPECT_GT(p["in_process_samples"].get<double>(), 100) << p.dump();
    EXPECT_LE(p["irq_enable_point_samples"].get<uint64_t>(), p["busy_samples"].get<uint64_t>());
    for (const char* key : {"shares", "in_process_shares"}) {
      ASSERT_TRUE(p[key].is_object()) << key << ": " << p.dump();
      double sum = 0;
      for (const auto& [category, share] : p[key].items()) {
        EXPECT_GE(share.get<double>(), 0.0) << key << "." << category;
        sum += share.get<double>();
      }
      EXPECT_NEAR(sum, 1.0, 1e-9) << key << ": " << p.dump();
      EXPECT_TRUE(p[key].contains("data_copy")) << key;
      EXPECT_TRUE(p[key].contains("user")) << key;
      EXPECT_FALSE(p[key].contains("idle")) << key;
    }
    // The leaf functions behind the shares, by samples, once per (function, category).
    ASSERT_GT(p["top_functions"].size(), 0u);
    std::set<std::pair<std::string, std::string>> seen;
    std::map<std::string, uint64_t> listed;
    uint64_t previous = UINT64_MAX;
    for (const auto& f : p["top_functions"]) {
      EXPECT_TRUE(seen.emplace(f["function"], f["category"]).second) << f.dump();
      EXPECT_LE(f["samples"].get<uint64_t>(), previous);
      previous = f["samples"].get<uint64_t>();
      listed[f["category"]] += previous;
    }
    // A leaf's samples are listed under the categories they were charged to.
    for (const auto& [category, samples] : listed) {
      EXPECT_LE(samples, p["samples_by_category"][category].get<uint64_t>()) << category << ": " << p.dump();
    }
    // The trial process's own samples: on a machine shared with other work, the other
    // processes on the sampled CPUs are in `shares` but not here.
    copy_share[strategy] = p["in_process_shares"]["data_copy"].get<double>();
    ::testing::Test::RecordProperty(strategy + "_data_copy_share", std::to_string(copy_share[strategy]));
  }
  // write() copies every byte from user memory; sendfile() only passes page references
  // (and the discarding receiver copies nothing). The copy runs from a cache-resident
  // buffer, so even write's share is a few percent on a 2-vCPU VM where wake-ups and
  // interrupts cost much: the test asks for a clear difference, not a size.
  EXPECT_GT(copy_share["write"], 0.01);
  EXPECT_GT(copy_share["write"], 3 * copy_share["sendfile"])
      << "write " << copy_share["write"] << " sendfile " << copy_share["sendfile"];
}

// One event per CPU, and only over the window: with every probe family attached, and the
// run's trial CPUs listed once per trial (as `zcbench run -s a,b` lists them), the
// samples still match the window's length, and none of them is the other probes' work.
TEST(CpuProfile, SamplesEachCpuOnceAndOnlyTheWindow) {
  ZCB_REQUIRE_ROOT();
  auto options = ParseProbeSelection("all");
  ASSERT_TRUE(options.ok()) << options.error().ToString();
  for (int trial = 0; trial < 2; ++trial) {
    for (int cpu : OnlineCpus()) options->trial_cpus.push_back(cpu);
  }
  auto suite = ProbeSuite::Open(*options);
  ASSERT_TRUE(suite.ok()) << suite.error().ToString();
  ASSERT_NE(suite->cpu_profile(), nullptr);
  ASSERT_EQ(suite->cpu_profile()->unavailable_reason(), "");
  const nlohmann::json record = ProfiledTrial(*suite, "sendfile", 256ull << 20);
  ASSERT_EQ(record["status"], "ok") << record["error"];
  const auto& m = record["metrics"];
  const auto& p = m["cpu_profile"];
  ASSERT_TRUE(p.is_object()) << m.dump();
  const double expected =
      m["elapsed_s"].get<double>() * p["frequency_hz"].get<double>() * static_cast<double>(p["cpus"].size());
  EXPECT_GE(p["samples"].get<double>(), 0.8 * expected) << p.dump();
  EXPECT_LE(p["samples"].get<double>(), 1.2 * expected + 10.0 * static_cast<double>(p["cpus"].size())) << p.dump();
  EXPECT_EQ(p["cpus"].size(), OnlineCpus().size());
  // sendfile to a discarding receiver copies nothing: the copies the other probes make
  // reading their maps at the window's edges (bpf() syscalls copy to user memory) are
  // not the trial's.
  EXPECT_LT(p["in_process_shares"]["data_copy"].get<double>(), 0.03) << p.dump();
}

TEST(CpuProfile, NotRequestedIsNullWithReason) {
  auto options = ParseProbeSelection("ebpf");
  ASSERT_TRUE(options.ok());
  EXPECT_FALSE(options->cpu_profile);
  options->ebpf = false;
  auto suite = ProbeSuite::Open(*options);
  ASSERT_TRUE(suite.ok());
  EXPECT_EQ(suite->cpu_profile(), nullptr);
  nlohmann::json metrics = nlohmann::json::object();
  for (WindowProbe* probe : suite->probes()) probe->Report(WindowSummary{}, metrics);
  EXPECT_TRUE(metrics["cpu_profile"].is_null());
  EXPECT_EQ(metrics["cpu_profile_reason"], "not requested (--probes)");
}

}  // namespace
}  // namespace zcb
