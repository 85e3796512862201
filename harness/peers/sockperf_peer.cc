// sockperf as a peer: `sockperf tp` (throughput: the client sends as fast as it can) and
// `sockperf ping-pong` (a request, then its response, one at a time), each against
// `sockperf sr`. Its text output is read: tp reports only the client's send count (no
// receiver figure); ping-pong, run with --full-rtt, reports round-trip percentiles over
// its valid duration (after its own warm-up), the same quantity as request_response's
// latency (the client's wait from a request's send to its response's arrival).

#include <cmath>
#include <regex>

#include <fmt/format.h>

#include "harness/peers/peer_registry.h"

namespace zcb {
namespace {

// sockperf refuses larger messages (MAX_PAYLOAD_SIZE, the largest UDP datagram).
constexpr uint64_t kMaxPayload = 65507;

// sockperf colours some lines (ANSI escapes) even when writing to a pipe.
std::string WithoutEscapes(const std::string& text) {
  static const std::regex escape("\x1b\\[[0-9;]*m");
  return std::regex_replace(text, escape, "");
}

std::optional<std::smatch> Search(const std::string& text, const std::regex& pattern) {
  std::smatch match;
  if (!std::regex_search(text, match, pattern)) return std::nullopt;
  return match;
}

class SockperfPeer final : public PeerTool {
 public:
  explicit SockperfPeer(bool pingpong) : pingpong_(pingpong) {}

  std::string name() const override { return pingpong_ ? "sockperf_pingpong" : "sockperf"; }
  std::string label() const override { return pingpong_ ? "sockperf ping-pong (peer)" : "sockperf tp (peer)"; }
  std::string summary() const override {
    return pingpong_ ? "sockperf ping-pong --full-rtt: request/response round trips, one at a time"
                     : "sockperf tp: the client sends messages as fast as it can (its send count is the figure)";
  }
  std::vector<std::string> programs() const override { return {"sockperf"}; }
  std::string package() const override { return "sockperf"; }
  PeerCapabilities capabilities() const override {
    PeerCapabilities caps;
    caps.protocols = {Protocol::kTcp, Protocol::kUdp};
    caps.workloads = {pingpong_ ? "request_response" : "bulk"};
    caps.max_message_size = kMaxPayload;
    caps.source = SourceKind::kMemory;
    caps.sends_with = "send()/sendto() of one message from a heap buffer";
    return caps;
  }

  PeerCommands Commands(const PeerInvocation& in) const override {
    const int seconds = std::max(1, static_cast<int>(std::ceil(in.duration_s)));
    PeerCommands c;
    c.server = {"sockperf", "server", "-i", in.address, "-p", std::to_string(in.port)};
    c.client = {"sockperf", pingpong_ ? "ping-pong" : "throughput",
                "-i",       in.address,
                "-p",       std::to_string(in.port),
                "-t",       std::to_string(seconds),
                "-m",       std::to_string(in.message_size)};
    if (in.protocol == Protocol::kTcp) {
      c.server.push_back("--tcp");
      c.client.push_back("--tcp");
    }
    if (pingpong_) c.client.push_back("--full-rtt");
    c.client_run_s = seconds;
    return c;
  }

  Result<PeerFigures> Parse(const std::string& raw, const PeerInvocation& in) const override {
    const std::string text = WithoutEscapes(raw);
    PeerFigures f;
    static const std::regex version(R"(== version #(\S+) ==)");
    if (auto m = Search(text, version)) f.version = (*m)[1];
    return pingpong_ ? ParsePingPong(text, in, f) : ParseThroughput(text, in, f);
  }

