#pragma once

// UserBuffers: the user memory that strategies sending from user space (write, writev,
// vmsplice, msg_zerocopy, io_uring_*) send from, and the rule that guards it.
//
//   memory source     the payload's static buffer; never written, so nothing to gate.
//   generated source  the payload's ring of slots: each message is written into the next
//                     slot, and a slot is rewritten only after the strategy says the
//                     kernel is done with it (Sent() records a gate value; the strategy
//                     waits until its completions pass it before Prepare() reuses the slot).
//   unsafe_reuse      one private buffer, rewritten on purpose while the kernel may still
//                     read it: scribbled right after the call returns, refilled with the
//                     next message before the next call. The receiver's integrity check
//                     shows what a zero-copy send then really delivered.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "stack/mapped_region.h"
#include "stack/payload.h"
#include "stack/result.h"

namespace zcb {

class UserBuffers {
 public:
  struct Message {
    uint8_t* data = nullptr;
    size_t len = 0;
    size_t slot = 0;
  };

  static Result<UserBuffers> Create(Payload& payload, size_t max_message, bool unsafe_reuse);

  // Whether Prepare() will write into memory the kernel may still hold; if so, the gate
  // the strategy must wait for first (see Sent()).
  std::optional<uint64_t> PendingGate() const;

  // The stream bytes [offset, offset + len) in user memory, ready to send.
  Message Prepare(uint64_t offset, size_t len);

  // The message was handed to the kernel; `gate` is the strategy's completion value after
  // which the memory may be rewritten (a send id, a byte count).
  void Sent(const Message& message, uint64_t gate);

  // The one region every message lies in: for io_uring buffer registration.
  std::span<uint8_t> Region() const;

  bool unsafe_reuse() const { return unsafe_reuse_; }

 private:
  Payload* payload_ = nullptr;
  bool unsafe_reuse_ = false;
  MappedRegion scratch_;                             // unsafe_reuse: the one reused buffer
  size_t next_slot_ = 0;                             // generated: the slot Prepare() fills next
  std::vector<std::optional<uint64_t>> slot_gates_;  // generated: in flight until gate
};

}  // namespace zcb
