#pragma once

// Typed reads of JSON read back from disk (manifests, trials.jsonl), where any field may
// be missing or hand-edited: a wrong type reads as absent instead of throwing.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace zcb {

// object[key] when it is a string, else "".
inline std::string StringField(const nlohmann::json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) return "";
  return object[key].get<std::string>();
}

// object[key] when it is a boolean, else false.
inline bool BoolField(const nlohmann::json& object, const char* key) {
  return object.is_object() && object.contains(key) && object[key].is_boolean() && object[key].get<bool>();
}

// The number at JSON pointer `pointer` ("/metrics/goodput_bps"), if there is one.
inline std::optional<double> NumberAt(const nlohmann::json& document, const char* pointer) {
  const nlohmann::json::json_pointer p(pointer);
  if (!document.contains(p)) return std::nullopt;
  const auto& v = document.at(p);
  if (!v.is_number()) return std::nullopt;
  return v.get<double>();
}

}  // namespace zcb
