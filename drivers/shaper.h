#pragma once

// A rate limit on one device's egress: a tbf qdisc, or an htb class with a bfifo leaf,
// configured from named Ethernet presets or explicit rate/burst/limit options. The rate
// counts Ethernet framing on the wire (preamble, FCS, inter-frame gap: `overhead`), so
// that a 100baseTX preset delivers what a real 100 Mbit/s link would: about 94 Mbit/s of
// TCP payload at MTU 1500.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "drivers/net_namespace.h"
#include "stack/options.h"
#include "stack/result.h"

namespace zcb {

struct ShaperPreset {
  std::string name;
  uint64_t rate_bps;
  std::string description;
};
const std::vector<ShaperPreset>& ShaperPresets();

struct ShaperSpec {
  std::string preset;         // the preset the rate came from, or "custom"
  std::string qdisc = "tbf";  // tbf | htb
  uint64_t rate_bps = 0;
  uint64_t burst_bytes = 0;
  uint64_t limit_bytes = 0;  // queue length
  int overhead_bytes = 24;   // per packet on the wire beyond the frame tc sees

  nlohmann::json ToJson() const;
};

// The shaping options (preset, rate, burst, limit, qdisc, overhead). `default_preset` is
// the preset used when neither preset nor rate is given; `allow_none` adds the preset
// "none" (no shaper).
std::vector<OptionSpec> ShaperOptions(const std::string& default_preset, bool allow_none);

// The shaper the options ask for (nullopt for preset=none without a rate). Burst and
// limit not given are derived from the rate and the MTU.
Result<std::optional<ShaperSpec>> ShaperFromOptions(const Options& options, int mtu);

// Installs the shaper as the root qdisc of `dev` in the namespace open at `netns_fd`
// (-1: the calling thread's).
Status InstallShaper(int netns_fd, const std::string& dev, const ShaperSpec& spec);
inline Status InstallShaper(const NetNamespace& ns, const std::string& dev, const ShaperSpec& spec) {
  return InstallShaper(ns.fd(), dev, spec);
}

}  // namespace zcb
