#include "harness/trial/trial_record.h"

#include <chrono>
#include <set>
#include <stdexcept>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "drivers/network_path.h"
#include "harness/plan/parameters.h"
#include "harness/trial/sibling_threads.h"
#include "harness/trial/trial.h"
#include "harness/trial/trial_sockets.h"

namespace zcb {
namespace {

template <typename T>
nlohmann::json OrNull(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json StringMap(const std::map<std::string, std::string>& map) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : map) out[k] = v;
  return out;
}

// A bad field: FromJson turns it into an Error naming the field.
struct BadField : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Typed reads of one JSON object, each naming `where.key` when the member is missing
// or of another type.
class Fields {
 public:
  Fields(const nlohmann::json& object, std::string where) : object_(object), where_(std::move(where)) {
    if (!object_.is_object()) throw BadField(fmt::format("{}: expected an object", where_));
  }

  bool Has(const char* key) const { return object_.contains(key); }
  // The keys of the object not in `known` (the probes' members of metrics).
  nlohmann::json Others(const std::set<std::string>& known) const {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : object_.items()) {
      if (!known.count(k)) out[k] = v;
    }
    return out;
  }

  const nlohmann::json& Any(const char* key) const {
    auto it = object_.find(key);
    if (it == object_.end()) throw BadField(fmt::format("{}.{}: missing", where_, key));
    return *it;
  }
  Fields Object(const char* key) const { return Fields(Any(key), Name(key)); }
  bool Null(const char* key) const { return Any(key).is_null(); }

  uint64_t U64(const char* key) const {
    const auto& v = Any(key);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
      Bad(key, "a non-negative integer");
    return v.get<uint64_t>();
  }
  int64_t I64(const char* key) const {
    const auto& v = Any(key);
    if (!v.is_number_integer()) Bad(key, "an integer");
    return v.get<int64_t>();
  }
  double Number(const char* key) const {
    const auto& v = Any(key);
    if (!v.is_number()) Bad(key, "a number");
    return v.get<double>();
  }
  bool Bool(const char* key) const {
    const auto& v = Any(key);
    if (!v.is_boolean()) Bad(key, "true or false");
    return v.get<bool>();
  }
  std::string String(const char* key) const {
    const auto& v = Any(key);
    if (!v.is_string()) Bad(key, "a string");
    return v.get<std::string>();
  }
  std::map<std::string, std::string> StringMap(const char* key) const {
    std::map<std::string, std::string> out;
    const Fields map = Object(key);
    for (const auto& item : map.object_.items()) out[item.key()] = map.String(item.key().c_str());
    return out;
  }
  template <typename T>
  std::optional<T> OrNull(const char* key, T (Fields::*read)(const char*) const) const {
    if (Null(key)) return std::nullopt;
    return (this->*read)(key);
  }
  // A member that may be absent, null or a value.
  template <typename T>
  std::optional<std::optional<T>> Optional(const char* key, T (Fields::*read)(const char*) const) const {
    if (!Has(key)) return std::nullopt;
    return OrNull(key, read);
  }
  template <typename E>
  E Enum(const char* key, std::optional<E> (*parse)(std::string_view)) const {
    const std::string text = String(key);
    const auto value = parse(text);
    if (!value) Bad(key, "a known name", text);
    return *value;
  }

  std::string Name(const char* key) const { return fmt::format("{}.{}", where_, key); }

 private:
  [[noreturn]] void Bad(const char* key, const char* expected, const std::string& got = "") const {
    throw BadField(fmt::format("{}: expected {}{}", Name(key), expected, got.empty() ? "" : ", got '" + got + "'"));
  }

  const nlohmann::json& object_;
  std::string where_;
};

std::optional<TrialStatus> ParseStatus(std::string_view s) {
  for (TrialStatus status : {TrialStatus::kOk, TrialStatus::kError, TrialStatus::kUnsupported}) {
    if (ToString(status) == s) return status;
  }
  return std::nullopt;
}

IntegrityMetrics ReadIntegrity(const Fields& f) {
  IntegrityMetrics m;
  m.mode = f.String("mode");
  m.verified_bytes = f.U64("verified_bytes");
  m.mismatches = f.U64("mismatches");
  m.first_mismatch_offset = f.OrNull("first_mismatch_offset", &Fields::U64);
  m.first_mismatch_sequence = f.Optional("first_mismatch_sequence", &Fields::U64);
  return m;
}

