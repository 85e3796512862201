#include "harness/probes/tracepoint_catalog.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace zcb {
namespace {

std::optional<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// "tlb:tlb_flush" -> ("tlb", "tlb_flush").
std::pair<std::string_view, std::string_view> SplitTracepoint(std::string_view tracepoint) {
  const size_t colon = tracepoint.find(':');
  if (colon == std::string_view::npos) return {"", tracepoint};
  return {tracepoint.substr(0, colon), tracepoint.substr(colon + 1)};
}

}  // namespace

std::string ValueNames::NameOf(int64_t value) const {
  if (auto it = names.find(value); it != names.end()) return it->second;
  return fmt::format("reason_{}", value);
}

std::optional<std::string> FindTracefs() {
  std::ifstream mounts("/proc/self/mounts");
  std::string device, dir, type, rest;
  std::optional<std::string> debugfs;
  while (mounts >> device >> dir >> type && std::getline(mounts, rest)) {
    if (type == "tracefs") return dir;
    if (type == "debugfs" && std::filesystem::exists(dir + "/tracing/events")) debugfs = dir + "/tracing";
  }
  return debugfs;
}

Result<TracefsMount> TracefsMount::Acquire() {
  if (auto found = FindTracefs()) return TracefsMount(*found, false);
  std::error_code ec;
  const std::filesystem::path temp = std::filesystem::temp_directory_path(ec);
  std::string dir = ((ec ? std::filesystem::path("/tmp") : temp) / "zcb-tracefs-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) return SysError(fmt::format("tracefs: create a mount point {}", dir));
  if (::mount("nodev", dir.c_str(), "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    Error error =
        SysError(fmt::format("tracefs is not mounted and mounting it on {} failed (needs root or CAP_SYS_ADMIN)", dir));
    ::rmdir(dir.c_str());
    return error;
  }
  return TracefsMount(dir, true);
}

TracefsMount::TracefsMount(TracefsMount&& other) noexcept
    : path_(std::move(other.path_)), owned_(std::exchange(other.owned_, false)) {}

TracefsMount::~TracefsMount() {
  if (!owned_) return;
  ::umount2(path_.c_str(), MNT_DETACH);
  ::rmdir(path_.c_str());
}

std::string LabelToIdentifier(std::string_view label) {
  std::string out;
  for (char c : label) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

Result<std::map<int64_t, std::string>> ParsePrintSymbolic(std::string_view format, std::string_view field) {
  const std::string marker = fmt::format("__print_symbolic(REC->{},", field);
  size_t pos = format.find(marker);
  if (pos == std::string_view::npos) return Errorf("the format has no __print_symbolic table for field {}", field);
  pos += marker.size();
  std::map<int64_t, std::string> names;
  // Entries look like { 1, "remote shootdown" }; the table ends at the closing ')'.
  while (pos < format.size()) {
    while (pos < format.size() && (std::isspace(static_cast<unsigned char>(format[pos])) || format[pos] == ',')) ++pos;
    if (pos >= format.size() || format[pos] != '{') break;
    const size_t close = format.find('}', pos);
    if (close == std::string_view::npos) break;
    const std::string_view entry = format.substr(pos + 1, close - pos - 1);
    const size_t comma = entry.find(',');
    const size_t quote_open = entry.find('"');
    const size_t quote_close = entry.rfind('"');
    if (comma == std::string_view::npos || quote_open == std::string_view::npos || quote_close <= quote_open) {
      return Errorf("unexpected entry in the __print_symbolic table of {}: {{{}}}", field, entry);
    }
    const std::string number(entry.substr(0, comma));
    char* end = nullptr;
    const long long value = std::strtoll(number.c_str(), &end, 0);
    if (end == number.c_str()) return Errorf("unexpected value in the __print_symbolic table of {}: {}", field, number);
    names[value] = LabelToIdentifier(entry.substr(quote_open + 1, quote_close - quote_open - 1));
    pos = close + 1;
  }
  if (names.empty()) return Errorf("the __print_symbolic table for field {} is empty", field);
  return names;
}

TracepointCatalog TracepointCatalog::Load(const std::vector<std::string>& formats) {
  TracepointCatalog catalog;
  errno = 0;
  catalog.btf_ = btf__load_vmlinux_btf();
  if (catalog.btf_ == nullptr || libbpf_get_error(catalog.btf_) != 0) {
    const int err = errno != 0 ? errno : ENOENT;
    catalog.btf_ = nullptr;
    catalog.btf_reason_ =
        Error(err,
              "the kernel's BTF (/sys/kernel/btf/vmlinux) could not be loaded: the kernel needs CONFIG_DEBUG_INFO_BTF")
            .ToString();
  }
  auto tracefs = TracefsMount::Acquire();
  if (!tracefs.ok()) {
    catalog.tracefs_status_ = tracefs.error().ToString();
    return catalog;
  }
  catalog.tracefs_available_ = true;
  catalog.tracefs_status_ = tracefs->owned() ? "not mounted; mounted privately while reading tracepoint formats"
                                             : fmt::format("mounted at {}", tracefs->path());
  for (const std::string& tracepoint : formats) {
    const auto [group, event] = SplitTracepoint(tracepoint);
    if (auto text = ReadWholeFile(fmt::format("{}/events/{}/{}/format", tracefs->path(), group, event))) {
      catalog.formats_[tracepoint] = std::move(*text);
    }
  }
  return catalog;
}

TracepointCatalog::TracepointCatalog(TracepointCatalog&& other) noexcept { *this = std::move(other); }

TracepointCatalog& TracepointCatalog::operator=(TracepointCatalog&& other) noexcept {
  if (this != &other) {
    if (btf_ != nullptr) btf__free(btf_);
    btf_ = std::exchange(other.btf_, nullptr);
    btf_reason_ = std::move(other.btf_reason_);
    formats_ = std::move(other.formats_);
    tracefs_status_ = std::move(other.tracefs_status_);
    tracefs_available_ = other.tracefs_available_;
  }
  return *this;
}

TracepointCatalog::~TracepointCatalog() {
  if (btf_ != nullptr) btf__free(btf_);
}

bool TracepointCatalog::InKernel(std::string_view event) const {
  if (btf_ == nullptr) return false;
  const std::string typedef_name = fmt::format("btf_trace_{}", event);
  return btf__find_by_name_kind(btf_, typedef_name.c_str(), BTF_KIND_TYPEDEF) >= 0;
}

std::string TracepointCatalog::MissingReason(std::string_view tracepoint) const {
  if (btf_ == nullptr) return btf_reason_;
  const auto [group, event] = SplitTracepoint(tracepoint);
  if (!InKernel(event))
    return fmt::format("this kernel has no tracepoint {} (no btf_trace_{} in its BTF)", tracepoint, event);
  return "";
}

std::optional<std::string> TracepointCatalog::Format(std::string_view tracepoint) const {
  if (auto it = formats_.find(tracepoint); it != formats_.end()) return it->second;
  return std::nullopt;
}

ValueNames TracepointCatalog::FieldValueNames(std::string_view tracepoint, std::string_view field,
                                              std::string_view btf_enumerator, std::string_view strip_prefix,
                                              std::string_view strip_suffix) const {
  ValueNames out;
  std::string format_problem;
  if (auto format = Format(tracepoint)) {
    auto parsed = ParsePrintSymbolic(*format, field);
    if (parsed.ok()) {
      out.names = std::move(*parsed);
      out.source = "tracefs format";
      return out;
    }
    format_problem = fmt::format("{} format: {}", tracepoint, parsed.error().ToString());
  } else {
    format_problem = fmt::format("{} format unreadable (tracefs {})", tracepoint, tracefs_status_);
  }
  // The kernel's BTF has the enum the tracepoint's table was generated from.
  if (btf_ != nullptr) {
    const uint32_t count = btf__type_cnt(btf_);
    for (uint32_t id = 1; id < count && out.names.empty(); ++id) {
      const btf_type* type = btf__type_by_id(btf_, id);
      if (!btf_is_enum(type)) continue;
      const struct btf_enum* values = btf_enum(type);
      bool has = false;
      for (uint16_t i = 0; i < btf_vlen(type) && !has; ++i)
        has = btf__name_by_offset(btf_, values[i].name_off) == btf_enumerator;
      if (!has) continue;
      for (uint16_t i = 0; i < btf_vlen(type); ++i) {
        std::string_view name = btf__name_by_offset(btf_, values[i].name_off);
        if (name.substr(0, strip_prefix.size()) == strip_prefix) name.remove_prefix(strip_prefix.size());
        if (name.size() >= strip_suffix.size() && name.substr(name.size() - strip_suffix.size()) == strip_suffix) {
          name.remove_suffix(strip_suffix.size());
        }
        out.names[values[i].val] = LabelToIdentifier(name);
      }
    }
    if (!out.names.empty()) {
      out.source = "kernel BTF enum";
      return out;
    }
  }
  out.reason = fmt::format("{}; and no kernel BTF enum has {}", format_problem, btf_enumerator);
  return out;
}

}  // namespace zcb
