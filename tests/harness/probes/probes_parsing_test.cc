// The probes' parsers and the memory model, on fixed inputs: tracepoint format tables,
// sysfs PMU event encodings, resctrl trees, probe selections, model arithmetic. No
// privilege needed.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <utility>

#include <gtest/gtest.h>

#include "harness/probes/copy_accounting.h"
#include "harness/probes/memory_model.h"
#include "harness/probes/probe_costs.h"
#include "harness/probes/probe_suite.h"
#include "harness/probes/resctrl_mbm.h"
#include "harness/probes/tracepoint_catalog.h"
#include "harness/probes/uncore_pmu.h"

namespace zcb {
namespace {

namespace fs = std::filesystem;

// The tlb_flush format of a 6.18 kernel (six reasons; older kernels have five).
constexpr const char* kTlbFlushFormat = R"fmt(name: tlb_flush
ID: 188
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:int reason;	offset:8;	size:4;	signed:1;
	field:unsigned long pages;	offset:16;	size:8;	signed:0;

print fmt: "pages:%ld reason:%s (%d)", REC->pages, __print_symbolic(REC->reason, { 0, "flush on task switch" }, { 1, "remote shootdown" }, { 2, "local shootdown" }, { 3, "local MM shootdown" }, { 4, "remote IPI send" }, { 5, "remote wrong CPU" }), REC->reason
)fmt";

constexpr const char* kSoftirqFormat =
    R"fmt(print fmt: "vec=%u [action=%s]", REC->vec, __print_symbolic(REC->vec, { 0, "HI" }, { 1, "TIMER" }, { 2, "NET_TX" }, { 3, "NET_RX" }, { 4, "BLOCK" }, { 5, "IRQ_POLL" }, { 6, "TASKLET" }, { 7, "SCHED" }, { 8, "HRTIMER" }, { 9, "RCU" }))fmt";

// A scratch directory removed when the test ends.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "zcb-probes-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  void Write(const fs::path& relative, const std::string& text) const {
    fs::create_directories((path_ / relative).parent_path());
    std::ofstream(path_ / relative) << text;
  }

 private:
  fs::path path_;
};

TEST(ProbesParsing, PrintSymbolicTableDecodesTlbFlushReasons) {
  auto names = ParsePrintSymbolic(kTlbFlushFormat, "reason");
  ASSERT_TRUE(names.ok()) << names.error().ToString();
  const std::map<int64_t, std::string> expected = {{0, "flush_on_task_switch"}, {1, "remote_shootdown"},
                                                   {2, "local_shootdown"},      {3, "local_mm_shootdown"},
                                                   {4, "remote_ipi_send"},      {5, "remote_wrong_cpu"}};
  EXPECT_EQ(*names, expected);
}

TEST(ProbesParsing, PrintSymbolicTableDecodesSoftirqVectors) {
  auto names = ParsePrintSymbolic(kSoftirqFormat, "vec");
  ASSERT_TRUE(names.ok()) << names.error().ToString();
  EXPECT_EQ(names->at(2), "net_tx");
  EXPECT_EQ(names->at(3), "net_rx");
  EXPECT_EQ(names->size(), 10u);
}

TEST(ProbesParsing, PrintSymbolicTableMissingFieldIsAnError) {
  EXPECT_FALSE(ParsePrintSymbolic(kTlbFlushFormat, "pages").ok());
  EXPECT_FALSE(ParsePrintSymbolic("print fmt: \"x\"", "reason").ok());
}

TEST(ProbesParsing, LabelsBecomeIdentifiers) {
  EXPECT_EQ(LabelToIdentifier("local MM shootdown"), "local_mm_shootdown");
  EXPECT_EQ(LabelToIdentifier("NET_RX"), "net_rx");
  EXPECT_EQ(LabelToIdentifier("  odd -- label  "), "odd_label");
  ValueNames names;
  names.names = {{1, "remote_shootdown"}};
  EXPECT_EQ(names.NameOf(1), "remote_shootdown");
  EXPECT_EQ(names.NameOf(9), "reason_9");
}