nlohmann::json UdpJson(const UdpMetrics& u) {
  nlohmann::json out = {{"datagrams_sent", u.datagrams_sent},
                        {"datagrams_received", u.datagrams_received},
                        {"lost", u.lost},
                        {"duplicated", u.duplicated},
                        {"reordered", u.reordered},
                        {"stale", u.stale},
                        {"malformed", u.malformed},
                        {"empty", u.empty},
                        {"corrupt", u.corrupt},
                        {"loss_ratio", u.loss_ratio},
                        {"sender_rate_bps", u.sender_rate_bps},
                        {"receiver_rate_bps", u.receiver_rate_bps},
                        {"sender_elapsed_s", u.sender_elapsed_s},
                        {"mean_datagram_bytes", u.mean_datagram_bytes},
                        {"bytes_arrived", u.bytes_arrived},
                        {"goodput_counts", u.goodput_counts},
                        {"flow_id", u.flow_id},
                        {"gro", u.gro},
                        {"coalesced_buffers", u.coalesced_buffers},
                        {"receive_queue_drops", OrNull(u.receive_queue_drops)},
                        {"receive_buffer_bytes", u.receive_buffer_bytes},
                        {"receive_buffer_forced", u.receive_buffer_forced},
                        {"end", u.end},
                        {"busy_ns_per_kib_sent", OrNull(u.busy_ns_per_kib_sent)},
                        {"sender_thread_ns_per_kib_sent", OrNull(u.sender_thread_ns_per_kib_sent)}};
  if (u.sink) {
    out["sink"] = u.sink->CountsJson();
    out["sink"]["sink_device"] = u.sink->sink_device;
    out["sink"]["counted_at"] = u.sink->counted_at;
  }
  return out;
}

UdpMetrics ReadUdp(const Fields& f) {
  UdpMetrics u;
  u.datagrams_sent = f.U64("datagrams_sent");
  u.datagrams_received = f.U64("datagrams_received");
  u.lost = f.U64("lost");
  u.duplicated = f.U64("duplicated");
  u.reordered = f.U64("reordered");
  u.stale = f.U64("stale");
  u.malformed = f.U64("malformed");
  u.empty = f.U64("empty");
  u.corrupt = f.U64("corrupt");
  u.loss_ratio = f.Number("loss_ratio");
  u.sender_rate_bps = f.Number("sender_rate_bps");
  u.receiver_rate_bps = f.Number("receiver_rate_bps");
  u.sender_elapsed_s = f.Number("sender_elapsed_s");
  u.mean_datagram_bytes = f.Number("mean_datagram_bytes");
  u.bytes_arrived = f.U64("bytes_arrived");
  u.goodput_counts = f.String("goodput_counts");
  u.flow_id = f.U64("flow_id");
  u.gro = f.Bool("gro");
  u.coalesced_buffers = f.U64("coalesced_buffers");
  u.receive_queue_drops = f.OrNull("receive_queue_drops", &Fields::U64);
  u.receive_buffer_bytes = f.U64("receive_buffer_bytes");
  u.receive_buffer_forced = f.Bool("receive_buffer_forced");
  u.end = f.String("end");
  u.busy_ns_per_kib_sent = f.OrNull("busy_ns_per_kib_sent", &Fields::Number);
  u.sender_thread_ns_per_kib_sent = f.OrNull("sender_thread_ns_per_kib_sent", &Fields::Number);
  if (f.Has("sink")) {
    const Fields k = f.Object("sink");
    u.sink = SinkCounts{k.String("sink_device"),    k.String("counted_at"), k.U64("udp_skbs"),   k.U64("udp_datagrams"),
                        k.U64("udp_payload_bytes"), k.U64("udp_fragments"), k.U64("other_skbs"), k.U64("other_bytes")};
  }
  return u;
}

