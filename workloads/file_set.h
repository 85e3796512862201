#pragma once

// The file set a file_serving trial serves: N files whose sizes follow a distribution
// (fixed, a list, or a lognormal body with a Pareto tail), made in the trial's file
// directory before the window and removed after it.
//
// What each file holds is known to the receiver without asking: the files are laid out
// back to back on the pattern stream (stack/pattern.h), file i holding the stream bytes
// from the sum of the sizes before it, so that its ResponseExtent (workloads/exchange.h)
// says both its length and what the client checks it against. The sizes come from the
// distribution and its seed alone: both ends compute the same ones.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stack/options.h"
#include "stack/pattern.h"
#include "stack/result.h"
#include "workloads/exchange.h"

namespace zcb {

inline constexpr uint64_t kSmallestFile = 1024;       // 1 KiB
inline constexpr uint64_t kLargestFile = 1ull << 30;  // 1 GiB

// The lognormal body with a Pareto tail of Barford and Crovella's SURGE web workload
// model ("Generating Representative Web Workloads for Network and Server Performance
// Evaluation", SIGMETRICS 1998), fitted to web server file sizes: body lognormal with
// mu = 9.357 and sigma = 1.318 (of ln bytes: a median near 11.6 KB), tail Pareto with
// alpha = 1.1 from k = 133 KB, the tail holding the largest 7% of the files. A draw is
// the tail's with probability tail_fraction, else the body's redrawn until it falls
// below k (each part keeps its own shape); every size is then clamped to [min, max].
struct LognormalPareto {
  double body_mu = 9.357;
  double body_sigma = 1.318;
  double tail_alpha = 1.1;
  uint64_t tail_start = 133'000;
  double tail_fraction = 0.07;
};

struct FileSetSpec {
  enum class Distribution { kFixed, kList, kLognormalPareto };
  uint64_t files = 0;
  Distribution distribution = Distribution::kFixed;
  uint64_t size = 0;                                           // fixed
  std::vector<uint64_t> list;                                  // list: cycled over the files
  LognormalPareto lognormal_pareto;                            // lognormal_pareto
  uint64_t min_size = kSmallestFile, max_size = kLargestFile;  // lognormal_pareto's clamp
  uint64_t seed = 1;                                           // lognormal_pareto's draws
};

// The workload options that describe a file set (files, distribution, size, sizes,
// size_seed, min_size, max_size and the lognormal_pareto parameters).
std::vector<OptionSpec> FileSetOptions();
// The spec they give; a usage error names the option to fix (a distribution with no
// mass in [1 KiB, 1 GiB], a list with a size out of range).
Result<FileSetSpec> FileSetSpecFrom(const Options& options, const std::string& owner);
std::string_view ToString(FileSetSpec::Distribution distribution);

// The files' sizes, in order: the same for the same spec on any host.
std::vector<uint64_t> FileSizes(const FileSetSpec& spec);
// The files laid out on the pattern stream (see above).
std::vector<ResponseExtent> FileLayout(const std::vector<uint64_t>& sizes);

// What the record says of a file set.
struct FileSetFacts {
  uint64_t files = 0;
  uint64_t total_bytes = 0, smallest = 0, largest = 0;
  std::string directory_file_system;  // "tmpfs", or the statfs magic in hex
  uint64_t free_bytes_before = 0;     // the file system's free space before the set was made
  uint64_t mem_available_bytes = 0;   // /proc/meminfo MemAvailable once it was made
  bool fits_page_cache = false;       // total_bytes <= mem_available_bytes
};

// The files themselves: a directory of their own (zcb-file-set.XXXXXX) in `dir` (empty:
// /dev/shm), named 0, 1, ..., removed with the object.
class FileSet {
 public:
  // A set larger than the file system's free space is a usage error naming --file-dir.
  static Result<std::unique_ptr<FileSet>> Create(const std::vector<uint64_t>& sizes, const std::string& dir,
                                                 const Pattern& pattern);
  ~FileSet();
  FileSet(const FileSet&) = delete;
  FileSet& operator=(const FileSet&) = delete;

  size_t size() const { return paths_.size(); }
  const std::string& path(size_t i) const { return paths_[i]; }
  const std::vector<ResponseExtent>& layout() const { return layout_; }
  const FileSetFacts& facts() const { return facts_; }

  // The cold cache: every file's clean pages dropped (fsync, then
  // posix_fadvise(POSIX_FADV_DONTNEED)); an error on tmpfs, whose pages cannot be dropped.
  Status DropPageCache() const;

 private:
  FileSet() = default;

  std::string directory_;
  std::vector<std::string> paths_;
  std::vector<ResponseExtent> layout_;
  FileSetFacts facts_;
};

// The exchange of a server of a file set (file_serving, http_response): 8-byte requests
// (the sequence number, workloads/exchange.h), one in flight, response k the extent
// layout[k mod N], `bytes` (the trial's byte count, if any) ending it with the response
// that reaches it. `message_size` is the trial's, unused by the responses.
Exchange FileSetExchange(std::shared_ptr<const std::vector<ResponseExtent>> layout, uint64_t message_size,
                         std::optional<uint64_t> bytes);

// What the record says of a file set (metrics.<workload>.file_set): its spec, and, once
// `files` is made (may be null), its facts.
nlohmann::json FileSetJson(const FileSetSpec& spec, const FileSet* files);

}  // namespace zcb
