#pragma once

// The engine behind io_uring_send and io_uring_send_zc: a TCP stream or UDP datagrams sent
// through IORING_OP_SEND (copying) or IORING_OP_SEND_ZC (zero-copy, with
// IORING_SEND_ZC_REPORT_USAGE so that each notification says whether the kernel copied).
// The stream sender is in io_uring_stream_sender.cc, the datagram sender in
// io_uring_datagram_sender.cc; what both share in io_uring_sender_internal.h.
//
// Ordering. Sends to one stream socket must reach it in order, and io_uring may run two
// in-flight SQEs in either order (one waits for socket space while the next finds
// some). So the messages of one submission (`batch` of them) are one IOSQE_IO_LINK chain
// with MSG_WAITALL, and the next submission waits until every result of the chain is
// in. A result short of its length (MSG_WAITALL makes that a failure that cancels the
// rest of the chain) is resubmitted for the rest, followed by the cancelled ones. A lone
// request (batch=1, or the last of a chain resubmitted) goes without MSG_WAITALL, as
// send() would: its short result is resubmitted for the rest the same way.
//
// The ring. By default it is set up with COOP_TASKRUN and SINGLE_ISSUER and the socket
// and the ring fd are registered, as liburing's examples/send-zerocopy.c does: each
// saves the kernel work per request and none changes what is sent. Each is an option
// (coop_taskrun, single_issuer, defer_taskrun, registered_files), on record in
// params.option_values. SINGLE_ISSUER ties the ring to the thread that creates the
// strategy: it must also be the one that sends.
//
// Buffer lending. A copying SEND reads the buffer until its result CQE (it may wait for
// socket space after the submit call returned); a SEND_ZC holds it until its
// notification CQE (IORING_CQE_F_NOTIF; the result CQE carries IORING_CQE_F_MORE when one
// follows). Each SQE gets the next sequence number (its user_data); a generated-source
// slot is rewritten only after the sequence number of its last SQE completed, and `depth`
// bounds the sends whose buffers are still lent.
//
// UDP (ctx.protocol): one SQE per datagram from a DatagramRing (stack/datagram.h), `batch`
// SQEs per io_uring_enter, not linked (a datagram is whole on its own); every slot is
// gated by the sequence number of the SQE that carried it, and unsafe_reuse rewrites the
// slots right after the submission.

#include <memory>
#include <vector>

#include "stack/io_uring_ring.h"
#include "stack/options.h"
#include "stack/result.h"
#include "stack/send_strategy.h"

namespace zcb {

struct IoUringSendConfig {
  bool zero_copy = false;        // IORING_OP_SEND_ZC instead of IORING_OP_SEND
  bool fixed_buffers = false;    // zero_copy: send from a registered buffer
  bool unsafe_reuse = false;     // zero_copy: rewrite the buffer right after each result (UDP: submission)
  unsigned depth = 256;          // ring entries; the most sends whose buffers are lent
  unsigned batch = 1;            // messages per submission (one linked chain)
  IoUringSetup setup;            // ring set-up flags (coop_taskrun, single_issuer, defer_taskrun)
  bool registered_files = true;  // the socket as fixed file 0 and the ring fd registered
};

// The options both io_uring strategies take (depth, batch, the ring's set-up flags and
// registered files).
std::vector<OptionSpec> IoUringSenderOptions();
// Reads and checks them (ranges the option parser cannot express).
Result<IoUringSendConfig> IoUringSendConfigFrom(const Options& options, const char* strategy);

// The sender for ctx.protocol: a stream (TCP) or datagram (UDP) sender.
Result<std::unique_ptr<SendStrategy>> CreateIoUringSender(const SendContext& ctx, const IoUringSendConfig& config);

}  // namespace zcb