nlohmann::json RequestResponseJson(const RequestResponseMetrics& r) {
  nlohmann::json out = {
      {"transactions", r.transactions},     {"transactions_per_s", r.transactions_per_s},
      {"latency_source", r.latency_source}, {"cpu_ns_per_transaction", OrNull(r.cpu_ns_per_transaction)},
      {"completion_latency", nullptr},      {"completion_latency_reason", r.completion_latency_reason}};
  if (r.latency_us) {
    const LatencySummary& l = *r.latency_us;
    out["latency_us"] = {{"p50", l.p50},   {"p90", l.p90}, {"p99", l.p99}, {"p999", l.p999},
                         {"mean", l.mean}, {"min", l.min}, {"max", l.max}};
  } else {
    out["latency_us"] = nullptr;
    out["latency_us_reason"] = r.latency_us_reason.value_or("");
  }
  nlohmann::json buckets = nlohmann::json::array();
  for (const auto& [highest, count] : r.histogram_ns) buckets.push_back({highest, count});
  out["histogram"] = {{"unit", "ns"}, {"relative_error", r.histogram_relative_error}, {"buckets", std::move(buckets)}};
  if (r.cpu_ns_per_transaction_reason) out["cpu_ns_per_transaction_reason"] = *r.cpu_ns_per_transaction_reason;
  if (r.corrupted_responses) out["corrupted_responses"] = *r.corrupted_responses;
  return out;
}

RequestResponseMetrics ReadRequestResponse(const Fields& f) {
  RequestResponseMetrics r;
  r.transactions = f.U64("transactions");
  r.transactions_per_s = f.Number("transactions_per_s");
  r.latency_source = f.String("latency_source");
  r.cpu_ns_per_transaction = f.OrNull("cpu_ns_per_transaction", &Fields::Number);
  if (f.Has("cpu_ns_per_transaction_reason"))
    r.cpu_ns_per_transaction_reason = f.String("cpu_ns_per_transaction_reason");
  r.completion_latency_reason = f.String("completion_latency_reason");
  if (f.Has("corrupted_responses")) r.corrupted_responses = f.U64("corrupted_responses");
  if (f.Null("latency_us")) {
    r.latency_us_reason = f.String("latency_us_reason");
  } else {
    const Fields l = f.Object("latency_us");
    r.latency_us = LatencySummary{l.Number("p50"),  l.Number("p90"), l.Number("p99"), l.Number("p999"),
                                  l.Number("mean"), l.Number("min"), l.Number("max")};
  }
  const Fields h = f.Object("histogram");
  r.histogram_relative_error = h.Number("relative_error");
  const nlohmann::json& buckets = h.Any("buckets");
  if (!buckets.is_array()) throw BadField(h.Name("buckets") + ": expected an array of [highest_ns, count]");
  for (const auto& bucket : buckets) {
    if (!bucket.is_array() || bucket.size() != 2 || !bucket[0].is_number_unsigned() ||
        !bucket[1].is_number_unsigned()) {
      throw BadField(h.Name("buckets") + ": expected [highest_ns, count] pairs of non-negative integers");
    }
    r.histogram_ns.emplace_back(bucket[0].get<uint64_t>(), bucket[1].get<uint64_t>());
  }
  return r;
}

nlohmann::json StreamJson(const StreamMetrics& m) {
  nlohmann::json out = {{"index", m.index},
                        {"sender_cpu", OrNull(m.sender_cpu)},
                        {"receiver_cpu", OrNull(m.receiver_cpu)},
                        {"sender_tid", m.sender_tid},
                        {"receiver_tid", OrNull(m.receiver_tid)},
                        {"bytes_sent", m.bytes_sent},
                        {"send_calls", m.send_calls},
                        {"sender_thread_s", m.sender_thread_s},
                        {"sender_rate_bps", m.sender_rate_bps},
                        {"bytes_received", OrNull(m.bytes_received)},
                        {"goodput_bps", OrNull(m.goodput_bps)},
                        {"elapsed_s", OrNull(m.elapsed_s)},
                        {"recv_calls", OrNull(m.recv_calls)},
                        {"receiver_thread_s", OrNull(m.receiver_thread_s)},
                        {"integrity", m.integrity ? m.integrity->ToJson() : nlohmann::json(nullptr)},
                        {"error", OrNull(m.error)}};
  if (m.receiver_reason) out["receiver_reason"] = *m.receiver_reason;
  if (m.datagrams_sent) out["datagrams_sent"] = *m.datagrams_sent;
  if (m.datagrams_received) out["datagrams_received"] = *m.datagrams_received;
  if (m.flow_id) out["flow_id"] = *m.flow_id;
  if (m.transactions) out["transactions"] = *m.transactions;
  return out;
}