TEST(ProbesParsing, PmuEventsAreEncodedWithTheFormatBitFields) {
  TempDir dir;
  dir.Write("pmu/format/event", "config:0-7\n");
  dir.Write("pmu/format/umask", "config:8-15\n");
  dir.Write("pmu/format/split", "config:16-17,32-33\n");
  const std::string pmu = (dir.path() / "pmu").string();
  auto config = EncodePmuEvent(pmu, "event=0x04,umask=0x03");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(*config, 0x0304u);
  auto split = EncodePmuEvent(pmu, "split=0xf");  // low two bits at 16, the next two at 32
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(*split, (0x3ull << 16) | (0x3ull << 32));
  EXPECT_FALSE(EncodePmuEvent(pmu, "nosuchfield=1").ok());
}

TEST(ProbesParsing, UnitsOfSysfsEvents) {
  EXPECT_DOUBLE_EQ(UnitBytes("MiB") * 6.103515625e-5, 64.0);
  EXPECT_DOUBLE_EQ(UnitBytes(""), 1.0);
  EXPECT_DOUBLE_EQ(UnitBytes("furlongs"), 0.0);
}

void WriteImc(const TempDir& dir, const std::string& name, const std::string& read_event,
              const std::string& write_event) {
  dir.Write(name + "/type", "17\n");
  dir.Write(name + "/cpumask", "0\n");
  dir.Write(name + "/format/event", "config:0-7\n");
  dir.Write(name + "/format/umask", "config:8-15\n");
  dir.Write(name + "/events/" + read_event, "event=0x04,umask=0x03\n");
  dir.Write(name + "/events/" + read_event + ".scale", "6.103515625e-5\n");
  dir.Write(name + "/events/" + read_event + ".unit", "MiB\n");
  dir.Write(name + "/events/" + write_event, "event=0x04,umask=0x0c\n");
  dir.Write(name + "/events/" + write_event + ".scale", "6.103515625e-5\n");
  dir.Write(name + "/events/" + write_event + ".unit", "MiB\n");
}

TEST(ProbesParsing, DiscoversIntelImcCasCounters) {
  TempDir dir;
  WriteImc(dir, "uncore_imc_0", "cas_count_read", "cas_count_write");
  WriteImc(dir, "uncore_imc_1", "cas_count_read", "cas_count_write");
  dir.Write("cpu/type", "4\n");
  const MemoryPmuDiscovery found = DiscoverMemoryPmus(dir.path().string());
  EXPECT_EQ(found.family, "uncore_imc");
  ASSERT_EQ(found.events.size(), 4u);
  for (const MemoryPmuEvent& e : found.events) {
    EXPECT_EQ(e.type, 17u);
    EXPECT_DOUBLE_EQ(e.bytes_per_count, 64.0);
    EXPECT_EQ(e.config, e.write ? 0x0c04u : 0x0304u);
  }
}

TEST(ProbesParsing, PrefersFreeRunningImcCounters) {
  TempDir dir;
  WriteImc(dir, "uncore_imc_0", "cas_count_read", "cas_count_write");
  WriteImc(dir, "uncore_imc_free_running_0", "data_read", "data_write");
  const MemoryPmuDiscovery found = DiscoverMemoryPmus(dir.path().string());
  EXPECT_EQ(found.family, "uncore_imc_free_running");
  EXPECT_EQ(found.events.size(), 2u);
}

TEST(ProbesParsing, AmdUmcEventsAreEncodedFromTheFormat) {
  TempDir dir;
  dir.Write("amd_umc_0/type", "21\n");
  dir.Write("amd_umc_0/cpumask", "3\n");
  dir.Write("amd_umc_0/format/event", "config:0-7\n");
  dir.Write("amd_umc_0/format/rdwrmask", "config:8-9\n");
  dir.Write("amd_df/type", "11\n");
  const MemoryPmuDiscovery found = DiscoverMemoryPmus(dir.path().string());
  EXPECT_EQ(found.family, "amd_umc");
  ASSERT_EQ(found.events.size(), 2u);
  EXPECT_EQ(found.events[0].config, 0x10au);
  EXPECT_EQ(found.events[1].config, 0x20au);
  EXPECT_EQ(found.events[0].cpu, 3);
  bool df_noted = false;
  for (const std::string& note : found.notes) df_noted |= note.find("amd_df") != std::string::npos;
  EXPECT_TRUE(df_noted);
}

