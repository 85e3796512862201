#!/usr/bin/env bash
# Builds the fuzz targets (tests/fuzz/*_fuzzer.cc) with clang, libFuzzer, ASan and UBSan,
# and runs each for a fixed time from its seed corpus.
#
#   tests/fuzz/run.sh                      every target, 30 s each (the CI run)
#   tests/fuzz/run.sh --seconds 3600 spec  one target for an hour (the long run)
#
# Options: --seconds N (per target; default 30, or FUZZ_SECONDS), --build DIR (default
# build-fuzz), --jobs N (ninja's; default 2). Targets: the names of tests/fuzz/*_fuzzer.cc
# without _fuzzer (default all of them).
#
# Each target starts from tests/fuzz/corpus/<target>/ (read only: what it finds on the way
# goes to a scratch corpus in the build folder) with its dictionary where there is one. A
# crash, a sanitizer report, a hang over 10 s (-timeout) or an input that takes more than
# 2 GB (-rss_limit_mb) stops the target and fails the run; libFuzzer writes the input that
# did it to tests/fuzz/regressions/<target>/ (crash-*, timeout-*, oom-*, leak-*), where it
# stays as a regression input: commit it with the fix, and every test run replays it
# (tests/fuzz/replay_test.cc). One line per target at the end: "fuzz: TARGET: ok, N runs"
# or "fuzz: TARGET: FAILED ...".
set -uo pipefail
cd "$(dirname "$0")/../.."

seconds=${FUZZ_SECONDS:-30}
build=build-fuzz
jobs=2
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
case "$seconds" in ''|*[!0-9]*) echo "run.sh: --seconds takes a whole number of seconds, not '$seconds'" >&2; exit 2 ;; esac
if [ ${#targets[@]} -eq 0 ]; then
  for source in tests/fuzz/*_fuzzer.cc; do name=$(basename "$source" _fuzzer.cc); targets+=("$name"); done
fi
for t in "${targets[@]}"; do
  [ -f "tests/fuzz/${t}_fuzzer.cc" ] || { echo "run.sh: no fuzz target '$t' (tests/fuzz/${t}_fuzzer.cc)" >&2; exit 2; }
done

# libFuzzer with ASan and UBSan needs clang 16 or newer (the tree captures structured
# bindings in lambdas, a C++20 feature clang 14 lacks); Debian 12: clang-16 libclang-rt-16-dev.
cxx=
for candidate in clang++-19 clang++-18 clang++-17 clang++-16 clang++; do
  if command -v "$candidate" >/dev/null; then
    major=$("$candidate" -dumpversion | cut -d. -f1)
    if [ "$major" -ge 16 ]; then cxx=$candidate; break; fi
  fi
done
if [ -z "$cxx" ]; then
  echo "run.sh: no clang++ 16 or newer (on Debian 12: apt-get install clang-16 libclang-rt-16-dev)" >&2
  exit 2
fi
cc=${cxx/clang++/clang}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)

started=$(date +%s)
# -O1 and line tables: the usual flags of a fuzzing build (fast enough to run, stacks readable).
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
  "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
  -DZCB_FUZZ=ON -DZCB_BUILD_TESTS=OFF -DZCB_BUILD_BENCHMARKS=OFF "${launcher[@]}" >/dev/null || exit 1
ninja -C "$build" -j "$jobs" "${targets[@]/%/_fuzzer}" >&2 || { echo "fuzz: the build failed" >&2; exit 1; }
echo "fuzz: built ${#targets[@]} targets in $(($(date +%s) - started)) s ($cxx)" >&2

dictionary_of() {
  case "$1" in
    spec) echo tests/fuzz/spec.dict ;;
    control_message|serve_session) echo tests/fuzz/control.dict ;;
  esac
}

# Stacks with function names and lines in the reports.
symbolizer=$(command -v "llvm-symbolizer-${cxx##*-}" || command -v llvm-symbolizer || true)
[ -n "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH=$symbolizer
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

summary=() failed=0
for t in "${targets[@]}"; do
  regressions=tests/fuzz/regressions/$t
  scratch=$build/fuzz-corpus/$t
  mkdir -p "$regressions" "$scratch"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$regressions/")
  dict=$(dictionary_of "$t")
  [ -n "$dict" ] && args+=(-dict="$dict")
  log=$build/fuzz-$t.log
  echo "fuzz: $t for $seconds s" >&2
  before=$(ls "$regressions" | wc -l)
  # The regression inputs run first with the seeds: a finding that is back fails at once.
  inputs=("$scratch" "tests/fuzz/corpus/$t")
  [ "$before" -gt 0 ] && inputs+=("$regressions")
  "$build/tests/fuzz/${t}_fuzzer" "${args[@]}" "${inputs[@]}" >"$log" 2>&1
  status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ $status -eq 0 ]; then
    summary+=("fuzz: $t: ok, ${runs:-?} runs in $seconds s")
  else
    failed=$((failed + 1))
    reproducer=$(ls -t "$regressions" | head -1)
    [ "$(ls "$regressions" | wc -l)" -gt "$before" ] || reproducer="(none written)"
    summary+=("fuzz: $t: FAILED (exit $status) after ${runs:-?} runs, reproducer $regressions/$reproducer, log $log")
    grep -E "ERROR: |runtime error:|SUMMARY:|==[0-9]+== *ERROR|deadly signal" "$log" | head -5 >&2
  fi
  rmdir "$regressions" 2>/dev/null || true  # only an empty one: a target without findings has none
done
printf '%s\n' "${summary[@]}"
[ "$failed" -eq 0 ]
