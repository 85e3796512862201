#pragma once

// The payload a strategy sends from: the bytes of stream offset o, as one of three
// sources lays them out. A payload source (workloads/payload_source.h) makes them; the
// stack only reads them.
//
//   memory     a static anonymous buffer of W + max_message bytes holding the pattern,
//              W the working set; stream offset o is at MemoryAt(o).
//   file       a file of W + max_message bytes holding the pattern; stream offset o is
//              file offset FileOffset(o).
//   generated  a shared memfd mapping (a ring of slots) that the sender writes each
//              message into before sending it (Generate), as a server generates a
//              response. Because it is a tmpfs file, it can also be sendfile()d.

#include <sys/types.h>

#include <cstdint>

#include "stack/mapped_region.h"
#include "stack/pattern.h"
#include "stack/types.h"
#include "stack/unique_fd.h"

namespace zcb {

class Payload {
 public:
  Payload(const Payload&) = delete;
  Payload& operator=(const Payload&) = delete;

  SourceKind kind() const { return kind_; }
  const Pattern& pattern() const { return pattern_; }

  // The bytes the memory or file source cycles through: the working set rounded up to a
  // whole number of pattern periods.
  size_t cycle() const { return cycle_; }

  // memory: the stream bytes from `offset` (up to max_message of them).
  const uint8_t* MemoryAt(uint64_t offset) const { return memory_.data() + offset % cycle_; }
  const MappedRegion& memory() const { return memory_; }

  // file (and generated, whose ring is a file too): the descriptor.
  int fd() const { return fd_.get(); }
  // file: where stream offset `offset` lies in the file.
  off_t FileOffset(uint64_t offset) const { return static_cast<off_t>(offset % cycle_); }
  size_t file_size() const { return file_size_; }

  // generated: the shared mapping of the ring file; slot i is at ring().data() + i * slot_size().
  const MappedRegion& ring() const { return ring_; }
  size_t slot_size() const { return slot_size_; }
  size_t slot_count() const { return ring_.size() / slot_size_; }
  // Writes stream bytes [offset, offset + len) into slot `slot`.
  void Generate(size_t slot, uint64_t offset, size_t len) {
    pattern_.Fill(offset, {ring_.data() + slot * slot_size_, len});
  }

 protected:
  // Made (and destroyed) only as the source that fills it.
  Payload(SourceKind kind, const Pattern& pattern) : kind_(kind), pattern_(pattern) {}
  ~Payload() = default;

  SourceKind kind_;
  Pattern pattern_;
  size_t cycle_ = 0;
  MappedRegion memory_;
  UniqueFd fd_;
  size_t file_size_ = 0;
  MappedRegion ring_;
  size_t slot_size_ = 0;
};

}  // namespace zcb
