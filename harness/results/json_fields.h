#pragma once

// Typed reads of JSON read back from disk (manifests), where any field may be missing or
// hand-edited: a wrong type reads as absent instead of throwing. (Trial records are read
// by TrialRecord::FromJson, harness/trial/trial_record.h.)

#include <string>

#include <nlohmann/json.hpp>

namespace zcb {

// object[key] when it is a string, else "".
inline std::string StringField(const nlohmann::json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) return "";
  return object[key].get<std::string>();
}

}  // namespace zcb