StreamMetrics ReadStream(const Fields& f) {
  StreamMetrics m;
  m.index = f.I64("index");
  m.sender_cpu = f.OrNull("sender_cpu", &Fields::I64);
  m.receiver_cpu = f.OrNull("receiver_cpu", &Fields::I64);
  m.sender_tid = f.I64("sender_tid");
  m.receiver_tid = f.OrNull("receiver_tid", &Fields::I64);
  m.bytes_sent = f.U64("bytes_sent");
  m.send_calls = f.U64("send_calls");
  m.sender_thread_s = f.Number("sender_thread_s");
  m.sender_rate_bps = f.Number("sender_rate_bps");
  m.bytes_received = f.OrNull("bytes_received", &Fields::U64);
  m.goodput_bps = f.OrNull("goodput_bps", &Fields::Number);
  m.elapsed_s = f.OrNull("elapsed_s", &Fields::Number);
  m.recv_calls = f.OrNull("recv_calls", &Fields::U64);
  m.receiver_thread_s = f.OrNull("receiver_thread_s", &Fields::Number);
  if (!f.Null("integrity")) m.integrity = ReadIntegrity(f.Object("integrity"));
  m.error = f.OrNull("error", &Fields::String);
  if (f.Has("receiver_reason")) m.receiver_reason = f.String("receiver_reason");
  if (f.Has("datagrams_sent")) m.datagrams_sent = f.U64("datagrams_sent");
  if (f.Has("datagrams_received")) m.datagrams_received = f.U64("datagrams_received");
  if (f.Has("flow_id")) m.flow_id = f.U64("flow_id");
  if (f.Has("transactions")) m.transactions = f.U64("transactions");
  return m;
}

nlohmann::json StreamsJson(const StreamsMetrics& m) {
  nlohmann::json per_stream = nlohmann::json::array();
  for (const StreamMetrics& stream : m.per_stream) per_stream.push_back(StreamJson(stream));
  nlohmann::json out = {{"count", m.per_stream.size()},
                        {"per_stream", std::move(per_stream)},
                        {"goodput_min_bps", OrNull(m.goodput_min_bps)},
                        {"goodput_max_bps", OrNull(m.goodput_max_bps)},
                        {"goodput_mean_bps", OrNull(m.goodput_mean_bps)},
                        {"fairness_jain", OrNull(m.fairness_jain)},
                        {"slowest_stream", OrNull(m.slowest_stream)},
                        {"source", m.source}};
  if (m.spread_reason) out["spread_reason"] = *m.spread_reason;
  return out;
}

StreamsMetrics ReadStreams(const Fields& f) {
  StreamsMetrics m;
  const nlohmann::json& per_stream = f.Any("per_stream");
  if (!per_stream.is_array()) throw BadField(f.Name("per_stream") + ": expected an array of streams");
  for (size_t i = 0; i < per_stream.size(); ++i) {
    m.per_stream.push_back(ReadStream(Fields(per_stream[i], fmt::format("{}[{}]", f.Name("per_stream"), i))));
  }
  if (f.U64("count") != m.per_stream.size()) {
    throw BadField(
        fmt::format("{}: {} streams, but per_stream has {}", f.Name("count"), f.U64("count"), m.per_stream.size()));
  }
  m.goodput_min_bps = f.OrNull("goodput_min_bps", &Fields::Number);
  m.goodput_max_bps = f.OrNull("goodput_max_bps", &Fields::Number);
  m.goodput_mean_bps = f.OrNull("goodput_mean_bps", &Fields::Number);
  m.fairness_jain = f.OrNull("fairness_jain", &Fields::Number);
  m.slowest_stream = f.OrNull("slowest_stream", &Fields::I64);
  if (f.Has("spread_reason")) m.spread_reason = f.String("spread_reason");
  m.source = f.String("source");
  return m;
}

// The members of metrics this file types; the rest belong to the probes.
const std::set<std::string> kTypedMetrics = {
    "bytes_sent",       "bytes_received",   "elapsed_s", "goodput_bps", "send_calls", "recv_calls", "integrity",
    "integrity_reason", "receive_zerocopy", "cpu",       "payload",     "zerocopy",   "reuse_gate", "udp",
    "remote",           "request_response", "streams"};