TEST(ProbesParsing, NoMemoryControllerPmuSaysSo) {
  TempDir dir;
  dir.Write("cpu/type", "4\n");
  const MemoryPmuDiscovery found = DiscoverMemoryPmus(dir.path().string());
  EXPECT_TRUE(found.family.empty());
  ASSERT_FALSE(found.notes.empty());
}

TEST(ProbesParsing, ResctrlMbmSumsRootAndControlGroups) {
  TempDir dir;
  dir.Write("info/L3_MON/mon_features", "llc_occupancy\nmbm_total_bytes\nmbm_local_bytes\n");
  dir.Write("mon_data/mon_L3_00/mbm_total_bytes", "1000\n");
  dir.Write("mon_data/mon_L3_01/mbm_total_bytes", "24\n");
  dir.Write("g1/mon_data/mon_L3_00/mbm_total_bytes", "500\n");
  // Monitor groups are already part of their control group's count.
  dir.Write("mon_groups/m1/mon_data/mon_L3_00/mbm_total_bytes", "999999\n");
  auto mbm = ResctrlMbm::AtRoot(dir.path().string());
  ASSERT_TRUE(mbm.ok()) << mbm.error().ToString();
  auto total = mbm->TotalBytes();
  ASSERT_TRUE(total.ok()) << total.error().ToString();
  EXPECT_EQ(*total, 1524u);
  dir.Write("g1/mon_data/mon_L3_00/mbm_total_bytes", "Unavailable\n");
  EXPECT_FALSE(mbm->TotalBytes().ok());
}

TEST(ProbesParsing, ResctrlWithoutMbmIsRefused) {
  TempDir dir;
  dir.Write("info/L3_MON/mon_features", "llc_occupancy\n");
  EXPECT_FALSE(ResctrlMbm::AtRoot(dir.path().string()).ok());
  EXPECT_FALSE(ResctrlMbm::Discover((dir.path() / "no-mounts").string()).ok());
}

TEST(ProbesParsing, ProbeSelections) {
  auto all = ParseProbeSelection("all");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->ebpf && all->counters && all->memory);
  auto none = ParseProbeSelection("none");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->ebpf || none->counters || none->memory);
  auto some = ParseProbeSelection("ebpf,memory");
  ASSERT_TRUE(some.ok());
  EXPECT_TRUE(some->ebpf && some->memory);
  EXPECT_FALSE(some->counters);
  auto bad = ParseProbeSelection("ebpf,cycles");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().what().find("cycles"), std::string::npos);
}

WindowSummary Summary(uint64_t bytes, ReceiverMode mode, SourceKind source) {
  WindowSummary s;
  s.elapsed_s = 1;
  s.bytes_sent = bytes;
  s.bytes_received = bytes;
  s.receiver_mode = mode;
  s.source = source;
  return s;
}

TEST(ProbesParsing, ModelOfACopyingSenderAndAVerifyingReceiver) {
  DataMovementWindow movement;
  movement.kernel_copy_bytes = 1000;
  movement.xmit_copied_bytes = 1000;
  movement.xmit_spliced_bytes = 0;
  movement.xmit_zerocopy_bytes = 0;
  const MemoryModelResult model =
      ModelMemoryTraffic(Summary(1000, ReceiverMode::kVerify, SourceKind::kMemory), movement);
  ASSERT_TRUE(model.available) << model.reason;
  EXPECT_EQ(model.read_bytes, 3000u);   // send copy + receive copy + verification
  EXPECT_EQ(model.write_bytes, 2000u);  // send copy + receive copy
  EXPECT_DOUBLE_EQ(model.detail["read_per_payload_byte"].get<double>(), 3.0);
}

TEST(ProbesParsing, ModelOfASplicingSenderAndADiscardingReceiver) {
  DataMovementWindow movement;
  movement.kernel_copy_bytes = 0;
  movement.xmit_copied_bytes = 0;
  movement.xmit_spliced_bytes = 1000;
  movement.xmit_zerocopy_bytes = 0;
  const MemoryModelResult model =
      ModelMemoryTraffic(Summary(1000, ReceiverMode::kDiscard, SourceKind::kFile), movement);
  ASSERT_TRUE(model.available);
  EXPECT_EQ(model.read_bytes, 0u);
  EXPECT_EQ(model.write_bytes, 0u);
}

