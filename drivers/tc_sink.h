#pragma once

// The counting program of a sink (drivers/sink.bpf.c), attached as a tc classifier in
// direct-action mode (cls_bpf under a clsact qdisc, libbpf's bpf_tc_* calls) to one
// hook of one device inside a network namespace. Its verdict is set at load: drop
// (TC_ACT_SHOT: the skb is freed at the hook) or pass (TC_ACT_OK: the device frees it).
//
// The filter and its clsact qdisc belong to the device, and the device to its namespace:
// they go when the namespace goes. Destroying a TcSink closes the program's descriptors.

#include <memory>
#include <string>

#include "drivers/net_namespace.h"
#include "drivers/network_path.h"
#include "stack/result.h"

struct sink_bpf;  // the skeleton (drivers/sink.skel.h, a build output)

namespace zcb {

class TcSink {
 public:
  enum class Hook { kIngress, kEgress };
  enum class Verdict { kDrop, kPass };

  static Result<std::unique_ptr<TcSink>> Attach(const NetNamespace& ns, const std::string& device, Hook hook,
                                                Verdict verdict);
  ~TcSink();
  TcSink(const TcSink&) = delete;
  TcSink& operator=(const TcSink&) = delete;

  // The counts since the program was attached, summed over the CPUs; `counted_at` says
  // where ("tc ingress of DEV (cls_bpf, BPF per-CPU map)"), `sink_device` is left empty.
  Result<SinkCounts> Read() const;

 private:
  TcSink(sink_bpf* skel, std::string where) : skel_(skel), where_(std::move(where)) {}

  sink_bpf* skel_;
  std::string where_;
};

}  // namespace zcb
