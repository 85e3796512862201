#pragma once

// What the running kernel offers for tracing: which tracepoints exist (from the kernel's
// BTF, where every tracepoint has a `btf_trace_<name>` typedef; raw tracepoints attach
// by that name without tracefs) and what their formats say (from tracefs, which holds
// the tables that decode numeric fields such as tlb_flush's reason).
//
// tracefs is often not mounted. The catalog then mounts a private instance in a
// temporary directory just long enough to read the formats it was asked for, and
// unmounts it again; nothing is left behind.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "stack/result.h"

struct btf;

namespace zcb {

// A numeric field's value names: {1: "remote_shootdown", ...}.
struct ValueNames {
  std::map<int64_t, std::string> names;
  // Where they came from: "tracefs format" or "kernel BTF enum"; empty when unknown.
  std::string source;
  // Why they could not be read (empty when `names` is filled).
  std::string reason;

  // The name of `value`, or "reason_<value>" for a value missing from the table.
  std::string NameOf(int64_t value) const;
};

// tracefs, found mounted or mounted for the catalog's lifetime.
class TracefsMount {
 public:
  // Finds a mounted tracefs (or debugfs/tracing); failing that, mounts one on a fresh
  // directory under the temporary directory (needs CAP_SYS_ADMIN).
  static Result<TracefsMount> Acquire();
  TracefsMount(TracefsMount&& other) noexcept;
  TracefsMount& operator=(TracefsMount&&) = delete;
  ~TracefsMount();

  const std::string& path() const { return path_; }
  // True when this object mounted it (and unmounts it when destroyed).
  bool owned() const { return owned_; }

 private:
  TracefsMount(std::string path, bool owned) : path_(std::move(path)), owned_(owned) {}
  std::string path_;
  bool owned_ = false;
};

// Where tracefs is mounted now, or nullopt (reads /proc/self/mounts).
std::optional<std::string> FindTracefs();

// Snake-case identifier for a tracepoint's value label: "local MM shootdown" ->
// "local_mm_shootdown", "NET_RX" -> "net_rx".
std::string LabelToIdentifier(std::string_view label);

// Parses the `__print_symbolic(REC-><field>, { 0, "name" }, ...)` table of a
// tracepoint format's "print fmt" line. Names are turned into identifiers.
Result<std::map<int64_t, std::string>> ParsePrintSymbolic(std::string_view format, std::string_view field);

class TracepointCatalog {
 public:
  // Loads the kernel's BTF and reads the formats of `formats` ("group:name") from
  // tracefs. Never fails: what cannot be read is recorded and reported by the queries.
  static TracepointCatalog Load(const std::vector<std::string>& formats);
  TracepointCatalog(TracepointCatalog&&) noexcept;
  TracepointCatalog& operator=(TracepointCatalog&&) noexcept;
  ~TracepointCatalog();

  // Whether the kernel has tracepoint `event` (the name after the colon).
  bool InKernel(std::string_view event) const;
  // Why `tracepoint` ("group:name") cannot be used, or "" when it can.
  std::string MissingReason(std::string_view tracepoint) const;
  bool btf_loaded() const { return btf_ != nullptr; }
  const std::string& btf_reason() const { return btf_reason_; }

  // The tracefs format text of `tracepoint`, when it was read.
  std::optional<std::string> Format(std::string_view tracepoint) const;
  // How tracefs was reached: "mounted at /sys/kernel/tracing", "mounted privately for
  // reading formats", or why it could not be.
  const std::string& tracefs_status() const { return tracefs_status_; }
  bool tracefs_available() const { return tracefs_available_; }

  // Value names of `field` of `tracepoint`: from its format's __print_symbolic table,
  // else from the kernel BTF enum that has an enumerator named `btf_enumerator`
  // (names with `strip_prefix` / `strip_suffix` removed, lower-cased).
  ValueNames FieldValueNames(std::string_view tracepoint, std::string_view field, std::string_view btf_enumerator,
                             std::string_view strip_prefix, std::string_view strip_suffix) const;

 private:
  TracepointCatalog() = default;
  struct btf* btf_ = nullptr;
  std::string btf_reason_;
  std::map<std::string, std::string, std::less<>> formats_;
  std::string tracefs_status_;
  bool tracefs_available_ = false;
};

}  // namespace zcb
