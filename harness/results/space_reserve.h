#pragma once

// Room kept aside in a run folder for the last word of a run.
//
// When the results folder fills up, the run must still be able to say so in its
// manifest ("interrupted", with the reason). The store keeps a file, `.reserve`, at least
// as large as the manifest it last wrote (twice that: the new manifest is written beside
// the old one before the rename), and gives the space back to the file system once an
// append has failed or a manifest finds no room, before its last writes. A read-only
// folder is not helped: nothing can be written there, and the run says so on stderr.

#include <cstdint>
#include <string>

#include "stack/result.h"

namespace zcb {

class SpaceReserve {
 public:
  SpaceReserve() = default;
  explicit SpaceReserve(std::string path) : path_(std::move(path)) {}
  SpaceReserve(SpaceReserve&& other) noexcept;
  SpaceReserve& operator=(SpaceReserve&& other) noexcept;
  SpaceReserve(const SpaceReserve&) = delete;
  SpaceReserve& operator=(const SpaceReserve&) = delete;
  // The file is removed with the store: a finished run folder has no reserve in it.
  ~SpaceReserve() { Release(); }

  // Grows the reserve to at least `bytes` (allocated blocks, not a sparse file). Fails
  // (ENOSPC) when the folder has no room for it: the run is then close to the fault the
  // reserve is for, and the caller says so.
  Status Ensure(uint64_t bytes);

  // Removes the file, giving its space back. Harmless when there is none.
  void Release();

  bool held() const { return held_bytes_ > 0; }

 private:
  std::string path_;
  uint64_t held_bytes_ = 0;
};

}  // namespace zcb