TEST(ProbesParsing, ModelCountsLentPagesCopiedByTheKernelFromCompletions) {
  DataMovementWindow movement;
  movement.kernel_copy_bytes = 1000;
  movement.xmit_copied_bytes = 0;
  movement.xmit_spliced_bytes = 0;
  movement.xmit_zerocopy_bytes = 1000;
  WindowSummary summary = Summary(1000, ReceiverMode::kRead, SourceKind::kGenerated);
  summary.caps.lends_buffers = true;
  summary.caps.reports_zerocopy = true;
  summary.zerocopy.completions = 10;
  summary.zerocopy.copied = 5;
  const MemoryModelResult model = ModelMemoryTraffic(summary, movement);
  ASSERT_TRUE(model.available);
  EXPECT_EQ(model.detail["send_copy_bytes"].get<uint64_t>(), 500u);
  EXPECT_EQ(model.read_bytes, 1500u);
  EXPECT_EQ(model.write_bytes, 2500u);  // + the generator writing every payload byte
  // Without completion reports the lent bytes count as not copied, and it says so.
  summary.caps.reports_zerocopy = false;
  const MemoryModelResult blind = ModelMemoryTraffic(summary, movement);
  EXPECT_EQ(blind.detail["send_copy_bytes"].get<uint64_t>(), 0u);
  EXPECT_TRUE(blind.detail.contains("note"));
}

TEST(ProbesParsing, ModelPrefersTheRecvmsgCopyCount) {
  DataMovementWindow movement;
  movement.kernel_copy_bytes = 0;  // UDP's linear-skb copies are not seen there
  movement.recv_copy_bytes = 1000;
  movement.xmit_copied_bytes = 1000;
  const MemoryModelResult model = ModelMemoryTraffic(Summary(1000, ReceiverMode::kRead, SourceKind::kMemory), movement);
  ASSERT_TRUE(model.available);
  EXPECT_EQ(model.detail["receive_copy_bytes"].get<uint64_t>(), 1000u);
  EXPECT_EQ(model.detail["receive_copy_basis"], "sock:sock_recv_length");
}

DataMovementWindow Transmitted(uint64_t copied, uint64_t spliced, uint64_t lent, uint64_t received_copied) {
  DataMovementWindow movement;
  movement.recv_copy_bytes = received_copied;
  movement.xmit_copied_bytes = copied;
  movement.xmit_spliced_bytes = spliced;
  movement.xmit_zerocopy_bytes = lent;
  return movement;
}

