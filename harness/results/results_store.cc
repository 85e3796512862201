#include "harness/results/results_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace zcb {
namespace {

constexpr const char* kManifest = "manifest.json";
constexpr const char* kTrials = "trials.jsonl";
constexpr const char* kCsv = "trials.csv";
constexpr const char* kLock = ".lock";
constexpr const char* kReserve = ".reserve";
// Room beyond twice the manifest, for the counts and reasons a last manifest adds.
constexpr uint64_t kReserveSlack = 64 * 1024;

std::string Join(const std::string& dir, const char* name) { return dir + "/" + name; }

Status WriteAll(int fd, const char* data, size_t size, const std::string& what) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError(what);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return OkStatus();
}

Status SyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return SysError(fmt::format("open {} to sync it", dir));
  if (::fsync(fd.get()) != 0) return SysError(fmt::format("fsync {}", dir));
  return OkStatus();
}

Status MakeDirs(const std::string& path) {
  std::string prefix;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    prefix = path.substr(0, slash);
    if (!prefix.empty() && ::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return SysError(fmt::format("create the results folder {}", prefix));
    }
    start = slash + 1;
  }
  return OkStatus();
}

Result<UniqueFd> TakeLock(const std::string& dir) {
  const std::string path = Join(dir, kLock);
  // Read-only: flock() needs no write access, and a file held open for writing for the
  // whole run would keep the folder's file system from being remounted read-only.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return SysError(fmt::format("open the run lock {}", path));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Error(EWOULDBLOCK,
                   fmt::format("{} is being written by another zcbench process right now; wait for it "
                               "to finish or stop it first",
                               dir),
                   ErrorKind::kUsage);
    }
    return SysError(fmt::format("lock {}", path));
  }
  // The owner's pid, for a human looking at a stuck run; the lock itself is the truth.
  const std::string pid = fmt::format("{}\n", ::getpid());
  if (UniqueFd out(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC)); out) {
    (void)!::write(out.get(), pid.data(), pid.size());
  }
  return fd;
}

// Creates trials.jsonl if it is not there yet: a run folder always has one, and a folder
// the run cannot write fails here, before the first trial.
Status CreateTrialsFile(const std::string& dir) {
  const std::string path = Join(dir, kTrials);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd) return SysError(fmt::format("open {} for appending", path));
  return OkStatus();
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return SysError(fmt::format("open {}", path));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// "k=v;k=v" for a flat object of strings (options), compact JSON otherwise.
std::string CellText(const nlohmann::json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return v.dump();  // as in trials.jsonl
  if (v.is_object()) {
    std::string out;
    for (const auto& [k, x] : v.items()) {
      if (!x.is_string() && !x.is_number() && !x.is_boolean()) return v.dump();
      out += fmt::format("{}{}={}", out.empty() ? "" : ";", k, CellText(x));
    }
    return out;
  }
  return v.dump();
}

