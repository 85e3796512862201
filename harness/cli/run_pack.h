#pragma once

// zcbench run DIR: a folder of experiment specs is a pack. Each `*.toml` in it (sorted by
// name; `claims.toml` is the pack's questions, not a spec) runs in turn through RunSpec,
// exactly as `zcbench run SPEC.toml --out PACK/<spec name>` would, and pack.json records
// which specs, their sha256 and the state of each, so that --resume of the pack resumes
// each spec's run and `zcbench report PACK` reads them all.

#include <string>

#include "harness/cli/run_spec.h"

namespace zcb::cli {

inline constexpr const char* kPackSchema = "zcbench.pack/1";
inline constexpr const char* kPackManifestFile = "pack.json";
// The file of a pack's claims: copied into the pack's output folder, never run.
inline constexpr const char* kClaimsFile = "claims.toml";

// True when `path` is a folder (a pack of specs, or with --resume a pack's output folder).
bool IsPackPath(const std::string& path);

// `args.spec_path` is the pack's folder (empty when resuming: the pack's output folder in
// `args.resume` records it). Returns the exit code: 0 every spec complete, 1 a spec's
// run failed, 2 bad usage or a bad spec (nothing ran), 130 interrupted (resumable).
int RunPack(const SpecRunArgs& args);

}  // namespace zcb::cli