TEST(ProbesParsing, CopiesOfACopyingSenderAreAtTheCall) {
  // The process's transmits held 3 in 4 bytes in kernel copies: the share, applied to
  // the bytes sent (some transmits ran in another context and were not seen).
  const WindowSummary summary = Summary(4000, ReceiverMode::kRead, SourceKind::kMemory);
  const CopyAccount copies = AccountCopies(summary, Transmitted(1500, 500, 0, 4000), "");
  ASSERT_TRUE(copies.send_call.bytes && copies.send_deferred.bytes && copies.receive.bytes);
  EXPECT_EQ(*copies.send_call.bytes, 3000u);
  EXPECT_EQ(*copies.send_deferred.bytes, 0u);
  EXPECT_EQ(*copies.receive.bytes, 4000u);
  const nlohmann::json j = CopiesJson(copies, summary);
  EXPECT_DOUBLE_EQ(j["send_call"]["per_payload_byte"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(j["send_per_payload_byte"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(j["receive"]["per_payload_byte"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["transmit_shares"]["spliced"].get<double>(), 0.25);
  EXPECT_FALSE(j["send_call"]["source"].get<std::string>().empty());
  EXPECT_FALSE(j["send_call"]["can_miss"].get<std::string>().empty());
}

TEST(ProbesParsing, CopiesOfLentPagesAreDeferredByTheCompletionsFlaggedCopied) {
  WindowSummary summary = Summary(1000, ReceiverMode::kDiscard, SourceKind::kMemory);
  summary.caps.lends_buffers = true;
  summary.caps.reports_zerocopy = true;
  summary.zerocopy.completions = 10;
  summary.zerocopy.copied = 10;
  const CopyAccount copies = AccountCopies(summary, Transmitted(0, 0, 1000, 0), "");
  EXPECT_EQ(copies.send_call.bytes, 0u);
  EXPECT_EQ(copies.send_deferred.bytes, 1000u);
  // Half of them copied: half the lent bytes.
  summary.zerocopy.copied = 5;
  EXPECT_EQ(AccountCopies(summary, Transmitted(0, 0, 1000, 0), "").send_deferred.bytes, 500u);
  // Without completion flags the deferred copy is not known: null with the reason, never 0.
  summary.caps.reports_zerocopy = false;
  const CopyAccount blind = AccountCopies(summary, Transmitted(0, 0, 1000, 0), "");
  EXPECT_FALSE(blind.send_deferred.bytes);
  EXPECT_NE(blind.send_deferred.reason.find("completion"), std::string::npos);
  const nlohmann::json j = CopiesJson(blind, summary);
  EXPECT_TRUE(j["send_deferred"].is_null());
  EXPECT_TRUE(j["send_per_payload_byte"].is_null());
  EXPECT_TRUE(j["send_per_payload_byte_reason"].is_string());
}

TEST(ProbesParsing, CopiesOfARemoteReceiverAndWithoutEbpfAreNullWithTheReason) {
  WindowSummary summary = Summary(1000, ReceiverMode::kRead, SourceKind::kMemory);
  summary.receiver_local = false;
  const CopyAccount remote = AccountCopies(summary, Transmitted(1000, 0, 0, 0), "");
  EXPECT_EQ(remote.send_call.bytes, 1000u);
  EXPECT_FALSE(remote.receive.bytes);
  EXPECT_NE(remote.receive.reason.find("remote"), std::string::npos);
  const nlohmann::json none = CopiesJson(AccountCopies(summary, DataMovementWindow{}, "not requested"), summary);
  for (const char* figure : {"send_call", "send_deferred", "receive"}) {
    EXPECT_TRUE(none[figure].is_null()) << figure;
    EXPECT_EQ(none[std::string(figure) + "_reason"], "not requested") << figure;
  }
}

TEST(ProbesParsing, ProbeSelectionsOfEbpfGroups) {
  auto defaults = ParseProbeSelection("default");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->ebpf_groups, DefaultEbpfGroups());
  EXPECT_TRUE(defaults->counters && defaults->memory && !defaults->bpf_run_time_stats);
  auto all = ParseProbeSelection("all");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->ebpf_groups.size(), EbpfGroupNames().size());
  auto one = ParseProbeSelection("net_traffic,bpf_stats");
  ASSERT_TRUE(one.ok()) << one.error().ToString();
  EXPECT_TRUE(one->ebpf && one->bpf_run_time_stats);
  EXPECT_FALSE(one->counters || one->memory);
  EXPECT_EQ(one->ebpf_groups, std::set<std::string>{"net_traffic"});
  auto stats_alone = ParseProbeSelection("counters,bpf_stats");
  ASSERT_FALSE(stats_alone.ok());
  EXPECT_NE(stats_alone.error().what().find("bpf_stats"), std::string::npos);
  // Every group has its cost and default in the help table, and nothing else does.
  std::vector<std::string> costed;
  for (const EbpfGroupCost& group : EbpfGroupCosts()) costed.push_back(group.name);
  EXPECT_EQ(costed, EbpfGroupNames());
  auto bad = ParseProbeSelection("net_trafic");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().what().find("net_traffic"), std::string::npos);  // names the valid groups
}

TEST(ProbesParsing, ModelWithoutTheCopyCountsIsUnavailable) {
  const MemoryModelResult model =
      ModelMemoryTraffic(Summary(1000, ReceiverMode::kRead, SourceKind::kMemory), DataMovementWindow{});
  EXPECT_FALSE(model.available);
  EXPECT_FALSE(model.reason.empty());
}

}  // namespace
}  // namespace zcb