std::string CsvQuote(const std::string& cell) {
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string out = "\"";
  for (char c : cell) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// A cell made from the value at a column's pointer (CellText when none).
using CellFormat = std::string (*)(const nlohmann::json& value);

struct Column {
  const char* name;
  const char* pointer;  // JSON pointer into the record
  CellFormat format = nullptr;
};

// params.socket_options as "key=applied;...": what the kernel made of each option, the
// value a point's figures are read against (the JSON keeps what was asked and from where).
std::string AppliedSocketOptions(const nlohmann::json& options) {
  if (!options.is_object()) return "";
  std::string out;
  for (const auto& [key, option] : options.items()) {
    const nlohmann::json applied = option.is_object() && option.contains("applied") ? option["applied"] : nullptr;
    out += fmt::format("{}{}={}", out.empty() ? "" : ";", key, CellText(applied));
  }
  return out;
}

// The fixed column order of trials.csv. New columns are only ever appended.
const std::vector<Column>& ColumnTable() {
  static const std::vector<Column> columns = {
      {"run_id", "/run_id"},
      {"trial", "/trial"},
      {"repetition", "/repetition"},
      {"warmup", "/warmup"},
      {"point", "/point"},
      {"status", "/status"},
      {"error", "/error"},
      {"converged", "/converged"},
      {"started_at", "/started_at"},
      {"protocol", "/params/protocol"},
      {"strategy", "/params/strategy"},
      {"path", "/params/path"},
      {"path_name", "/params/path_name"},
      {"workload", "/params/workload"},
      {"source", "/params/source"},
      {"message_size", "/params/message_size"},
      {"receiver", "/params/receiver"},
      {"duration_s", "/params/duration_s"},
      {"bytes", "/params/bytes"},
      {"sender_cpu", "/params/sender_cpu"},
      {"receiver_cpu", "/params/receiver_cpu"},
      {"seed", "/params/seed"},
      {"rate_bps", "/params/rate_bps"},
      {"pattern_period", "/params/pattern_period"},
      {"page_cache", "/params/page_cache"},
      {"options", "/params/options"},
      {"path_options", "/params/path_options"},
      {"bytes_sent", "/metrics/bytes_sent"},
      {"bytes_received", "/metrics/bytes_received"},
      {"elapsed_s", "/metrics/elapsed_s"},
      {"goodput_bps", "/metrics/goodput_bps"},
      {"send_calls", "/metrics/send_calls"},
      {"recv_calls", "/metrics/recv_calls"},
      {"integrity_mode", "/metrics/integrity/mode"},
      {"integrity_verified_bytes", "/metrics/integrity/verified_bytes"},
      {"integrity_mismatches", "/metrics/integrity/mismatches"},
      {"integrity_first_mismatch_offset", "/metrics/integrity/first_mismatch_offset"},
      {"cpu_user_s", "/metrics/cpu/system_wide/user_s"},
      {"cpu_system_s", "/metrics/cpu/system_wide/system_s"},
      {"cpu_softirq_s", "/metrics/cpu/system_wide/softirq_s"},
      {"cpu_irq_s", "/metrics/cpu/system_wide/irq_s"},
      {"cpu_idle_s", "/metrics/cpu/system_wide/idle_s"},
      {"cpu_busy_s", "/metrics/cpu/system_wide/busy_s"},
      {"cpu_ns_per_kib", "/metrics/cpu/ns_per_kib"},
      {"cpu_sender_thread_s", "/metrics/cpu/sender_thread_s"},
      {"cpu_receiver_thread_s", "/metrics/cpu/receiver_thread_s"},
      {"zerocopy_completions", "/metrics/zerocopy/completions"},
      {"zerocopy_copied", "/metrics/zerocopy/copied"},
      {"zerocopy_zerocopy", "/metrics/zerocopy/zerocopy"},
      {"zerocopy_enobufs_retries", "/metrics/zerocopy/enobufs_retries"},
      {"zerocopy_outstanding_at_end", "/metrics/zerocopy/outstanding_at_end"},
      {"reuse_gate_waits", "/metrics/reuse_gate/waits"},
      {"reuse_gate_wait_s", "/metrics/reuse_gate/wait_s"},
      {"probes_tlb_flushes", "/metrics/probes/tlb_flush_total/count"},
      {"probes_tlb_flush_pages", "/metrics/probes/tlb_flush_total/pages"},
      {"probes_ipis_sent", "/metrics/probes/ipi"},
      {"probes_page_faults", "/metrics/probes/page_faults"},
      {"probes_kernel_copy_bytes", "/metrics/probes/kernel_copy_bytes"},
      {"probes_xmit_packets", "/metrics/probes/xmit_packets"},
      {"probes_xmit_bytes", "/metrics/probes/xmit_bytes"},
      {"probes_retransmits", "/metrics/probes/retransmits"},
      {"probes_softirq_net_rx_ns", "/metrics/probes/softirq_net_rx_ns"},
      {"probes_softirq_net_tx_ns", "/metrics/probes/softirq_net_tx_ns"},
      {"probes_run_time_ns", "/metrics/probes/run_time_ns"},
      {"memory_source", "/metrics/memory/source"},
      {"memory_read_bytes", "/metrics/memory/read_bytes"},
      {"memory_write_bytes", "/metrics/memory/write_bytes"},
      {"memory_bandwidth_bps", "/metrics/memory/bandwidth_bps"},
      {"convergence_good_repetitions", "/convergence/good_repetitions"},
      {"convergence_goodput_relative_half_width", "/convergence/goodput/relative_half_width"},
      {"convergence_cpu_relative_half_width", "/convergence/cpu/relative_half_width"},
      // zcbench.trial/2: the trial's CPU parts, the system-wide figure, the working set,
      // and the trial threads' TLB flushes and IPIs.
      {"cpu_trial_s", "/metrics/cpu/trial_s"},
      {"cpu_io_workers_s", "/metrics/cpu/io_workers_s"},
      {"cpu_softirq_outside_threads_s", "/metrics/cpu/softirq_outside_threads_s"},
      {"cpu_other_threads_s", "/metrics/cpu/other_threads_s"},
      {"cpu_system_wide_ns_per_kib", "/metrics/cpu/system_wide/ns_per_kib"},
      {"working_set", "/params/working_set"},
      {"payload_working_set_bytes", "/metrics/payload/working_set_bytes"},
      {"payload_device_read_bytes", "/metrics/payload/device_read_bytes"},
      {"probes_tlb_flushes_in_trial", "/metrics/probes/tlb_flush_total/count_in_trial"},
      {"probes_ipis_sent_in_trial", "/metrics/probes/ipi_in_trial"},
      // The trial settings a point may vary on beyond the columns above.
      {"workload_options", "/params/workload_options"},
      {"socket_options", "/params/socket_options", AppliedSocketOptions},
      {"optmem_max", "/params/optmem_max/bytes"},
      {"tcp_congestion", "/params/tcp_congestion/name"},
      {"rcvlowat", "/params/receiver_settings/rcvlowat"},
      {"receiver_wait", "/params/receiver_settings/wait"},
  };
  return columns;
}

bool IsEmptyDir(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return false;
  bool empty = true;
  while (dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") empty = false;
  }
  ::closedir(dir);
  return empty;
}

}  // namespace

Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  const std::string temp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return SysError(fmt::format("create {}", temp));
    Status written = WriteAll(fd.get(), contents.data(), contents.size(), fmt::format("write {}", temp));
    if (written.ok() && ::fsync(fd.get()) != 0) written = SysError(fmt::format("fsync {}", temp));
    if (!written.ok()) {
      // No half-written temporary left behind to be taken for a file (the old one, if
      // any, is untouched).
      ::unlink(temp.c_str());
      return written;
    }
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    return Error(saved, fmt::format("rename {} to {}", temp, path));
  }
  return SyncDir(dir);
}

