// The io_uring ring's wait: a completion that is already there after submitting is taken
// at once, as liburing's send benchmark takes it (no wait, no timeout to arm).

#include <gtest/gtest.h>

#include <chrono>

#include "stack/io_uring_ring.h"

namespace zcb {
namespace {

TEST(IoUringRingTest, ACompletionReadyAfterSubmittingIsTakenWithoutWaiting) {
  auto ring = IoUringRing::Create(8);
  ASSERT_TRUE(ring.ok()) << ring.error().what();
  // A NOP completes while it is submitted: with no time left to wait, it is still there.
  io_uring_sqe* sqe = io_uring_get_sqe(ring->get());
  ASSERT_NE(sqe, nullptr);
  io_uring_prep_nop(sqe);
  io_uring_sqe_set_data64(sqe, 42);
  auto cqe = ring->SubmitAndWait(std::chrono::milliseconds(0));
  ASSERT_TRUE(cqe.ok()) << cqe.error().what();
  EXPECT_EQ(io_uring_cqe_get_data64(*cqe), 42u);
  EXPECT_EQ((*cqe)->res, 0);
  io_uring_cqe_seen(ring->get(), *cqe);
  // Nothing queued and nothing to come: the wait ends at the timeout.
  auto none = ring->SubmitAndWait(std::chrono::milliseconds(20));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().errno_value(), ETIME);
}

}  // namespace
}  // namespace zcb