TrialMetrics ReadMetrics(const Fields& f) {
  TrialMetrics m;
  m.bytes_sent = f.U64("bytes_sent");
  m.bytes_received = f.OrNull("bytes_received", &Fields::U64);
  m.elapsed_s = f.Number("elapsed_s");
  m.goodput_bps = f.Number("goodput_bps");
  m.send_calls = f.U64("send_calls");
  m.recv_calls = f.OrNull("recv_calls", &Fields::U64);
  if (f.Any("integrity") == std::string(kIntegrityNotVerified)) {
    m.integrity_not_verified = true;
  } else if (!f.Null("integrity")) {
    m.integrity = ReadIntegrity(f.Object("integrity"));
  }
  if (f.Has("integrity_reason")) m.integrity_reason = f.String("integrity_reason");
  if (f.Has("receive_zerocopy")) {
    const Fields z = f.Object("receive_zerocopy");
    m.receive_zerocopy = ReceiveZeroCopyMetrics{z.U64("mapped_bytes"), z.U64("copied_bytes")};
  }
  m.cpu = f.Any("cpu");
  m.payload = f.Any("payload");
  if (!f.Null("zerocopy")) {
    const Fields z = f.Object("zerocopy");
    m.zerocopy = ZeroCopyMetrics{
        z.U64("completions"),        z.U64("copied"),          z.U64("zerocopy"),          z.U64("ranged_sends"),
        z.Bool("split_approximate"), z.U64("enobufs_retries"), z.U64("outstanding_at_end")};
  }
  if (f.Has("reuse_gate")) {
    m.reuse_gate.emplace();
    if (!f.Null("reuse_gate")) {
      const Fields g = f.Object("reuse_gate");
      *m.reuse_gate = ReuseGateMetrics{g.String("signal"), g.U64("checks"), g.U64("waits"), g.Number("wait_s")};
    }
  }
  if (f.Has("udp")) m.udp = ReadUdp(f.Object("udp"));
  if (f.Has("remote")) {
    const Fields r = f.Object("remote");
    m.remote = RemoteMetrics{r.String("peer"), r.OrNull("receive_s", &Fields::Number), r.Any("host")};
  }
  if (f.Has("request_response")) m.request_response = ReadRequestResponse(f.Object("request_response"));
  if (f.Has("streams")) m.streams = ReadStreams(f.Object("streams"));
  m.probe_results = f.Others(kTypedMetrics);
  return m;
}

TrialParams ReadParams(const Fields& f) {
  TrialParams p;
  p.protocol = f.Enum("protocol", &ParseProtocol);
  p.strategy = f.String("strategy");
  p.path = f.String("path");
  if (f.Has("path_name")) p.path_name = f.String("path_name");
  p.workload = f.String("workload");
  p.source = f.Enum("source", &ParseSourceKind);
  p.message_size = f.U64("message_size");
  p.receiver = f.Enum("receiver", &ParseReceiverMode);
  p.duration_s = f.OrNull("duration_s", &Fields::Number);
  p.bytes = f.OrNull("bytes", &Fields::U64);
  p.sender_cpu = f.OrNull("sender_cpu", &Fields::I64);
  p.receiver_cpu = f.OrNull("receiver_cpu", &Fields::I64);
  p.seed = f.U64("seed");
  p.rate_bps = f.U64("rate_bps");
  p.pattern_period = f.U64("pattern_period");
  p.working_set = f.OrNull("working_set", &Fields::U64);
  p.page_cache = f.OrNull("page_cache", &Fields::String);
  p.file_dir = f.OrNull("file_dir", &Fields::String);
  p.options = f.StringMap("options");
  p.option_values = f.StringMap("option_values");
  p.path_options = f.StringMap("path_options");
  // Records written before workloads had options lack both: none were given.
  if (f.Has("workload_options")) p.workload_options = f.StringMap("workload_options");
  if (f.Has("workload_option_values")) p.workload_option_values = f.StringMap("workload_option_values");
  p.constraints = f.Any("constraints");
  if (f.Has("udp")) {
    const Fields u = f.Object("udp");
    p.udp = UdpParams{u.Bool("gro"), u.Number("drain_s")};
  }
  if (f.Has("receiver_settings")) {
    const Fields r = f.Object("receiver_settings");
    ReceiverSettingsParams settings{r.U64("recv_bytes"), r.I64("rcvlowat"), std::nullopt};
    if (r.Has("rcvlowat_reason")) settings.rcvlowat_reason = r.String("rcvlowat_reason");
    if (r.Has("wait")) settings.wait = r.String("wait");
    p.receiver_settings = settings;
  }
  if (f.Has("tcp_congestion")) p.tcp_congestion = f.Any("tcp_congestion");
  if (f.Has("socket_options")) p.socket_options = f.Any("socket_options");
  if (f.Has("optmem_max")) p.optmem_max = f.Any("optmem_max");
  if (f.Has("siblings")) p.siblings = f.Any("siblings");
  // Records of one stream (and those written before parallel streams) have neither.
  if (f.Has("streams")) p.streams = f.I64("streams");
  if (f.Has("stream_cpus")) p.stream_cpus = f.String("stream_cpus");
  if (f.Has("peer")) p.peer = f.String("peer");
  return p;
}

}  // namespace