Result<ResultsStore> ResultsStore::Create(const std::string& dir) {
  ResultsStore store;
  store.dir_ = dir;
  while (store.dir_.size() > 1 && store.dir_.back() == '/') store.dir_.pop_back();
  const size_t slash = store.dir_.find_last_of('/');
  if (slash != std::string::npos && slash > 0) ZCB_RETURN_IF_ERROR(MakeDirs(store.dir_.substr(0, slash)));
  if (::mkdir(store.dir_.c_str(), 0755) != 0) {
    if (errno != EEXIST) return SysError(fmt::format("create the run folder {}", store.dir_));
    if (!IsEmptyDir(store.dir_)) {
      return Error(EEXIST,
                   fmt::format("{} exists and is not empty: choose another folder, or continue the run in it "
                               "with --resume {}",
                               store.dir_, store.dir_),
                   ErrorKind::kUsage);
    }
  }
  ZCB_ASSIGN_OR_RETURN(store.lock_fd_, TakeLock(store.dir_));
  ZCB_RETURN_IF_ERROR(CreateTrialsFile(store.dir_));
  store.reserve_ = SpaceReserve(Join(store.dir_, kReserve));
  return store;
}

Result<ResultsStore> ResultsStore::OpenForResume(const std::string& dir, bool read_only) {
  ResultsStore store;
  store.dir_ = dir;
  while (store.dir_.size() > 1 && store.dir_.back() == '/') store.dir_.pop_back();
  struct stat st {};
  if (::stat(store.dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error(ENOENT, fmt::format("--resume {}: no such run folder", dir), ErrorKind::kUsage);
  }
  if (!read_only) {
    ZCB_ASSIGN_OR_RETURN(store.lock_fd_, TakeLock(store.dir_));
  }
  auto manifest_text = ReadFile(Join(store.dir_, kManifest));
  if (!manifest_text.ok()) {
    return Error(manifest_text.error().errno_value(),
                 fmt::format("--resume {}: no readable manifest.json; is it a zcbench run folder?", dir),
                 ErrorKind::kUsage);
  }
  try {
    store.existing_manifest_ = nlohmann::json::parse(*manifest_text);
  } catch (const nlohmann::json::exception& e) {
    return Usagef("--resume {}: manifest.json is not valid JSON ({})", dir, e.what());
  }

  const std::string trials_path = Join(store.dir_, kTrials);
  auto text = ReadFile(trials_path);
  std::string data = text.ok() ? *text : std::string();
  // A line is complete when its newline was written: the record was appended with one
  // write(), so whatever follows the last newline is a record cut off by a kill.
  const size_t complete = data.rfind('\n') == std::string::npos ? 0 : data.rfind('\n') + 1;
  if (complete < data.size()) {
    store.truncated_bytes_ = data.size() - complete;
    if (!read_only && ::truncate(trials_path.c_str(), static_cast<off_t>(complete)) != 0) {
      return SysError(fmt::format("cut the partial last line off {}", trials_path));
    }
    data.resize(complete);
  }
  size_t start = 0;
  while (start < data.size()) {
    const size_t end = data.find('\n', start);
    const std::string line = data.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    try {
      nlohmann::json record = nlohmann::json::parse(line);
      if (record.is_object()) {
        store.existing_records_.push_back(std::move(record));
        continue;
      }
    } catch (const nlohmann::json::exception&) {
    }
    store.unreadable_lines_.push_back(line);
  }
  if (!read_only) {
    ZCB_RETURN_IF_ERROR(CreateTrialsFile(store.dir_));
    store.reserve_ = SpaceReserve(Join(store.dir_, kReserve));
  }
  return store;
}

Status ResultsStore::WriteManifest(const nlohmann::json& manifest) {
  const std::string text = manifest.dump(2) + "\n";
  const std::string path = Join(dir_, kManifest);
  Status written = WriteFileAtomically(path, text);
  if (!written.ok() && written.error().errno_value() == ENOSPC && reserve_.held()) {
    reserve_.Release();  // the room kept for this moment
    written = WriteFileAtomically(path, text);
  }
  ZCB_RETURN_IF_ERROR(written);
  // Room for the next manifest, twice this one's size: it is written beside the old one.
  // Not having it is no error yet: the folder is nearly full, which the next write shows.
  (void)reserve_.Ensure(2 * text.size() + kReserveSlack);
  return OkStatus();
}

Status ResultsStore::Append(const TrialRecord& record) { return Append(record.ToJson()); }

Status ResultsStore::Append(const nlohmann::json& record) {
  const std::string path = Join(dir_, kTrials);
  // One write() per record: with O_APPEND a concurrent reader sees whole lines, and a
  // kill leaves at most one partial line at the end.
  const std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  if (!fd) return SysError(fmt::format("open {} for appending", path));
  struct stat before {};
  if (::fstat(fd.get(), &before) != 0) return SysError(fmt::format("stat {}", path));
  Status written = WriteAll(fd.get(), line.data(), line.size(), fmt::format("append a record to {}", path));
  if (written.ok() && ::fdatasync(fd.get()) != 0) written = SysError(fmt::format("fdatasync {}", path));
  if (written.ok()) return OkStatus();
  // A refused or short write may have left part of the line: cut the file back to the last
  // whole record, so that what is there reads as it did before this call.
  if (::ftruncate(fd.get(), before.st_size) != 0) {
    written = Error(written.error().errno_value(),
                    fmt::format("{}; cutting the partial line off failed too ({}): --resume cuts it off",
                                written.error().what(), std::strerror(errno)));
  }
  reserve_.Release();  // the manifest that reports this needs the room
  return written;
}

Status ResultsStore::WriteCsv() {
  auto text = ReadFile(Join(dir_, kTrials));
  if (!text.ok()) return std::move(text).error();
  std::vector<nlohmann::json> records;
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    try {
      records.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception&) {
      // Not a record (a partial line of a killed run): it has no columns to fill.
    }
  }
  return WriteFileAtomically(Join(dir_, kCsv), FormatCsv(records));
}

const std::vector<std::string>& CsvColumns() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& c : ColumnTable()) out.emplace_back(c.name);
    return out;
  }();
  return names;
}

std::vector<std::string> CsvRow(const nlohmann::json& record) {
  std::vector<std::string> row;
  for (const auto& c : ColumnTable()) {
    const nlohmann::json::json_pointer pointer(c.pointer);
    if (!record.is_object() || !record.contains(pointer)) {
      row.emplace_back();
      continue;
    }
    row.push_back(c.format != nullptr ? c.format(record.at(pointer)) : CellText(record.at(pointer)));
  }
  return row;
}

std::string FormatCsv(const std::vector<nlohmann::json>& records) {
  std::string out;
  auto add_row = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) out += ',';
      out += CsvQuote(cells[i]);
    }
    out += "\r\n";
  };
  add_row(CsvColumns());
  for (const auto& r : records) add_row(CsvRow(r));
  return out;
}

}  // namespace zcb
