#include "workloads/file_set.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "stack/types.h"
#include "stack/unique_fd.h"

namespace zcb {
namespace {

constexpr size_t kWriteChunk = 4 << 20;  // bytes of pattern written per pwrite while making a file

// A number of a kString option ("9.357"); a usage error naming the option otherwise.
Result<double> ParseNumber(const Options& options, const char* name, const std::string& owner) {
  const std::string& text = options.GetString(name);
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno != 0 || !std::isfinite(value)) {
    return Usagef("{} option {}: '{}' is not a number", owner, name, text);
  }
  return value;
}

std::optional<uint64_t> MemAvailableBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  uint64_t kib = 0;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return std::nullopt;
}

Status WriteFile(int fd, uint64_t size, uint64_t stream_offset, const Pattern& pattern, std::vector<uint8_t>& chunk) {
  for (uint64_t done = 0; done < size;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), size - done));
    pattern.Fill(stream_offset + done, {chunk.data(), n});
    const ssize_t w = ::pwrite(fd, chunk.data(), n, static_cast<off_t>(done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return SysError("write a file of the file set");
    done += static_cast<uint64_t>(w);
  }
  return OkStatus();
}

}  // namespace

std::string_view ToString(FileSetSpec::Distribution distribution) {
  switch (distribution) {
    case FileSetSpec::Distribution::kFixed:
      return "fixed";
    case FileSetSpec::Distribution::kList:
      return "list";
    case FileSetSpec::Distribution::kLognormalPareto:
      return "lognormal_pareto";
  }
  return "?";
}

std::vector<OptionSpec> FileSetOptions() {
  const LognormalPareto surge;
  return {
      OptionSpec{"files", OptionType::kInt, "64", "files in the set; request k serves file k mod files"}.InRange(
          1, 1'000'000),
      {"distribution",
       OptionType::kChoice,
       "fixed",
       "the files' sizes: fixed (every file `size` bytes), list (the sizes of `sizes`, cycled over the files) or "
       "lognormal_pareto (a lognormal body with a Pareto tail, SURGE's web file sizes; drawn with size_seed)",
       {"fixed", "list", "lognormal_pareto"}},
      OptionSpec{"size", OptionType::kSize, "64K", "distribution=fixed: every file's size (1K to 1G)"}.InRange(
          static_cast<int64_t>(kSmallestFile), static_cast<int64_t>(kLargestFile)),
      {"sizes", OptionType::kString, "",
       "distribution=list: file sizes separated by commas, e.g. 4K,64K,1M (1K to 1G)"},
      OptionSpec{"size_seed", OptionType::kInt, "1", "distribution=lognormal_pareto: the draws' seed"}.AtLeast(0),
      OptionSpec{"min_size", OptionType::kSize, "1K",
                 "distribution=lognormal_pareto: smaller draws are clamped up to it"}
          .InRange(static_cast<int64_t>(kSmallestFile), static_cast<int64_t>(kLargestFile)),
      OptionSpec{"max_size", OptionType::kSize, "1G",
                 "distribution=lognormal_pareto: larger draws are clamped down to it"}
          .InRange(static_cast<int64_t>(kSmallestFile), static_cast<int64_t>(kLargestFile)),
      {"body_mu", OptionType::kString, fmt::format("{}", surge.body_mu),
       "distribution=lognormal_pareto: the body's mean of ln(bytes) (SURGE 9.357)"},
      {"body_sigma", OptionType::kString, fmt::format("{}", surge.body_sigma),
       "distribution=lognormal_pareto: the body's standard deviation of ln(bytes) (SURGE 1.318)"},
      {"tail_alpha", OptionType::kString, fmt::format("{}", surge.tail_alpha),
       "distribution=lognormal_pareto: the Pareto tail's shape (SURGE 1.1)"},
      OptionSpec{"tail_start", OptionType::kSize, std::to_string(surge.tail_start),
                 "distribution=lognormal_pareto: where the tail starts, its Pareto k (SURGE 133 KB)"}
          .InRange(static_cast<int64_t>(kSmallestFile), static_cast<int64_t>(kLargestFile)),
      {"tail_fraction", OptionType::kString, fmt::format("{}", surge.tail_fraction),
       "distribution=lognormal_pareto: the share of files drawn from the tail, 0 to 1 (SURGE 0.07)"},
  };
}