IntegrityMetrics IntegrityMetrics::Of(const IntegrityStats& stats) {
  return IntegrityMetrics{std::string(ToString(stats.mode)), stats.verified_bytes, stats.mismatches,
                          stats.first_mismatch_offset, std::nullopt};
}

nlohmann::json IntegrityMetrics::ToJson() const {
  nlohmann::json out = {{"mode", mode},
                        {"verified_bytes", verified_bytes},
                        {"mismatches", mismatches},
                        {"first_mismatch_offset", OrNull(first_mismatch_offset)}};
  if (first_mismatch_sequence) out["first_mismatch_sequence"] = OrNull(*first_mismatch_sequence);
  return out;
}

Result<IntegrityMetrics> IntegrityMetrics::FromJson(const nlohmann::json& json, const std::string& where) {
  try {
    return ReadIntegrity(Fields(json, where));
  } catch (const BadField& e) {
    return Errorf("{}", e.what());
  }
}

ZeroCopyMetrics ZeroCopyMetrics::Of(const ZeroCopyStats& z) {
  // Sends completed in ranges carry their range's code; with both codes seen, some of
  // them may have been counted under the other one (stack/zerocopy_completions.h).
  const bool approximate = z.ranged > 0 && z.copied > 0 && z.zerocopy > 0;
  return ZeroCopyMetrics{z.completions, z.copied,          z.zerocopy,          z.ranged,
                         approximate,   z.enobufs_retries, z.outstanding_at_end};
}

nlohmann::json ZeroCopyMetrics::ToJson() const {
  return {{"completions", completions},
          {"copied", copied},
          {"zerocopy", zerocopy},
          {"ranged_sends", ranged_sends},
          {"split_approximate", split_approximate},
          {"enobufs_retries", enobufs_retries},
          {"outstanding_at_end", outstanding_at_end}};
}

nlohmann::json ZeroCopyJson(const ZeroCopyStats& stats) { return ZeroCopyMetrics::Of(stats).ToJson(); }

std::optional<ReuseGateMetrics> ReuseGateMetrics::Of(const std::optional<PeerGateStats>& gate) {
  if (!gate) return std::nullopt;
  return ReuseGateMetrics{gate->signal, gate->checks, gate->waits, static_cast<double>(gate->wait_ns) / 1e9};
}

std::string_view ToString(TrialStatus status) {
  switch (status) {
    case TrialStatus::kOk:
      return "ok";
    case TrialStatus::kError:
      return "error";
    case TrialStatus::kUnsupported:
      return "unsupported";
  }
  return "error";
}

