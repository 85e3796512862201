#include "stack/user_buffers.h"

#include <cstring>

namespace zcb {

Result<UserBuffers> UserBuffers::Create(Payload& payload, size_t max_message, bool unsafe_reuse) {
  UserBuffers buffers;
  buffers.payload_ = &payload;
  buffers.unsafe_reuse_ = unsafe_reuse;
  if (unsafe_reuse) {
    ZCB_ASSIGN_OR_RETURN(buffers.scratch_, MappedRegion::Anonymous(RoundUp(max_message, PageSize())));
  } else if (payload.kind() == SourceKind::kGenerated) {
    buffers.slot_gates_.resize(payload.slot_count());
  } else if (payload.kind() != SourceKind::kMemory) {
    return Errorf("user buffers need a memory or generated payload source, not {}", ToString(payload.kind()));
  }
  return buffers;
}

std::optional<uint64_t> UserBuffers::PendingGate() const {
  if (slot_gates_.empty()) return std::nullopt;
  return slot_gates_[next_slot_];
}

UserBuffers::Message UserBuffers::Prepare(uint64_t offset, size_t len) {
  if (unsafe_reuse_) {
    payload_->pattern().Fill(offset, {scratch_.data(), len});
    return {scratch_.data(), len, 0};
  }
  if (!slot_gates_.empty()) {
    const size_t slot = next_slot_;
    next_slot_ = (next_slot_ + 1) % slot_gates_.size();
    slot_gates_[slot].reset();
    payload_->Generate(slot, offset, len);
    return {payload_->ring().data() + slot * payload_->slot_size(), len, slot};
  }
  return {const_cast<uint8_t*>(payload_->MemoryAt(offset)), len, 0};
}

void UserBuffers::Sent(const Message& message, uint64_t gate) {
  if (unsafe_reuse_) {
    // Break the rule on purpose: the kernel may still be reading these bytes.
    for (size_t i = 0; i < message.len; ++i) message.data[i] = static_cast<uint8_t>(~message.data[i]);
    return;
  }
  if (!slot_gates_.empty()) slot_gates_[message.slot] = gate;
}

std::span<uint8_t> UserBuffers::Region() const {
  if (unsafe_reuse_) return scratch_.span();
  if (!slot_gates_.empty()) return payload_->ring().span();
  return payload_->memory().span();
}

}  // namespace zcb
