#include "harness/probes/tracepoint_group.h"

#include <cstdarg>
#include <cstdio>
#include <deque>

#include <fmt/format.h>

namespace zcb {
namespace {

// libbpf's print callback is process-wide; the capture is per thread.
thread_local std::deque<std::string>* tls_libbpf_log = nullptr;

int CaptureLibbpfPrint(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG || tls_libbpf_log == nullptr) return 0;
  char line[512];
  const int n = std::vsnprintf(line, sizeof line, format, args);
  if (n <= 0) return 0;
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.empty()) return 0;
  tls_libbpf_log->push_back(std::move(text));
  if (tls_libbpf_log->size() > 6) tls_libbpf_log->pop_front();
  return 0;
}

thread_local std::deque<std::string> tls_log_storage;

}  // namespace

LibbpfLogCapture::LibbpfLogCapture() {
  tls_log_storage.clear();
  tls_libbpf_log = &tls_log_storage;
  previous_ = libbpf_set_print(CaptureLibbpfPrint);
}

LibbpfLogCapture::~LibbpfLogCapture() {
  libbpf_set_print(previous_);
  tls_libbpf_log = nullptr;
}

std::string LibbpfLogCapture::Summary() const {
  std::string out;
  for (const std::string& line : tls_log_storage) out += (out.empty() ? "" : " | ") + line;
  return out;
}

int PossibleCpus() {
  static const int cpus = [] {
    const int n = libbpf_num_possible_cpus();
    return n > 0 ? n : 1;
  }();
  return cpus;
}

Status ShareTrialThreads(bpf_map* map, const GroupConfig& config) {
  if (config.trial_threads_fd < 0) return OkStatus();
  if (const int err = bpf_map__reuse_fd(map, config.trial_threads_fd); err != 0) {
    return Error(-err, fmt::format("share the trial-threads map with {}", bpf_map__name(map)));
  }
  return OkStatus();
}

std::string TracepointProgram::event() const {
  const size_t colon = tracepoint.find(':');
  return colon == std::string::npos ? tracepoint : tracepoint.substr(colon + 1);
}

bool TracepointGroup::any_attached() const {
  for (const TracepointProgram& p : programs_) {
    if (p.attached()) return true;
  }
  return false;
}

Status TracepointGroup::LoadAndAttach(const std::vector<std::pair<bpf_program*, std::string>>& programs,
                                      const GroupConfig& config, const std::function<int()>& load) {
  for (const auto& [program, tracepoint] : programs) {
    TracepointProgram p;
    p.program = program;
    p.tracepoint = tracepoint;
    if (config.simulate_missing.count(tracepoint) != 0) {
      p.reason = fmt::format("tracepoint {} treated as missing (simulated)", tracepoint);
    } else if (config.catalog != nullptr) {
      p.reason = config.catalog->MissingReason(tracepoint);
    }
    // A program for a tracepoint the kernel lacks is not loaded: its types may be
    // missing too, and one failed program would fail the whole object.
    if (!p.reason.empty()) bpf_program__set_autoload(program, false);
    programs_.push_back(std::move(p));
  }

  LibbpfLogCapture log;
  if (const int err = load(); err != 0) {
    const std::string detail = log.Summary();
    load_error_ =
        Error(-err, fmt::format("load BPF object {}{}{}", name_, detail.empty() ? "" : ": ", detail)).ToString();
    for (TracepointProgram& p : programs_) {
      if (p.reason.empty()) p.reason = load_error_;
    }
    return Errorf("{}", load_error_);
  }
  for (TracepointProgram& p : programs_) {
    if (!p.reason.empty()) continue;
    // Raw tracepoints attach by name, without tracefs, and cost less per event than
    // perf-event tracepoints. BTF-typed ones (tp_btf) name theirs in the object.
    errno = 0;
    bpf_link* link = bpf_program__type(p.program) == BPF_PROG_TYPE_TRACING
                         ? bpf_program__attach_trace(p.program)
                         : bpf_program__attach_raw_tracepoint(p.program, p.event().c_str());
    const long err = libbpf_get_error(link);
    if (link == nullptr || err != 0) {
      p.reason = Error(err != 0 ? static_cast<int>(-err) : errno,
                       fmt::format("attach {} to raw tracepoint {}", p.name(), p.event()))
                     .ToString();
      continue;
    }
    p.link.reset(link);
  }
  return OkStatus();
}

const TracepointProgram* TracepointGroup::ProgramFor(std::string_view tracepoint) const {
  for (const TracepointProgram& p : programs_) {
    if (p.tracepoint == tracepoint) return &p;
  }
  return nullptr;
}

bool TracepointGroup::Available(std::string_view tracepoint, const std::string& key, nlohmann::json& out) const {
  const TracepointProgram* p = ProgramFor(tracepoint);
  if (p != nullptr && p->attached() && snapshot_error_.empty()) return true;
  out[key] = nullptr;
  if (!snapshot_error_.empty()) {
    out[key + "_reason"] = snapshot_error_;
  } else {
    out[key + "_reason"] = p != nullptr ? p->reason : fmt::format("no program for tracepoint {}", tracepoint);
  }
  return false;
}

}  // namespace zcb
