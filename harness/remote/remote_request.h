#pragma once

// A remote receiving end's trial request, from the parameter table. The client sends the
// parameters the table marks `receiving_end` as {key: canonical text} (a key-value
// parameter as one field per option given, "workload_options.NAME"); the server reads
// them back through the same parsers and checks them with the receiving end's rules of
// the compatibility check (CheckReceivingEnd). The workload and its options travel so:
// the server makes the workload from its own registry to learn what its receiver is to
// check, and refuses a workload it does not know (a server older than the client). The
// framing and the generic request are the drivers' (drivers/remote/framing.h,
// drivers/remote/messages.h), which know nothing of the table.

#include <cstdint>

#include "drivers/remote/messages.h"
#include "harness/trial/trial_resolve.h"
#include "stack/result.h"

namespace zcb {

// The request for the receiving end of `spec` (the parameters that apply to its protocol);
// `flow_id` is sent for UDP only.
remote::TrialRequest MakeTrialRequest(const TrialSpec& spec, uint32_t flow_id);

// The receiving end's trial of a request: every key known to the table as a receiving-end
// parameter, every value its parser takes, every such parameter of the protocol given,
// the workload one this build has and every option of it one it declares, within what a
// server takes, and no receiving-end rule broken. Errors are usage errors naming the field.
Result<TrialSpec> ReadTrialRequest(const remote::TrialRequest& request);

}  // namespace zcb
