// iperf3 as a peer: its default sender, and -Z. iperf3's client writes from a MAP_SHARED
// mapping of a temporary file (its default), or, with -Z, sendfile()s that file: -Z is
// sendfile, not MSG_ZEROCOPY. Its JSON (--json) holds the receiver's count of the test
// (end.sum_received), which is the goodput zcbench records; the JSON does not say whether
// -Z was given, so the record keeps the command line.

#include <cmath>

#include <fmt/format.h>

#include "harness/peers/peer_registry.h"

namespace zcb {
namespace {

// iperf3 refuses a larger -l (MAX_BLOCKSIZE, 1 MiB, in iperf 3.x).
constexpr uint64_t kMaxBlockSize = 1 << 20;

class Iperf3Peer final : public PeerTool {
 public:
  explicit Iperf3Peer(bool zerocopy) : zerocopy_(zerocopy) {}

  std::string name() const override { return zerocopy_ ? "iperf3_zerocopy" : "iperf3"; }
  std::string label() const override { return zerocopy_ ? "iperf3 -Z (peer)" : "iperf3 (peer)"; }
  std::string summary() const override {
    return zerocopy_ ? "iperf3 -Z: TCP bulk, sendfile() of a temporary file (iperf3's 'zero-copy')"
                     : "iperf3: TCP bulk, write() from a MAP_SHARED mapping of a temporary file";
  }
  std::vector<std::string> programs() const override { return {"iperf3"}; }
  std::string package() const override { return "iperf3"; }
  PeerCapabilities capabilities() const override {
    PeerCapabilities caps;
    // -Z is TCP only (iperf3 ignores it for UDP); the UDP client is left to sockperf.
    caps.protocols = {Protocol::kTcp};
    caps.workloads = {"bulk"};
    caps.max_message_size = kMaxBlockSize;
    caps.source = zerocopy_ ? SourceKind::kFile : SourceKind::kMemory;
    caps.sends_with =
        zerocopy_ ? "sendfile() of a temporary file (-Z)" : "write() from a MAP_SHARED mapping of a temporary file";
    return caps;
  }

  PeerCommands Commands(const PeerInvocation& in) const override {
    // -t takes whole seconds: the duration is rounded up (at least 1 s), and the record
    // has the seconds iperf3 measured over.
    const int seconds = std::max(1, static_cast<int>(std::ceil(in.duration_s)));
    PeerCommands c;
    // -1: serve one test and exit.
    c.server = {"iperf3", "-s", "-1", "-p", std::to_string(in.port)};
    c.client = {"iperf3",
                "-c",
                in.address,
                "-p",
                std::to_string(in.port),
                "-t",
                std::to_string(seconds),
                "-l",
                std::to_string(in.message_size),
                "--json"};
    if (zerocopy_) c.client.push_back("-Z");
    c.client_run_s = seconds;
    return c;
  }

  Result<PeerFigures> Parse(const std::string& output, const PeerInvocation&) const override {
    const nlohmann::json doc = nlohmann::json::parse(output, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) return Errorf("iperf3 --json: the output is not a JSON object");
    if (doc.contains("error") && doc["error"].is_string()) {
      return Errorf("iperf3 reported an error: {}", doc["error"].get<std::string>());
    }
    const nlohmann::json* received = Find(doc, {"end", "sum_received"});
    if (received == nullptr) return Errorf("iperf3 --json: end.sum_received is missing");
    for (const char* key : {"bytes", "seconds", "bits_per_second"}) {
      if (!(*received).contains(key) || !(*received)[key].is_number()) {
        return Errorf("iperf3 --json: end.sum_received.{} is missing or not a number", key);
      }
    }
    PeerFigures f;
    f.bytes = (*received)["bytes"].get<uint64_t>();
    f.elapsed_s = (*received)["seconds"].get<double>();
    f.goodput_bps = (*received)["bits_per_second"].get<double>();
    f.goodput_source = "iperf3 --json end.sum_received.bits_per_second: the receiver's count over its own interval";
    f.parsed["end.sum_received"] = {{"bytes", f.bytes}, {"seconds", f.elapsed_s}, {"bits_per_second", f.goodput_bps}};
    if (const nlohmann::json* sent = Find(doc, {"end", "sum_sent"}); sent != nullptr && sent->contains("bytes")) {
      f.parsed["end.sum_sent"] = {{"bytes", (*sent)["bytes"]}, {"seconds", sent->value("seconds", 0.0)}};
    }
    if (const nlohmann::json* cpu = Find(doc, {"end", "cpu_utilization_percent"})) {
      f.parsed["end.cpu_utilization_percent"] = *cpu;
    }
    if (const nlohmann::json* version = Find(doc, {"start", "version"}); version != nullptr && version->is_string()) {
      f.version = version->get<std::string>();
    }
    return f;
  }

 private:
  static const nlohmann::json* Find(const nlohmann::json& doc, std::initializer_list<const char*> keys) {
    const nlohmann::json* at = &doc;
    for (const char* key : keys) {
      if (!at->is_object() || !at->contains(key)) return nullptr;
      at = &(*at)[key];
    }
    return at;
  }

  bool zerocopy_;
};

}  // namespace

std::unique_ptr<PeerTool> MakeIperf3Peer(bool zerocopy) { return std::make_unique<Iperf3Peer>(zerocopy); }

}  // namespace zcb
