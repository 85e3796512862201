// Fuzz target: the zcbench datagram as the UDP receiver takes it off the wire
// (stack/datagram.h). The input is a run of datagrams, each a 2-byte little-endian wire
// length and the bytes the receiver's buffer holds of it (fewer than the length: a
// truncated copy, as in discard mode); the receiver parses each header, extends its
// sequence number, checks the payload against the pattern and counts it. The counts
// must balance whatever arrives.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "stack/datagram.h"
#include "stack/datagram_receiver.h"
#include "stack/pattern.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [choice, rest] = zcb::fuzz::TakeSelector(data, size);
  static const zcb::Pattern pattern(/*seed=*/1);
  zcb::DatagramReceiverConfig config;
  constexpr zcb::ReceiverMode kModes[] = {zcb::ReceiverMode::kVerify, zcb::ReceiverMode::kRead,
                                          zcb::ReceiverMode::kDiscard};
  config.mode = kModes[choice % 3];
  config.flow_id = 0x5a5a0000u | choice;
  config.batch = 1;
  auto receiver = zcb::DatagramReceiver::Create(config, pattern);
  if (!receiver.ok()) zcb::fuzz::Fail("DatagramReceiver::Create");

  uint64_t datagrams = 0, wire_bytes = 0;
  size_t at = 0;
  while (rest.size() - at >= 2) {
    const size_t length = rest[at] | size_t{rest[at + 1]} << 8;
    at += 2;
    const size_t available = std::min(length, rest.size() - at);
    const uint8_t* bytes = rest.data() + at;
    at += available;
    // The header alone, as ParseDatagramHeader sees the first bytes of any datagram.
    const zcb::DatagramHeaderView view =
        zcb::ParseDatagramHeader({bytes, std::min(available, zcb::kDatagramHeaderSize)}, length, config.flow_id);
    if (view.well_formed &&
        view.payload_length != (length > zcb::kDatagramHeaderSize ? length - zcb::kDatagramHeaderSize : 0))
      zcb::fuzz::Broken("the payload length is not the wire length less the header");
    receiver->Account(bytes, available, length);
    ++datagrams;
    wire_bytes += length;
  }
  const zcb::DatagramReceiveStats& stats = receiver->stats();
  // Every datagram is counted once, as empty, malformed or by its sequence number.
  if (stats.empty + stats.malformed > datagrams) zcb::fuzz::Broken("more empty and malformed than datagrams");
  if (stats.bytes_received != wire_bytes || stats.unique_bytes > stats.bytes_received)
    zcb::fuzz::Broken("bytes_received is not the bytes that arrived, or unique_bytes exceeds it");
  if (stats.integrity.verified_bytes > stats.unique_bytes) zcb::fuzz::Broken("more bytes verified than first arrivals");
  return 0;
}
