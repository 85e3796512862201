// Fuzz target: the control protocol's messages as `zcbench serve` and its client read them
// from a peer. The bytes arrive on a socket; the framing reads message after message
// (length, JSON, type) until it refuses one or the stream ends, and each message goes
// through every reader of the protocol: the trial request (its shape, then its parameters
// through the parameter table, as the server does), the UDP sender's `sent`, and the
// result's metrics and datagram counts (as the client does).

#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "drivers/remote/framing.h"
#include "drivers/remote/messages.h"
#include "harness/remote/remote_request.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

void ReadEveryWay(const nlohmann::json& message) {
  auto request = zcb::remote::TrialRequest::FromJson(message);
  if (request.ok()) {
    (void)zcb::ReadTrialRequest(*request);
    // What the client would send again reads back the same.
    auto again = zcb::remote::TrialRequest::FromJson(request->ToJson());
    if (!again.ok() || again->parameters != request->parameters || again->flow_id != request->flow_id)
      zcb::fuzz::Broken("a trial request does not read back as written");
  }
  (void)zcb::remote::DatagramsSent::FromJson(message);
  auto metrics = message.find("metrics");
  if (metrics == message.end()) return;
  (void)zcb::remote::ValidateResultMetrics(*metrics);
  if (metrics->is_object()) {
    auto datagrams = metrics->find("datagrams");
    if (datagrams == metrics->end()) return;
    auto stats = zcb::remote::DatagramStatsFromJson(*datagrams);
    if (stats.ok() && !zcb::remote::DatagramStatsFromJson(zcb::remote::DatagramStatsToJson(*stats)).ok())
      zcb::fuzz::Broken("datagram counts do not read back as written");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The first byte picks the reader: 0 any message (the server's loop), 1 a `result`
  // awaited by the client (an `error` from the peer becomes an error quoting it).
  const auto [choice, rest] = zcb::fuzz::TakeSelector(data, size);
  zcb::UniqueFd fd = zcb::fuzz::SocketHolding(rest);
  // A message is at least 5 bytes: the stream holds no more than size / 5 of them.
  for (;;) {
    auto message =
        choice % 2 == 0 ? zcb::remote::ReadMessage(fd.get()) : zcb::remote::ReadMessageOfType(fd.get(), "result");
    if (!message.ok()) break;
    ReadEveryWay(*message);
  }
  return 0;
}
