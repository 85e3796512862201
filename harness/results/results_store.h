#pragma once

// The results store: one folder per run, results/<run_id>/, that loses nothing.
//
//   manifest.json  the run's description and state (running | complete | interrupted |
//                  failed), always replaced atomically: written to a temporary file,
//                  synced, renamed over the old one, directory synced. A reader (or a
//                  crash) sees the old manifest or the new one, never half of one.
//   trials.jsonl   one record per line, appended with a single write() and synced
//                  (fdatasync) before the next trial starts. A kill -9 can leave at most
//                  a partial last line, which a resume cuts off (the trial it belonged
//                  to is run again). A write the file system refuses or cuts short
//                  (ENOSPC, EROFS, EIO) is cut back to the last whole record at once
//                  and reported; the file is opened per record, so that no file of the
//                  run stays open for writing between trials (a folder can then be
//                  remounted read-only under a run, which fails its next write).
//   trials.csv     derived from trials.jsonl when the run stops, fixed column order.
//   .lock          flock()ed while a process writes the run, so that two processes
//                  never append to one run (the kernel drops the lock when the
//                  process dies, even by kill -9).
//   .reserve       space kept aside for the last manifest when the folder fills up
//                  (space_reserve.h); removed when the store is closed.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/results/space_reserve.h"
#include "harness/trial/trial_record.h"
#include "stack/result.h"
#include "stack/unique_fd.h"

namespace zcb {

class ResultsStore {
 public:
  // Creates the run folder `dir` (and its parents if needed) and takes the run's lock.
  // An existing empty folder is used; a folder with anything in it is refused (EEXIST).
  static Result<ResultsStore> Create(const std::string& dir);

  // Opens an existing run to continue it: takes the lock (failing if another process
  // holds it), reads the manifest and the records, and cuts off a partial last line.
  // `read_only` (for --dry-run): reads only; no lock, no repair, no appending.
  static Result<ResultsStore> OpenForResume(const std::string& dir, bool read_only = false);

  ResultsStore(ResultsStore&&) = default;
  ResultsStore& operator=(ResultsStore&&) = default;

  const std::string& dir() const { return dir_; }
  // The manifest read by OpenForResume (empty after Create).
  const nlohmann::json& existing_manifest() const { return existing_manifest_; }
  // The records read by OpenForResume, in file order.
  const std::vector<nlohmann::json>& existing_records() const { return existing_records_; }
  // Bytes of a partial last line cut off by OpenForResume (0 if the file ended cleanly).
  size_t truncated_bytes() const { return truncated_bytes_; }
  // Lines that were complete but not JSON objects (kept in the file, not used).
  const std::vector<std::string>& unreadable_lines() const { return unreadable_lines_; }

  // Replaces manifest.json atomically. When the folder has no room for it, the space
  // reserve is given back and the write tried once more.
  Status WriteManifest(const nlohmann::json& manifest);

  // Appends one record as one line and syncs it to disk before returning. On failure the
  // file is cut back to its length before the call (no torn last line), the space reserve
  // is given back for the manifest that reports the failure, and the error names the file.
  Status Append(const TrialRecord& record);
  Status Append(const nlohmann::json& record);

  // (Re)writes trials.csv from trials.jsonl, atomically like the manifest.
  Status WriteCsv();

 private:
  ResultsStore() = default;

  std::string dir_;
  UniqueFd lock_fd_;
  SpaceReserve reserve_;
  nlohmann::json existing_manifest_;
  std::vector<nlohmann::json> existing_records_;
  std::vector<std::string> unreadable_lines_;
  size_t truncated_bytes_ = 0;
};

// Replaces `path` with `contents` atomically (temp file in the same folder, fsync,
// rename, fsync of the folder).
Status WriteFileAtomically(const std::string& path, const std::string& contents);

// The CSV columns, in their fixed order, and one record flattened into them.
const std::vector<std::string>& CsvColumns();
std::vector<std::string> CsvRow(const nlohmann::json& record);
// A CSV document (header + one row per record), RFC 4180 quoting.
std::string FormatCsv(const std::vector<nlohmann::json>& records);

}  // namespace zcb
