#include "drivers/remote/messages.h"

#include <sys/utsname.h>

#include <cstdint>
#include <fstream>
#include <optional>

namespace zcb::remote {
namespace {

std::string ReadSmallFile(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

Result<uint64_t> GetUint(const nlohmann::json& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end() || !it->is_number_unsigned()) return Errorf("field '{}' must be a non-negative integer", key);
  return it->get<uint64_t>();
}

Result<std::string> GetString(const nlohmann::json& m, const char* key, size_t max_len = 256) {
  auto it = m.find(key);
  if (it == m.end() || !it->is_string()) return Errorf("field '{}' must be a string", key);
  std::string s = it->get<std::string>();
  if (s.size() > max_len) return Errorf("field '{}' is longer than {} bytes", key, max_len);
  return s;
}

Result<bool> GetBool(const nlohmann::json& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end() || !it->is_boolean()) return Errorf("field '{}' must be true or false", key);
  return it->get<bool>();
}

// A field that is null or a non-negative integer.
Result<std::optional<uint64_t>> GetOptionalUint(const nlohmann::json& m, const char* key) {
  auto it = m.find(key);
  if (it != m.end() && it->is_null()) return std::optional<uint64_t>();
  ZCB_ASSIGN_OR_RETURN(const uint64_t v, GetUint(m, key));
  return std::optional<uint64_t>(v);
}

nlohmann::json OptionalJson(const std::optional<uint64_t>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json TrialRequest::ToJson() const {
  return {{"type", "trial"}, {"parameters", parameters}, {"flow_id", flow_id}};
}

Result<TrialRequest> TrialRequest::FromJson(const nlohmann::json& m) {
  TrialRequest r;
  auto given = m.find("parameters");
  if (given == m.end() || !given->is_object()) return Errorf("field 'parameters' must be an object of key: text");
  if (given->size() > kMaxRequestParameters) {
    return Errorf("field 'parameters': {} keys, at most {}", given->size(), kMaxRequestParameters);
  }
  for (const auto& [key, value] : given->items()) {
    if (key.empty() || key.size() > 64) return Errorf("field 'parameters': a key of {} bytes", key.size());
    if (!value.is_string() || value.get_ref<const std::string&>().size() > 256) {
      return Errorf("field 'parameters.{}' must be a string of at most 256 bytes", key);
    }
    r.parameters[key] = value.get<std::string>();
  }
  ZCB_ASSIGN_OR_RETURN(const uint64_t flow_id, GetUint(m, "flow_id"));
  if (flow_id > UINT32_MAX) return Errorf("field 'flow_id': expected 0 to {}", UINT32_MAX);
  r.flow_id = static_cast<uint32_t>(flow_id);
  return r;
}

nlohmann::json DatagramsSent::ToJson() const {
  return {{"type", "sent"}, {"datagrams", datagrams}, {"aborted", aborted}};
}

Result<DatagramsSent> DatagramsSent::FromJson(const nlohmann::json& m) {
  DatagramsSent sent;
  ZCB_ASSIGN_OR_RETURN(sent.datagrams, GetUint(m, "datagrams"));
  ZCB_ASSIGN_OR_RETURN(sent.aborted, GetBool(m, "aborted"));
  return sent;
}

nlohmann::json DatagramStatsToJson(const DatagramReceiveStats& s) {
  return {{"datagrams_received", s.datagrams_received},
          {"duplicated", s.duplicated},
          {"reordered", s.reordered},
          {"stale", s.stale},
          {"malformed", s.malformed},
          {"empty", s.empty},
          {"corrupt", s.corrupt},
          {"first_corrupt_sequence", OptionalJson(s.first_corrupt_sequence)},
          {"highest_sequence", OptionalJson(s.highest_sequence)},
          {"bytes_received", s.bytes_received},
          {"unique_bytes", s.unique_bytes},
          {"recv_calls", s.recv_calls},
          {"coalesced_buffers", s.coalesced_buffers},
          {"queue_drops", OptionalJson(s.queue_drops_known ? std::optional<uint64_t>(s.queue_drops) : std::nullopt)},
          {"receive_buffer_bytes", s.receive_buffer_bytes},
          {"receive_buffer_forced", s.receive_buffer_forced},
          {"all_arrived", s.all_arrived},
          {"verified_bytes", s.integrity.verified_bytes},
          {"mismatches", s.integrity.mismatches},
          {"first_mismatch_offset", OptionalJson(s.integrity.first_mismatch_offset)},
          {"mode", std::string(ToString(s.integrity.mode))}};
}

Result<DatagramReceiveStats> DatagramStatsFromJson(const nlohmann::json& m) {
  if (!m.is_object()) return Errorf("result: 'datagrams' is not an object");
  DatagramReceiveStats s;
  auto read = [&]() -> Status {
    ZCB_ASSIGN_OR_RETURN(s.datagrams_received, GetUint(m, "datagrams_received"));
    ZCB_ASSIGN_OR_RETURN(s.duplicated, GetUint(m, "duplicated"));
    ZCB_ASSIGN_OR_RETURN(s.reordered, GetUint(m, "reordered"));
    ZCB_ASSIGN_OR_RETURN(s.stale, GetUint(m, "stale"));
    ZCB_ASSIGN_OR_RETURN(s.malformed, GetUint(m, "malformed"));
    ZCB_ASSIGN_OR_RETURN(s.empty, GetUint(m, "empty"));
    ZCB_ASSIGN_OR_RETURN(s.corrupt, GetUint(m, "corrupt"));
    ZCB_ASSIGN_OR_RETURN(s.first_corrupt_sequence, GetOptionalUint(m, "first_corrupt_sequence"));
    ZCB_ASSIGN_OR_RETURN(s.highest_sequence, GetOptionalUint(m, "highest_sequence"));
    ZCB_ASSIGN_OR_RETURN(s.bytes_received, GetUint(m, "bytes_received"));
    ZCB_ASSIGN_OR_RETURN(s.unique_bytes, GetUint(m, "unique_bytes"));
    ZCB_ASSIGN_OR_RETURN(s.recv_calls, GetUint(m, "recv_calls"));
    ZCB_ASSIGN_OR_RETURN(s.coalesced_buffers, GetUint(m, "coalesced_buffers"));
    ZCB_ASSIGN_OR_RETURN(const std::optional<uint64_t> drops, GetOptionalUint(m, "queue_drops"));
    s.queue_drops_known = drops.has_value();
    s.queue_drops = drops.value_or(0);
    ZCB_ASSIGN_OR_RETURN(s.receive_buffer_bytes, GetUint(m, "receive_buffer_bytes"));
    ZCB_ASSIGN_OR_RETURN(s.receive_buffer_forced, GetBool(m, "receive_buffer_forced"));
    ZCB_ASSIGN_OR_RETURN(s.all_arrived, GetBool(m, "all_arrived"));
    ZCB_ASSIGN_OR_RETURN(s.integrity.verified_bytes, GetUint(m, "verified_bytes"));
    ZCB_ASSIGN_OR_RETURN(s.integrity.mismatches, GetUint(m, "mismatches"));
    ZCB_ASSIGN_OR_RETURN(s.integrity.first_mismatch_offset, GetOptionalUint(m, "first_mismatch_offset"));
    ZCB_ASSIGN_OR_RETURN(const std::string mode, GetString(m, "mode", 16));
    const auto parsed = ParseReceiverMode(mode);
    if (!parsed) return Errorf("field 'mode': unknown receiver mode '{}'", mode);
    s.integrity.mode = *parsed;
    return OkStatus();
  };
  if (auto ok = read(); !ok.ok()) return std::move(ok).error().Context("result: datagrams");
  return s;
}

Status ValidateResultMetrics(const nlohmann::json& metrics) {
  if (!metrics.is_object()) return Errorf("result: 'metrics' is not an object");
  ZCB_RETURN_IF_ERROR(GetUint(metrics, "bytes_received"));
  ZCB_RETURN_IF_ERROR(GetUint(metrics, "recv_calls"));
  auto integrity = metrics.find("integrity");
  if (integrity == metrics.end() || !integrity->is_object()) return Errorf("result: 'integrity' is not an object");
  ZCB_RETURN_IF_ERROR(GetString(*integrity, "mode", 16));
  ZCB_RETURN_IF_ERROR(GetUint(*integrity, "verified_bytes"));
  ZCB_RETURN_IF_ERROR(GetUint(*integrity, "mismatches"));
  auto first = integrity->find("first_mismatch_offset");
  if (first == integrity->end() || !(first->is_null() || first->is_number_unsigned())) {
    return Errorf("result: 'integrity.first_mismatch_offset' must be null or a non-negative integer");
  }
  auto cpu = metrics.find("cpu");
  if (cpu == metrics.end() || !(cpu->is_null() || cpu->is_object()))
    return Errorf("result: 'cpu' must be null or an object");
  if (cpu->is_object()) {
    auto t = cpu->find("receiver_thread_s");
    if (t == cpu->end() || !t->is_number()) return Errorf("result: 'cpu.receiver_thread_s' must be a number");
  }
  return OkStatus();
}

Result<ReceiverInterfaceProfile> ReceiverInterface(const nlohmann::json& message) {
  auto it = message.find("interface");
  if (it == message.end())
    return ReceiverInterfaceProfile{nullptr,
                                    "the receiver's zcbench serve does not report its interface (an older one)"};
  if (it->is_null()) {
    auto reason = message.find("interface_reason");
    if (reason == message.end() || !reason->is_string())
      return Errorf("'interface' is null without an 'interface_reason'");
    return ReceiverInterfaceProfile{nullptr, "the receiver: " + reason->get<std::string>()};
  }
  if (!it->is_object()) return Errorf("'interface' must be an object or null");
  ZCB_RETURN_IF_ERROR(GetString(*it, "name", 64));
  return ReceiverInterfaceProfile{*it, ""};
}

nlohmann::json HostIdentity() {
  utsname u{};
  ::uname(&u);
  return {
      {"hostname", u.nodename}, {"kernel", u.release}, {"boot_id", ReadSmallFile("/proc/sys/kernel/random/boot_id")}};
}

}  // namespace zcb::remote
