// The results store: atomic manifests, one synced line per record, a partial last line
// cut off on resume, one writer per run, and the CSV's fixed columns.

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "harness/results/results_store.h"

namespace zcb {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "zcb-results-test-XXXXXX").string();
    path_ = ::mkdtemp(templ.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

nlohmann::json Record(int trial) {
  return {{"schema", "zcbench.trial/1"},
          {"run_id", "r"},
          {"trial", trial},
          {"repetition", trial},
          {"warmup", false},
          {"point", "tcp/write/loopback/bulk/memory/65536/verify"},
          {"status", "ok"},
          {"error", nullptr},
          {"converged", nullptr},
          {"params", {{"strategy", "write"}, {"message_size", 65536}, {"options", {{"a", "1"}, {"b", "x,y"}}}}},
          {"metrics", {{"goodput_bps", 1.5e9}, {"cpu", {{"ns_per_kib", 512.0}}}}}};
}

TEST(ResultsStore, CreateWritesManifestAtomicallyAndAppendsLines) {
  TempDir tmp;
  auto store = ResultsStore::Create(tmp.path() + "/results/run-1");
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  const std::string dir = tmp.path() + "/results/run-1";
  EXPECT_EQ(store->dir(), dir);
  ASSERT_TRUE(store->WriteManifest({{"schema", "zcbench.run/1"}, {"state", "running"}}).ok());
  ASSERT_TRUE(store->WriteManifest({{"schema", "zcbench.run/1"}, {"state", "complete"}}).ok());
  EXPECT_EQ(nlohmann::json::parse(Slurp(dir + "/manifest.json"))["state"], "complete");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store->Append(Record(i)).ok());
  const std::string jsonl = Slurp(dir + "/trials.jsonl");
  std::istringstream lines(jsonl);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) EXPECT_EQ(nlohmann::json::parse(line)["trial"], n++);
  EXPECT_EQ(n, 3);
  EXPECT_EQ(jsonl.back(), '\n');
  // No temporary file is left behind; the space reserve is there while the run is open,
  // and goes with the store.
  EXPECT_EQ(Entries(dir), (std::vector<std::string>{".lock", ".reserve", "manifest.json", "trials.jsonl"}));
  { ResultsStore closed = std::move(*store); }
  EXPECT_EQ(Entries(dir), (std::vector<std::string>{".lock", "manifest.json", "trials.jsonl"}));
}

TEST(ResultsStore, AnExistingRunFolderIsNotReused) {
  TempDir tmp;
  auto first = ResultsStore::Create(tmp.path() + "/same");
  ASSERT_TRUE(first.ok());
  // An empty folder (mktemp -d) is fine; one with a run in it is not.
  auto empty = ResultsStore::Create(tmp.path());
  EXPECT_FALSE(empty.ok());
  auto second = ResultsStore::Create(tmp.path() + "/same");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().errno_value(), EEXIST);
  EXPECT_NE(second.error().what().find("--resume"), std::string::npos);
}

TEST(ResultsStore, OneWriterPerRun) {
  TempDir tmp;
  auto writer = ResultsStore::Create(tmp.path() + "/locked");
  ASSERT_TRUE(writer.ok());
  auto other = ResultsStore::OpenForResume(tmp.path() + "/locked");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().what().find("being written by another zcbench process"), std::string::npos)
      << other.error().what();
  // A dry run only reads: it does not need the lock.
  ASSERT_TRUE(writer->WriteManifest({{"schema", "zcbench.run/1"}}).ok());
  EXPECT_TRUE(ResultsStore::OpenForResume(tmp.path() + "/locked", /*read_only=*/true).ok());
}

// A write the file system cuts short (here the file-size limit, RLIMIT_FSIZE, which needs
// no root: the first write() takes what fits, the next fails with EFBIG, as a full disk
// does with ENOSPC): the append fails naming the file, and the file is cut back to its
// last whole record, as if the append had never started.
TEST(ResultsStore, AShortWriteIsCutBackToTheLastWholeRecord) {
  TempDir tmp;
  auto store = ResultsStore::Create(tmp.path() + "/short");
  ASSERT_TRUE(store.ok());
  const std::string dir = store->dir();
  ASSERT_TRUE(store->Append(Record(0)).ok());
  const std::string before = Slurp(dir + "/trials.jsonl");

  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &previous), 0);
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit limited = saved;
  limited.rlim_cur = before.size() + 40;  // room for part of the next line only
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
  const Status appended = store->Append(Record(1));
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  ASSERT_EQ(::sigaction(SIGXFSZ, &previous, nullptr), 0);

  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().errno_value(), EFBIG);
  EXPECT_NE(appended.error().ToString().find(dir + "/trials.jsonl"), std::string::npos) << appended.error().ToString();
  EXPECT_EQ(Slurp(dir + "/trials.jsonl"), before);  // no torn line
  // The next append (space back) goes on from the whole record.
  ASSERT_TRUE(store->Append(Record(1)).ok());
  EXPECT_EQ(Slurp(dir + "/trials.jsonl"), before + Record(1).dump() + "\n");
}

