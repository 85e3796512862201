#include "stack/datagram.h"

#include <endian.h>

#include <algorithm>
#include <cstring>
#include <numeric>

namespace zcb {
namespace {

struct EncodedHeader {
  uint8_t bytes[kDatagramHeaderSize];
};

EncodedHeader Encode(uint64_t sequence, uint32_t flow_id, uint32_t payload_length) {
  EncodedHeader h;
  const uint64_t seq = htole64(sequence);
  const uint32_t flow = htole32(flow_id);
  const uint32_t len = htole32(payload_length);
  std::memcpy(h.bytes, &seq, 8);
  std::memcpy(h.bytes + 8, &flow, 4);
  std::memcpy(h.bytes + 12, &len, 4);
  return h;
}

}  // namespace

void WriteDatagramHeader(uint8_t* out, size_t size, uint64_t sequence, uint32_t flow_id) {
  const uint32_t payload_length = size > kDatagramHeaderSize ? static_cast<uint32_t>(size - kDatagramHeaderSize) : 0;
  const EncodedHeader h = Encode(sequence, flow_id, payload_length);
  std::memcpy(out, h.bytes, std::min(size, kDatagramHeaderSize));
}

void FillDatagram(const Pattern& pattern, uint32_t flow_id, uint64_t sequence, std::span<uint8_t> out) {
  WriteDatagramHeader(out.data(), out.size(), sequence, flow_id);
  if (out.size() > kDatagramHeaderSize) pattern.Fill(DatagramPayloadOffset(sequence), out.subspan(kDatagramHeaderSize));
}

DatagramHeaderView ParseDatagramHeader(std::span<const uint8_t> header, size_t length, uint32_t flow_id) {
  DatagramHeaderView view;
  const size_t present = std::min({header.size(), length, kDatagramHeaderSize});
  if (present == 0) return view;
  uint8_t bytes[kDatagramHeaderSize] = {};
  std::memcpy(bytes, header.data(), present);
  uint64_t seq;
  std::memcpy(&seq, bytes, 8);
  seq = le64toh(seq);
  if (present < 8) {
    view.sequence_bits = static_cast<unsigned>(present * 8);
    seq &= (uint64_t{1} << view.sequence_bits) - 1;
  }
  view.sequence = seq;
  view.payload_length = length > kDatagramHeaderSize ? length - kDatagramHeaderSize : 0;
  // The bytes after the sequence number must be what the sender wrote for a datagram of
  // this length with this flow id: compare them with that header.
  const EncodedHeader expected = Encode(seq, flow_id, static_cast<uint32_t>(view.payload_length));
  view.well_formed = present <= 8 || std::memcmp(bytes + 8, expected.bytes + 8, present - 8) == 0;
  // A length that does not fit 32 bits cannot be a UDP datagram's.
  if (view.payload_length > UINT32_MAX) view.well_formed = false;
  return view;
}

Result<DatagramRing> DatagramRing::Create(const Pattern& pattern, uint32_t flow_id, SourceKind source, size_t slot_size,
                                          size_t min_slots, size_t run_length) {
  if (slot_size == 0) return Errorf("datagram ring: the datagram size must be at least 1 byte");
  if (run_length == 0) run_length = 1;
  if (source != SourceKind::kMemory && source != SourceKind::kGenerated) {
    return Errorf("datagrams are sent from a memory or generated source, not {}", ToString(source));
  }
  DatagramRing ring(pattern, flow_id);
  ring.generate_ = source == SourceKind::kGenerated;
  ring.slot_size_ = slot_size;
  const size_t unit = std::lcm(static_cast<size_t>(kPayloadPhases), run_length);
  ring.slot_count_ = RoundUp(std::max<size_t>(min_slots, 1), unit);
  ZCB_ASSIGN_OR_RETURN(ring.region_, MappedRegion::Anonymous(RoundUp(ring.slot_count_ * slot_size, PageSize())));
  ring.gates_.resize(ring.slot_count_);
  ring.scribbled_.resize(ring.slot_count_);
  if (!ring.generate_ && slot_size > kDatagramHeaderSize) {
    // Slot i carries the datagrams whose sequence is i modulo the slot count, and the slot
    // count is a multiple of the phase count: the payload of slot i is that of sequence i.
    for (size_t i = 0; i < ring.slot_count_; ++i) {
      pattern.Fill(DatagramPayloadOffset(i), {ring.SlotData(i) + kDatagramHeaderSize, slot_size - kDatagramHeaderSize});
    }
  }
  return ring;
}

uint8_t* DatagramRing::Prepare(uint64_t sequence, size_t size) {
  const size_t slot = SlotOf(sequence);
  uint8_t* data = SlotData(slot);
  if (generate_ || scribbled_[slot]) {
    FillDatagram(*pattern_, flow_id_, sequence, {data, size});
    scribbled_[slot] = false;
  } else {
    WriteDatagramHeader(data, size, sequence, flow_id_);
  }
  return data;
}

void DatagramRing::Scribble(uint64_t sequence, size_t size) {
  const size_t slot = SlotOf(sequence);
  uint8_t* data = SlotData(slot);
  // The payload is inverted and the header left alone, so that a receiver that gets the
  // rewritten bytes can still tell which datagram it is and count it as corrupt. A
  // datagram with no payload beyond the header gets its header inverted (malformed).
  const size_t first = size > kDatagramHeaderSize ? kDatagramHeaderSize : 0;
  for (size_t i = first; i < size; ++i) data[i] = static_cast<uint8_t>(~data[i]);
  // The next Prepare() of this slot restores the payload too, not only the header: the
  // datagram after it must leave the sender intact, whatever the kernel did with this one.
  scribbled_[slot] = true;
}

}  // namespace zcb