 private:
  static Result<PeerFigures> ParseThroughput(const std::string& text, const PeerInvocation& in, PeerFigures f) {
    static const std::regex total(R"(Total of (\d+) messages sent in ([0-9.]+) sec)");
    auto m = Search(text, total);
    if (!m) return Errorf("sockperf throughput: no line 'Total of N messages sent in T sec' in its output");
    const uint64_t messages = std::stoull((*m)[1]);
    f.elapsed_s = std::stod((*m)[2]);
    if (!(f.elapsed_s > 0)) return Errorf("sockperf throughput: it reports a run of {} s", f.elapsed_s);
    f.bytes = messages * in.message_size;
    f.goodput_bps = static_cast<double>(f.bytes) * 8 / f.elapsed_s;
    f.goodput_source =
        "sockperf throughput's 'Total of N messages sent in T sec' times the message size: the client's send count "
        "(sockperf reports no receiver figure; over TCP what sat in the socket buffers at the end is counted)";
    f.parsed = {{"messages_sent", messages}, {"run_s", f.elapsed_s}};
    return f;
  }

  static Result<PeerFigures> ParsePingPong(const std::string& text, const PeerInvocation& in, PeerFigures f) {
    static const std::regex valid(
        R"(\[Valid Duration\] RunTime=([0-9.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+))");
    auto m = Search(text, valid);
    if (!m) return Errorf("sockperf ping-pong: no '[Valid Duration] RunTime=...' line in its output");
    f.elapsed_s = std::stod((*m)[1]);
    const uint64_t received = std::stoull((*m)[3]);
    if (!(f.elapsed_s > 0)) return Errorf("sockperf ping-pong: it reports a valid duration of {} s", f.elapsed_s);
    f.transactions = received;
    f.transactions_per_s = static_cast<double>(received) / f.elapsed_s;
    f.bytes = received * in.message_size;
    f.goodput_bps = static_cast<double>(f.bytes) * 8 / f.elapsed_s;
    f.goodput_source =
        "sockperf ping-pong's [Valid Duration] ReceivedMessages times the message size over its RunTime: the "
        "responses the client received (its warm-up left out)";
    f.parsed = {{"valid_run_s", f.elapsed_s}, {"sent_messages", std::stoull((*m)[2])}, {"received_messages", received}};

    PeerLatency l;
    static const std::regex mean(R"(avg-rtt=([0-9.]+))");
    auto avg = Search(text, mean);
    if (!avg) return Errorf("sockperf ping-pong: no 'avg-rtt=' in its output (was it run with --full-rtt?)");
    l.mean = std::stod((*avg)[1]);
    struct Quantile {
      const char* pattern;
      double* into;
    };
    const Quantile quantiles[] = {
        {R"(percentile 50\.000 =\s+([0-9.]+))", &l.p50}, {R"(percentile 90\.000 =\s+([0-9.]+))", &l.p90},
        {R"(percentile 99\.000 =\s+([0-9.]+))", &l.p99}, {R"(percentile 99\.900 =\s+([0-9.]+))", &l.p999},
        {R"(<MIN> observation =\s+([0-9.]+))", &l.min},  {R"(<MAX> observation =\s+([0-9.]+))", &l.max}};
    for (const Quantile& q : quantiles) {
      auto found = Search(text, std::regex(q.pattern));
      if (!found) return Errorf("sockperf ping-pong: no line matching '{}' in its output", q.pattern);
      *q.into = std::stod((*found)[1]);
    }
    static const std::regex observations(R"(Total (\d+) observations)");
    if (auto o = Search(text, observations)) l.observations = std::stoull((*o)[1]);
    f.latency_us = l;
    f.latency_source =
        "sockperf ping-pong --full-rtt: the round trip of each message (its send to its reply's arrival), in "
        "microseconds, over the valid duration; the same quantity as request_response's latency (without "
        "--full-rtt sockperf reports half of it)";
    f.parsed["latency_us"] = {{"p50", l.p50},   {"p90", l.p90}, {"p99", l.p99}, {"p999", l.p999},
                              {"mean", l.mean}, {"min", l.min}, {"max", l.max}, {"observations", l.observations}};
    return f;
  }

  bool pingpong_;
};

}  // namespace

std::unique_ptr<PeerTool> MakeSockperfPeer(bool pingpong) { return std::make_unique<SockperfPeer>(pingpong); }

}  // namespace zcb