TrialParams TrialParams::Of(const ResolvedTrial& trial) {
  const TrialSpec& s = trial.spec;
  TrialParams p;
  p.protocol = s.protocol;
  p.strategy = trial.strategy->name;
  if (trial.peer != nullptr) p.peer = trial.peer->label();
  p.path = s.path;
  p.workload = s.workload;
  p.source = trial.source;
  p.message_size = s.message_size;
  p.receiver = s.receiver;
  p.duration_s = s.duration_s;
  p.bytes = s.bytes;
  if (s.sender_cpu) p.sender_cpu = *s.sender_cpu;
  if (s.receiver_cpu) p.receiver_cpu = *s.receiver_cpu;
  p.seed = s.seed;
  p.rate_bps = s.rate_bps;
  p.pattern_period = s.pattern_period;
  p.working_set = s.working_set;
  if (trial.source == SourceKind::kFile) p.page_cache = s.cold_cache ? "cold" : "warm";
  if (!s.file_dir.empty()) p.file_dir = s.file_dir;
  p.options = trial.options.given();
  p.option_values = trial.options.values();
  p.path_options = s.path_options;
  p.workload_options = trial.workload_options.given();
  p.workload_option_values = trial.workload_options.values();
  p.constraints = s.constraints.ToJson();
  p.socket_options = SocketOptionsJson(s.socket_options, {}, kSocketNotSetUp);
  p.optmem_max = OptmemMaxJson(nullptr, "in zcbench's network namespace, before the trial (its sender did not start)");
  p.siblings = SiblingsAsked(s);
  if (s.streams > 1) {
    p.streams = s.streams;
    p.stream_cpus = std::string(ToString(s.stream_cpus));
  }
  // UDP: the receiver's UDP_GRO changes what is measured (PointKey keeps it).
  if (s.protocol == Protocol::kUdp) {
    p.udp = UdpParams{s.gro, s.drain_s};
  } else {
    // A receiver in this process may not wait for low-water when the strategy's reuse
    // gate waits for it; one on another host may (the gate then asks TCP).
    const auto path = FindPath(s.path);
    const bool remote_receiver = path.ok() && (*path)->caps.remote_receiver;
    const ReceiverSettings settings = StreamReceiver::SettingsFor(
        s.receiver, {s.rcvlowat, remote_receiver || !trial.strategy->caps.waits_for_reader});
    p.receiver_settings = ReceiverSettingsParams{settings.recv_bytes, settings.rcvlowat, std::nullopt,
                                                 std::string(ReceiverWaitName(settings.poll_before_recv))};
    if (!settings.rcvlowat_reason.empty()) p.receiver_settings->rcvlowat_reason = settings.rcvlowat_reason;
  }
  return p;
}

nlohmann::json TrialParams::ToJson() const {
  nlohmann::json out = {
      {"protocol", ToString(protocol)},
      {"strategy", strategy},
      {"path", path},
      {"workload", workload},
      {"source", ToString(source)},
      {"message_size", message_size},
      {"receiver", ToString(receiver)},
      {"duration_s", OrNull(duration_s)},
      {"bytes", OrNull(bytes)},
      {"sender_cpu", OrNull(sender_cpu)},
      {"receiver_cpu", OrNull(receiver_cpu)},
      {"seed", seed},
      {"rate_bps", rate_bps},
      {"pattern_period", pattern_period},
      {"working_set", OrNull(working_set)},
      {"page_cache", OrNull(page_cache)},
      {"file_dir", OrNull(file_dir)},
      {"options", StringMap(options)},
      {"option_values", StringMap(option_values)},
      {"path_options", StringMap(path_options)},
      {"workload_options", StringMap(workload_options)},
      {"workload_option_values", StringMap(workload_option_values)},
      {"constraints", constraints},
  };
  if (path_name) out["path_name"] = *path_name;
  if (udp) out["udp"] = {{"gro", udp->gro}, {"drain_s", udp->drain_s}};
  if (receiver_settings) {
    out["receiver_settings"] = {{"recv_bytes", receiver_settings->recv_bytes},
                                {"rcvlowat", receiver_settings->rcvlowat}};
    if (receiver_settings->rcvlowat_reason)
      out["receiver_settings"]["rcvlowat_reason"] = *receiver_settings->rcvlowat_reason;
    if (receiver_settings->wait) out["receiver_settings"]["wait"] = *receiver_settings->wait;
  }
  if (tcp_congestion) out["tcp_congestion"] = *tcp_congestion;
  out["socket_options"] = socket_options;
  if (!optmem_max.is_null()) out["optmem_max"] = optmem_max;
  if (!siblings.is_null()) out["siblings"] = siblings;
  if (streams) out["streams"] = *streams;
  if (stream_cpus) out["stream_cpus"] = *stream_cpus;
  if (peer) out["peer"] = *peer;
  return out;
}