TEST(ResultsStore, ResumeCutsOffAPartialLastLineAndKeepsTheRest) {
  TempDir tmp;
  std::string dir;
  {
    auto store = ResultsStore::Create(tmp.path() + "/killed");
    ASSERT_TRUE(store.ok());
    dir = store->dir();
    ASSERT_TRUE(store->WriteManifest({{"schema", "zcbench.run/1"}, {"state", "running"}}).ok());
    ASSERT_TRUE(store->Append(Record(0)).ok());
    ASSERT_TRUE(store->Append(Record(1)).ok());
  }  // the lock goes with the store, as with a process killed by kill -9
  const std::string partial = Record(2).dump().substr(0, 40);
  {
    std::ofstream out(dir + "/trials.jsonl", std::ios::app | std::ios::binary);
    out << partial;
  }
  auto resumed = ResultsStore::OpenForResume(dir);
  ASSERT_TRUE(resumed.ok()) << resumed.error().ToString();
  EXPECT_EQ(resumed->existing_records().size(), 2u);
  EXPECT_EQ(resumed->truncated_bytes(), partial.size());
  EXPECT_EQ(resumed->existing_manifest()["state"], "running");
  ASSERT_TRUE(resumed->Append(Record(2)).ok());
  const std::string jsonl = Slurp(dir + "/trials.jsonl");
  std::istringstream lines(jsonl);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) EXPECT_EQ(nlohmann::json::parse(line)["trial"], n++) << line;
  EXPECT_EQ(n, 3);
}

TEST(ResultsStore, ResumeOfAMissingFolderSaysSo) {
  auto missing = ResultsStore::OpenForResume("/nonexistent/zcb-run");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().what().find("no such run folder"), std::string::npos);
}

TEST(ResultsCsv, FixedColumnsFlattenedRecords) {
  const auto& columns = CsvColumns();
  ASSERT_GE(columns.size(), 40u);
  EXPECT_EQ(columns[0], "run_id");
  EXPECT_EQ(columns[1], "trial");
  const auto column = [&](const std::string& name) {
    return static_cast<size_t>(std::find(columns.begin(), columns.end(), name) - columns.begin());
  };
  ASSERT_LT(column("goodput_bps"), columns.size());
  ASSERT_LT(column("cpu_ns_per_kib"), columns.size());
  const auto row = CsvRow(Record(4));
  ASSERT_EQ(row.size(), columns.size());
  EXPECT_EQ(row[column("trial")], "4");
  EXPECT_EQ(row[column("warmup")], "false");
  EXPECT_EQ(row[column("converged")], "");
  EXPECT_EQ(row[column("goodput_bps")], "1500000000.0");
  EXPECT_EQ(row[column("cpu_ns_per_kib")], "512.0");
  EXPECT_EQ(row[column("options")], "a=1;b=x,y");
  EXPECT_EQ(row[column("probes_ipis_sent")], "");  // absent: empty, never a shifted column

  // The probe columns read the probes' record shape.
  nlohmann::json probed = Record(5);
  probed["metrics"]["probes"] = {{"tlb_flush_total", {{"count", 5}, {"pages", 7}}}, {"ipi", 9}, {"page_faults", 3}};
  probed["metrics"]["zerocopy"] = {
      {"completions", 2}, {"copied", 2}, {"zerocopy", 0}, {"enobufs_retries", 0}, {"outstanding_at_end", 1}};
  const auto probed_row = CsvRow(probed);
  EXPECT_EQ(probed_row[column("probes_tlb_flushes")], "5");
  EXPECT_EQ(probed_row[column("probes_tlb_flush_pages")], "7");
  EXPECT_EQ(probed_row[column("probes_ipis_sent")], "9");
  EXPECT_EQ(probed_row[column("probes_page_faults")], "3");
  EXPECT_EQ(probed_row[column("zerocopy_outstanding_at_end")], "1");

  // The trial settings a point may vary on have columns: the workload's options, the
  // socket options as the kernel applied them, optmem_max, the congestion control, and
  // how the TCP receiver read.
  nlohmann::json set = Record(6);
  set["params"]["workload_options"] = {{"requests", "8"}};
  set["params"]["socket_options"] = {
      {"sndbuf", {{"asked", "1M"}, {"applied", 2097152}, {"socket", "sender"}, {"option", "SO_SNDBUF"}}},
      {"nodelay", {{"asked", "true"}, {"applied", true}, {"socket", "sender"}, {"option", "TCP_NODELAY"}}}};
  set["params"]["optmem_max"] = {{"bytes", 131072}, {"source", "/proc/sys/net/core/optmem_max"}};
  set["params"]["tcp_congestion"] = {{"name", "reno"}, {"source", "getsockopt(TCP_CONGESTION)"}};
  set["params"]["receiver_settings"] = {{"recv_bytes", 2097152}, {"rcvlowat", 65536}, {"wait", "poll"}};
  const auto set_row = CsvRow(set);
  ASSERT_EQ(set_row.size(), columns.size());
  ASSERT_LT(column("socket_options"), columns.size());
  EXPECT_EQ(set_row[column("workload_options")], "requests=8");
  EXPECT_EQ(set_row[column("socket_options")], "nodelay=true;sndbuf=2097152");
  EXPECT_EQ(set_row[column("optmem_max")], "131072");
  EXPECT_EQ(set_row[column("tcp_congestion")], "reno");
  EXPECT_EQ(set_row[column("rcvlowat")], "65536");
  EXPECT_EQ(set_row[column("receiver_wait")], "poll");
  EXPECT_EQ(row[column("socket_options")], "");  // none asked for

  const std::string csv = FormatCsv({Record(0), Record(1)});
  std::istringstream in(csv);
  std::string header, first;
  std::getline(in, header);
  std::getline(in, first);
  EXPECT_EQ(header.substr(0, 23), "run_id,trial,repetition");
  EXPECT_NE(first.find("\"a=1;b=x,y\""), std::string::npos) << first;  // quoted: it has a comma
}

}  // namespace
}  // namespace zcb