Result<FileSetSpec> FileSetSpecFrom(const Options& options, const std::string& owner) {
  FileSetSpec spec;
  spec.files = static_cast<uint64_t>(options.GetInt("files"));
  const std::string& distribution = options.GetString("distribution");
  const auto given = [&](const char* name) { return options.given().count(name) != 0; };
  const auto only_for = [&](const char* name, const char* for_distribution) -> Status {
    if (given(name) && distribution != for_distribution) {
      return Usagef("{} option {} applies to distribution={} only (the distribution is {})", owner, name,
                    for_distribution, distribution);
    }
    return OkStatus();
  };
  ZCB_RETURN_IF_ERROR(only_for("size", "fixed"));
  ZCB_RETURN_IF_ERROR(only_for("sizes", "list"));
  for (const char* name :
       {"size_seed", "min_size", "max_size", "body_mu", "body_sigma", "tail_alpha", "tail_start", "tail_fraction"}) {
    ZCB_RETURN_IF_ERROR(only_for(name, "lognormal_pareto"));
  }
  if (distribution == "fixed") {
    spec.distribution = FileSetSpec::Distribution::kFixed;
    spec.size = options.GetSize("size");
  } else if (distribution == "list") {
    spec.distribution = FileSetSpec::Distribution::kList;
    const std::string& text = options.GetString("sizes");
    size_t start = 0;
    while (start <= text.size() && !text.empty()) {
      const size_t comma = std::min(text.find(',', start), text.size());
      const std::string item = text.substr(start, comma - start);
      const std::optional<uint64_t> size = ParseSize(item);
      if (!size || *size < kSmallestFile || *size > kLargestFile) {
        return Usagef("{} option sizes: '{}' is not a size from 1K to 1G (e.g. sizes=4K,64K,1M)", owner, item);
      }
      spec.list.push_back(*size);
      start = comma + 1;
    }
    if (spec.list.empty()) {
      return Usagef("{}: distribution=list has no mass: give the sizes, e.g. --workload-option sizes=4K,64K,1M", owner);
    }
  } else {
    spec.distribution = FileSetSpec::Distribution::kLognormalPareto;
    LognormalPareto& d = spec.lognormal_pareto;
    ZCB_ASSIGN_OR_RETURN(d.body_mu, ParseNumber(options, "body_mu", owner));
    ZCB_ASSIGN_OR_RETURN(d.body_sigma, ParseNumber(options, "body_sigma", owner));
    ZCB_ASSIGN_OR_RETURN(d.tail_alpha, ParseNumber(options, "tail_alpha", owner));
    ZCB_ASSIGN_OR_RETURN(d.tail_fraction, ParseNumber(options, "tail_fraction", owner));
    d.tail_start = options.GetSize("tail_start");
    spec.min_size = options.GetSize("min_size");
    spec.max_size = options.GetSize("max_size");
    spec.seed = static_cast<uint64_t>(options.GetInt("size_seed"));
    if (!(d.body_sigma > 0)) return Usagef("{} option body_sigma must be positive (got {})", owner, d.body_sigma);
    if (!(d.tail_alpha > 0)) return Usagef("{} option tail_alpha must be positive (got {})", owner, d.tail_alpha);
    if (!(d.tail_fraction >= 0 && d.tail_fraction <= 1)) {
      return Usagef("{} option tail_fraction must be from 0 to 1 (got {})", owner, d.tail_fraction);
    }
    if (spec.min_size > spec.max_size) {
      return Usagef("{}: min_size {} is above max_size {}: the distribution has no mass between them", owner,
                    FormatSize(spec.min_size), FormatSize(spec.max_size));
    }
    // A body whose every draw lies above the tail's start (so that no body draw is ever
    // kept) has no mass: refused rather than looped over.
    const double body_below_k =
        0.5 * std::erfc(-(std::log(static_cast<double>(d.tail_start)) - d.body_mu) / (d.body_sigma * std::sqrt(2.0)));
    if (d.tail_fraction < 1 && body_below_k < 1e-6) {
      return Usagef(
          "{}: the lognormal body (body_mu {}, body_sigma {}) has no mass below tail_start {}: lower body_mu or raise "
          "tail_start",
          owner, d.body_mu, d.body_sigma, FormatSize(d.tail_start));
    }
  }
  return spec;
}

