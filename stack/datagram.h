#pragma once

// The zcbench datagram: what every UDP strategy puts into a datagram's payload and what
// the UDP receiver checks, one datagram at a time.
//
//   bytes 0-7    sequence number, little-endian, counted from 0 by the sender
//   bytes 8-11   flow id, little-endian (a trial's random id: stray datagrams do not match)
//   bytes 12-15  payload length: the bytes after the header, little-endian
//   bytes 16-    payload: pattern bytes from DatagramPayloadOffset(sequence)
//
// Why a payload phase instead of the stream offset: a datagram must verify on its own,
// without knowing how many bytes came before it (datagrams get lost, and a GSO call's last
// segment is shorter). The payload of datagram s starts at pattern offset
// (s mod kPayloadPhases) * kPhaseStride, so a sender can keep kPayloadPhases (or a
// multiple) of pre-filled datagram images and write only the 16 header bytes per datagram
// in the timed window. A payload swapped with that of a datagram 64 sequence numbers away
// would pass the check, as a TCP stream shifted by a whole pattern period would; the
// header's sequence number still identifies the datagram.
//
// A datagram shorter than the header (sizes 1 to 15 are legal UDP) carries the first
// bytes of the header only: the low bytes of its sequence number, then what fits of the
// flow id and the length (which is 0). The receiver extends a short sequence number
// against the highest one it has seen (RFC 3550, appendix A.1), which is exact while
// datagrams are reordered by less than half the short number's range (128 datagrams for
// 1-byte datagrams); only the bytes present can be checked.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "stack/mapped_region.h"
#include "stack/pattern.h"
#include "stack/result.h"
#include "stack/types.h"

namespace zcb {

inline constexpr size_t kDatagramHeaderSize = 16;
inline constexpr uint64_t kPayloadPhases = 64;
// Odd, so that consecutive phases differ in byte alignment too.
inline constexpr uint64_t kPhaseStride = 4099;

// The pattern offset of the first payload byte of datagram `sequence`.
inline uint64_t DatagramPayloadOffset(uint64_t sequence) { return (sequence % kPayloadPhases) * kPhaseStride; }

// Writes the header of a `size`-byte datagram into out[0, min(size, 16)).
void WriteDatagramHeader(uint8_t* out, size_t size, uint64_t sequence, uint32_t flow_id);

// Writes a whole `out.size()`-byte datagram: header and payload.
void FillDatagram(const Pattern& pattern, uint32_t flow_id, uint64_t sequence, std::span<uint8_t> out);

// What the first bytes of a received datagram say about it.
struct DatagramHeaderView {
  // The header bytes present agree with the flow id and with the datagram's length.
  bool well_formed = false;
  // The sequence number, or its low `sequence_bits` bits for a datagram under 8 bytes.
  uint64_t sequence = 0;
  unsigned sequence_bits = 64;
  size_t payload_length = 0;
};

// Parses the header from `header` (the datagram's first min(length, 16) bytes) of a
// datagram that was `length` bytes long on the wire.
DatagramHeaderView ParseDatagramHeader(std::span<const uint8_t> header, size_t length, uint32_t flow_id);

// The sender's datagram images: `slot_count()` slots of `slot_size()` bytes back to back,
// slot i holding the datagrams whose sequence is i modulo the slot count. The slot count
// is a multiple of kPayloadPhases (so a slot's payload phase never changes) and of
// `run_length` (so a run of that many consecutive sequence numbers that starts on a
// multiple of it is contiguous in memory, as one UDP_SEGMENT buffer must be).
//
//   memory source     every slot's payload is written once, at Create; Prepare() writes
//                     the 16 header bytes only.
//   generated source  Prepare() writes the whole datagram, as an application generating
//                     its data would.
//
// For strategies that lend the slots to the kernel (MSG_ZEROCOPY, io_uring SEND_ZC), each
// slot keeps a gate: the completion value after which it may be rewritten. Even the memory
// source rewrites the header of a slot for every datagram, so every reuse is gated.
class DatagramRing {
 public:
  static Result<DatagramRing> Create(const Pattern& pattern, uint32_t flow_id, SourceKind source, size_t slot_size,
                                     size_t min_slots, size_t run_length = 1);

  size_t slot_size() const { return slot_size_; }
  size_t slot_count() const { return slot_count_; }
  size_t SlotOf(uint64_t sequence) const { return static_cast<size_t>(sequence % slot_count_); }
  uint8_t* SlotData(size_t slot) const { return region_.data() + slot * slot_size_; }
  // The one region every slot lies in (io_uring buffer registration).
  std::span<uint8_t> Region() const { return {region_.data(), slot_count_ * slot_size_}; }

  // Writes datagram `sequence` of `size` bytes (at most slot_size()) into its slot.
  uint8_t* Prepare(uint64_t sequence, size_t size);

  // Lending strategies: the gate the slot of `sequence` waits for before Prepare() may
  // rewrite it, if any; and the gate of a slot just handed to the kernel.
  std::optional<uint64_t> PendingGate(uint64_t sequence) const { return gates_[SlotOf(sequence)]; }
  void Lent(uint64_t sequence, uint64_t gate) { gates_[SlotOf(sequence)] = gate; }
  void Released(uint64_t sequence) { gates_[SlotOf(sequence)].reset(); }

  // unsafe_reuse: rewrites the slot of `sequence` right after the call that lent it,
  // breaking the rule on purpose so that the receiver shows what was really sent. The
  // payload after the header is inverted (the header too, when there is no payload).
  void Scribble(uint64_t sequence, size_t size);

 private:
  DatagramRing(const Pattern& pattern, uint32_t flow_id) : pattern_(&pattern), flow_id_(flow_id) {}

  const Pattern* pattern_;
  uint32_t flow_id_;
  bool generate_ = false;
  size_t slot_size_ = 0;
  size_t slot_count_ = 0;
  MappedRegion region_;
  std::vector<std::optional<uint64_t>> gates_;
  std::vector<bool> scribbled_;
};

}  // namespace zcb
