#pragma once

// The server's side of a request/response exchange (workloads/exchange.h), shared by the
// workloads that answer requests (request_response, file_serving): reads the requests on
// the trial's connection until the client's EOF, checks that each carries its sequence
// number, and calls the workload's `respond` for each one read whole, in order. Ends with
// the strategy's Finish().

#include <functional>

#include "stack/result.h"
#include "workloads/exchange.h"
#include "workloads/workload.h"

namespace zcb {

// Answers response `sequence` (its length is x.ResponseLength(sequence), never 0 here).
using Respond = std::function<Status(uint64_t sequence, uint64_t length)>;

// `what` names the server in errors ("request_response server").
Status ServeRequests(const WorkloadSend& send, const Exchange& x, const char* what, const Respond& respond,
                     TrialClock::time_point* sends_done);

}  // namespace zcb