std::vector<uint64_t> FileSizes(const FileSetSpec& spec) {
  std::vector<uint64_t> sizes(spec.files);
  switch (spec.distribution) {
    case FileSetSpec::Distribution::kFixed:
      std::fill(sizes.begin(), sizes.end(), spec.size);
      break;
    case FileSetSpec::Distribution::kList:
      for (size_t i = 0; i < sizes.size(); ++i) sizes[i] = spec.list[i % spec.list.size()];
      break;
    case FileSetSpec::Distribution::kLognormalPareto: {
      // The same engine and arithmetic on both ends (mt19937_64 is specified exactly; the
      // draws below use only its output and <cmath>), so both compute the same sizes.
      std::mt19937_64 random(spec.seed);
      const auto uniform = [&] {  // in (0, 1)
        return (static_cast<double>(random() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
      };
      const LognormalPareto& d = spec.lognormal_pareto;
      const double k = static_cast<double>(d.tail_start);
      for (uint64_t& size : sizes) {
        double bytes;
        if (uniform() < d.tail_fraction) {
          bytes = k / std::pow(uniform(), 1.0 / d.tail_alpha);  // Pareto by inversion
        } else {
          do {  // Box-Muller, redrawn until below the tail's start
            const double z = std::sqrt(-2.0 * std::log(uniform())) * std::cos(2.0 * M_PI * uniform());
            bytes = std::exp(d.body_mu + d.body_sigma * z);
          } while (bytes >= k);
        }
        const double clamped =
            std::clamp(std::round(bytes), static_cast<double>(spec.min_size), static_cast<double>(spec.max_size));
        size = static_cast<uint64_t>(clamped);
      }
      break;
    }
  }
  return sizes;
}

std::vector<ResponseExtent> FileLayout(const std::vector<uint64_t>& sizes) {
  std::vector<ResponseExtent> layout;
  layout.reserve(sizes.size());
  uint64_t offset = 0;
  for (uint64_t size : sizes) {
    layout.push_back({size, offset});
    offset += size;
  }
  return layout;
}

Result<std::unique_ptr<FileSet>> FileSet::Create(const std::vector<uint64_t>& sizes, const std::string& dir,
                                                 const Pattern& pattern) {
  const std::string parent = dir.empty() ? "/dev/shm" : dir;
  std::unique_ptr<FileSet> set(new FileSet());
  FileSetFacts& facts = set->facts_;
  set->layout_ = FileLayout(sizes);
  facts.files = sizes.size();
  for (uint64_t size : sizes) facts.total_bytes += size;
  facts.smallest = sizes.empty() ? 0 : *std::min_element(sizes.begin(), sizes.end());
  facts.largest = sizes.empty() ? 0 : *std::max_element(sizes.begin(), sizes.end());

  struct statfs fs {};
  struct statvfs vfs {};
  if (::statfs(parent.c_str(), &fs) != 0 || ::statvfs(parent.c_str(), &vfs) != 0) {
    return Error(errno, fmt::format("the file set's directory {} (--file-dir)", parent), ErrorKind::kUsage);
  }
  facts.directory_file_system =
      fs.f_type == TMPFS_MAGIC ? "tmpfs" : fmt::format("0x{:x}", static_cast<unsigned long>(fs.f_type));
  facts.free_bytes_before = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (facts.total_bytes > facts.free_bytes_before) {
    return Usagef(
        "the file set ({} files, {} bytes) is larger than the {} bytes free in {}: give fewer or smaller files, or "
        "a directory with room (--file-dir)",
        facts.files, facts.total_bytes, facts.free_bytes_before, parent);
  }

  std::string templ = parent + "/zcb-file-set.XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) return SysError(fmt::format("make the file set's directory in {}", parent));
  set->directory_ = templ;
  std::vector<uint8_t> chunk(std::min<uint64_t>(std::max<uint64_t>(facts.largest, 1), kWriteChunk));
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::string path = fmt::format("{}/{}", set->directory_, i);
    UniqueFd fd(::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600));
    if (!fd) return SysError(fmt::format("create {}", path));
    set->paths_.push_back(std::move(path));
    ZCB_RETURN_IF_ERROR(WriteFile(fd.get(), sizes[i], set->layout_[i].stream_offset, pattern, chunk));
  }
  facts.mem_available_bytes = MemAvailableBytes().value_or(0);
  facts.fits_page_cache = facts.total_bytes <= facts.mem_available_bytes;
  return set;
}