nlohmann::json TrialMetrics::ToJson() const {
  nlohmann::json out = probe_results.is_object() ? probe_results : nlohmann::json::object();
  out["bytes_sent"] = bytes_sent;
  out["bytes_received"] = OrNull(bytes_received);
  out["elapsed_s"] = elapsed_s;
  out["goodput_bps"] = goodput_bps;
  out["send_calls"] = send_calls;
  out["recv_calls"] = OrNull(recv_calls);
  out["integrity"] = integrity_not_verified ? nlohmann::json(std::string(kIntegrityNotVerified))
                     : integrity            ? integrity->ToJson()
                                            : nlohmann::json(nullptr);
  if (integrity_reason) out["integrity_reason"] = *integrity_reason;
  if (receive_zerocopy) {
    out["receive_zerocopy"] = {{"mapped_bytes", receive_zerocopy->mapped_bytes},
                               {"copied_bytes", receive_zerocopy->copied_bytes}};
  }
  out["cpu"] = cpu;
  out["payload"] = payload;
  out["zerocopy"] = zerocopy ? zerocopy->ToJson() : nlohmann::json(nullptr);
  if (reuse_gate) {
    const auto& g = *reuse_gate;
    out["reuse_gate"] =
        g ? nlohmann::json{{"signal", g->signal}, {"checks", g->checks}, {"waits", g->waits}, {"wait_s", g->wait_s}}
          : nlohmann::json(nullptr);
  }
  if (udp) out["udp"] = UdpJson(*udp);
  if (remote)
    out["remote"] = {{"peer", remote->peer}, {"receive_s", OrNull(remote->receive_s)}, {"host", remote->host}};
  if (request_response) out["request_response"] = RequestResponseJson(*request_response);
  if (streams) out["streams"] = StreamsJson(*streams);
  return out;
}

void TrialRecord::Fail(const Error& failure) {
  status = failure.kind() == ErrorKind::kUnsupported ? TrialStatus::kUnsupported : TrialStatus::kError;
  error = failure.ToString();
}

nlohmann::json TrialRecord::ToJson() const {
  nlohmann::json out = {
      {"schema", schema},
      {"run_id", run_id},
      {"trial", trial},
      {"repetition", repetition},
      {"warmup", warmup},
      {"params", params.ToJson()},
      {"point", point},
      {"started_at", started_at},
      {"status", ToString(status)},
      {"error", OrNull(error)},
      {"metrics", metrics ? metrics->ToJson() : nlohmann::json(nullptr)},
  };
  if (path) out["path"] = *path;
  if (constraints) out["constraints"] = *constraints;
  if (verdict) {
    out["converged"] = OrNull(verdict->converged);
    out["convergence"] = verdict->convergence;
  }
  return out;
}

Result<TrialRecord> TrialRecord::FromJson(const nlohmann::json& json) {
  try {
    const Fields f(json, "record");
    TrialRecord r;
    r.schema = f.String("schema");
    if (r.schema != kTrialSchema) {
      return Errorf("record.schema: '{}' is not {}, the records this version writes and reads", r.schema, kTrialSchema);
    }
    r.run_id = f.String("run_id");
    r.trial = f.I64("trial");
    r.repetition = f.I64("repetition");
    r.warmup = f.Bool("warmup");
    r.params = ReadParams(f.Object("params"));
    r.point = f.String("point");
    r.started_at = f.String("started_at");
    r.status = f.Enum("status", &ParseStatus);
    r.error = f.OrNull("error", &Fields::String);
    if (!f.Null("metrics")) r.metrics = ReadMetrics(f.Object("metrics"));
    if (f.Has("path")) r.path = f.Any("path");
    if (f.Has("constraints")) r.constraints = f.Any("constraints");
    if (f.Has("converged") || f.Has("convergence")) {
      r.verdict = Verdict{f.OrNull("converged", &Fields::Bool), f.Any("convergence")};
    }
    return r;
  } catch (const BadField& e) {
    return Errorf("{}", e.what());
  } catch (const nlohmann::json::exception& e) {
    return Errorf("record: {}", e.what());
  }
}

TrialRecord NewTrialRecord(const ResolvedTrial& trial, const TrialContext& context) {
  TrialRecord record;
  record.run_id = context.run_id;
  record.trial = context.trial;
  record.repetition = context.repetition;
  record.warmup = context.warmup;
  record.params = TrialParams::Of(trial);
  if (!context.path_name.empty()) record.params.path_name = context.path_name;
  record.point = PointKey(trial);
  record.started_at = NowIso8601();
  return record;
}

void to_json(nlohmann::json& json, const TrialRecord& record) { json = record.ToJson(); }

std::string NowIso8601() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(now)), ms);
}

}  // namespace zcb
