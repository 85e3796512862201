#pragma once

// The trial parameters, each declared once, in the manner of fio's option table: its
// spec key, its command-line flags, how its text is parsed and written back (the
// canonical form), its help and default, and where it applies. Everything that names a
// parameter is generated from this table: the flags of `zcbench run`, the keys an
// experiment spec accepts in [matrix], [trial] and [experiment], `zcbench help
// parameters`, and a point's coordinates, label and key.
//
// To add a parameter: add a field to TrialSpec (harness/trial/trial_resolve.h), then one
// entry in MakeTable() (harness/plan/parameters.cc) whose `apply` sets it (a run-level
// setting that the run plan reads instead: a TrialSettings field, harness/plan/spec.h, and
// `set`). The command line, the spec parser, the matrix and the help follow.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/plan/spec.h"
#include "harness/trial/trial_resolve.h"
#include "stack/result.h"
#include "stack/types.h"

namespace zcb {

// Where an experiment spec gives a parameter.
enum class SpecSection {
  kMatrix,       // [matrix] KEY: an axis, one value or a list (every value makes points)
  kTrial,        // [trial] KEY: one value for every point
  kExperiment,   // [experiment] KEY
  kCommandLine,  // no spec key: `zcbench run` only
};
std::string_view ToString(SpecSection section);

// The shape of a value: the TOML types a spec may give it as, and how the command line
// takes it.
enum class ValueKind {
  kName,       // a string
  kSize,       // bytes: an integer, or a string with a K/M/G suffix
  kRate,       // bits per second: an integer, or a string with a K/M/G suffix, or "unpaced"
  kDuration,   // seconds: a number, or a string with a unit ("500ms")
  kFraction,   // a number, or a string such as "20%"
  kInteger,    // an integer (on the command line, its decimal text)
  kBool,       // true or false (on the command line, a flag without a value)
  kKeyValues,  // option = value pairs: a table in a spec, a repeated key=value flag
};

// Where a parameter applies, as capabilities of the trial (never names). A [trial]
// setting whose protocols exclude a point's is left at its default for that point
// (UDP_GRO on the TCP points of a spec shared by both); the sources say where a setting
// has an effect (help shows it), and ResolveTrial refuses what contradicts the source.
struct Applicability {
  EnumSet<Protocol> protocols{Protocol::kTcp, Protocol::kUdp};
  EnumSet<SourceKind> sources{SourceKind::kMemory, SourceKind::kFile, SourceKind::kGenerated};

  bool Holds(Protocol protocol) const { return protocols.Has(protocol); }
  // "" when the parameter applies everywhere; "UDP only", "the file source only".
  std::string Describe() const;
};

// How a parameter shows in a point's key (the records' `point`, which stays the same
// across repetitions and runs, so that a resumed run finds its points).
enum class KeyPart {
  kNone,         // not part of the point (the same point measured differently)
  kSlash,        // one of the seven slash-separated fields, at `key_position`
  kWhenChanged,  // ",NAME=VALUE" when the value differs from the default (or is given)
  kFlag,         // ",NAME" when true
  kOptions,      // key-value parameters: ",NAMEKEY=VALUE" for every option given (NAME: "", "path.")
};

// How a parameter shows in a point's label ("tcp write memory 64K loopback verify").
enum class LabelPart {
  kNone,
  kWord,   // its display text, always (the six first words)
  kNamed,  // " NAME=VALUE" when not the default
  kValue,  // " VALUE" when not the default
};

struct Parameter {
  std::string_view key;  // the spec key in its section; the matrix axis name
  SpecSection section;
  std::string_view flags;  // CLI11 names, "--size,-l"; "" for spec-only settings
  ValueKind kind;
  std::string_view value_name;    // what a value is, for messages and help: "a size"
  std::string_view default_text;  // as the help shows it
  std::string_view help;
  Applicability applies;
  std::optional<AxisKind> axis;  // the axis kind of a [matrix] parameter

  // Text (a command-line argument, or a spec value as text) to canonical text, or an
  // error that quotes the text and says what is expected.
  Result<std::string> (*parse)(std::string_view text, const SpecCatalog& catalog) = nullptr;
  // Sets the canonical value on a trial, and reads it back: every [matrix] parameter, and
  // the [trial] settings that are a field of each trial (ApplyTrialSettings).
  void (*apply)(const std::string& canonical, TrialSpec& spec) = nullptr;
  std::string (*read)(const TrialSpec& spec) = nullptr;
  // The value when a spec has no axis for it (it may follow the point so far: the
  // strategy's first source, the protocol's message size); nullptr: default_text.
  std::string (*default_for)(const TrialSpec& spec, const SpecCatalog& catalog) = nullptr;
  // The other [trial] settings, [experiment] and command-line settings, which the run
  // plan reads (durations, warm-ups, pinning, probes): sets the canonical value.
  void (*set)(const std::string& canonical, ExperimentSpec& spec) = nullptr;
  // The receiving end needs it (a remote receiver's request carries it, remote_request.*):
  // `read` gives its value on a trial, and `apply` sets it on the receiving end's trial.
  bool receiving_end = false;
  // Key-value parameters: the options they set on a trial (strategy, path or workload
  // options), each key checked against the declarations when the trial is resolved.
  std::map<std::string, std::string> TrialSpec::*key_values = nullptr;
  // The options of `key_values` a receiving end needs, when not all of them (the socket
  // options of the receiver's socket); nullptr: all.
  std::map<std::string, std::string> (*receiving_end_options)(const TrialSpec& spec) = nullptr;
  // A command-line shortcut for one option of a key-value parameter: `--peer H:P` is
  // `--path-option peer=H:P`. Names that parameter ("path_options").
  std::string_view shortcut_for;
  // A [matrix] parameter whose values are more values of another axis (the peers, of the
  // strategy's): it sets no field of its own; the matrix walks its values with that axis.
  std::optional<AxisKind> extends;

  KeyPart key_part = KeyPart::kNone;
  int key_position = 0;       // kSlash
  std::string_view key_name;  // kWhenChanged, kFlag: the name in the key ("rate_bps"); kOptions: the prefix
  LabelPart label_part = LabelPart::kNone;
  std::string_view label_name;                                     // kNamed ("rate")
  std::string (*display)(const std::string& canonical) = nullptr;  // label text; nullptr: canonical
};

// The table, in the order matrix axes are expanded (the first varies slowest).
const std::vector<Parameter>& Parameters();
const Parameter* FindParameter(std::string_view key, SpecSection section);
const Parameter* FindAxisParameter(AxisKind kind);
// The parameters a receiving end needs, in table order.
std::vector<const Parameter*> ReceivingEndParameters();
// Sets one option of a key-value parameter on `spec`, from its canonical "key=value".
void SetOption(const Parameter& parameter, const std::string& canonical, TrialSpec& spec);

// The parameters of one section, in table order.
std::vector<const Parameter*> ParametersIn(SpecSection section);

// `zcbench help parameters`: every parameter with its flags, spec key, default, where it
// applies, and its help.
std::string ParameterHelp();

// A point's identity, computed from the table's canonical forms of `spec`: its
// coordinates (the [matrix] parameters, as [[exclude]] matches them), its label, and its
// key (which also names every strategy and path option of `spec`).
struct PointIdentity {
  std::map<std::string, std::string> coords;  // axis key -> canonical value
  std::string label;
  std::string key;
};
PointIdentity IdentifyPoint(const TrialSpec& spec);

// The stable key of a point: the parameters that stay the same across repetitions.
std::string PointKey(const TrialSpec& spec);
std::string PointKey(const ResolvedTrial& trial);

}  // namespace zcb