FileSet::~FileSet() {
  for (const std::string& path : paths_) ::unlink(path.c_str());
  if (!directory_.empty()) ::rmdir(directory_.c_str());
}

Status FileSet::DropPageCache() const {
  if (facts_.directory_file_system == "tmpfs") {
    return Usagef(
        "cache=cold needs the file set on disk: tmpfs pages cannot be dropped; give a directory on a disk file "
        "system (--file-dir DIR)");
  }
  for (const std::string& path : paths_) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return SysError(fmt::format("open {} to drop its pages", path));
    // Dirty pages cannot be dropped: written back first.
    if (::fsync(fd.get()) != 0) return SysError(fmt::format("fsync {} before dropping its pages", path));
    if (const int rc = ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED); rc != 0) {
      return Error(rc, fmt::format("posix_fadvise(POSIX_FADV_DONTNEED) on {}", path));
    }
  }
  return OkStatus();
}

Exchange FileSetExchange(std::shared_ptr<const std::vector<ResponseExtent>> layout, uint64_t message_size,
                         std::optional<uint64_t> bytes) {
  Exchange x;
  x.request_size = 8;
  x.response_size = message_size;
  x.outstanding = 1;
  x.bytes = bytes;
  x.responses = std::move(layout);
  return x;
}

nlohmann::json FileSetJson(const FileSetSpec& spec, const FileSet* files) {
  nlohmann::json set = {{"files", spec.files}, {"distribution", ToString(spec.distribution)}};
  if (spec.distribution == FileSetSpec::Distribution::kLognormalPareto) {
    const LognormalPareto& d = spec.lognormal_pareto;
    set["lognormal_pareto"] = {{"body_mu", d.body_mu},
                               {"body_sigma", d.body_sigma},
                               {"tail_alpha", d.tail_alpha},
                               {"tail_start", d.tail_start},
                               {"tail_fraction", d.tail_fraction},
                               {"min_size", spec.min_size},
                               {"max_size", spec.max_size},
                               {"size_seed", spec.seed}};
  }
  if (files != nullptr) {
    const FileSetFacts& f = files->facts();
    set["total_bytes"] = f.total_bytes;
    set["smallest_bytes"] = f.smallest;
    set["largest_bytes"] = f.largest;
    set["file_system"] = f.directory_file_system;
    set["free_bytes_before"] = f.free_bytes_before;
    set["mem_available_bytes"] = f.mem_available_bytes;
    set["fits_page_cache"] = f.fits_page_cache;
  }
  return set;
}

}  // namespace zcb
