#!/usr/bin/env bash
# zcbench set-up, build and the two jobs of the README's quick start:
#
#   ./bootstrap.sh demo   install what is missing, build (Release), run the quick experiment
#                         and write its report
#   ./bootstrap.sh test   install what is missing, build, run the whole test suite (C++ unit
#                         and integration tests, the same under ASan+UBSan, Python tests)
#
# Both are idempotent: packages already installed are not reinstalled, builds are
# incremental. Run as root on Debian 12 (root is needed for apt-get, and for the eBPF,
# namespace and qdisc parts of the suite).
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the project needs: toolchain, libraries found by CMake, eBPF tooling,
# Python analysis, peer tools used by benchmarks, and Chromium for the report test.
PACKAGES=(
  g++ cmake ninja-build pkg-config git
  liburing-dev nlohmann-json3-dev libtomlplusplus-dev libcli11-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libssl-dev
  libbpf-dev bpftool clang llvm
  python3 python3-matplotlib python3-numpy python3-scipy python3-pytest
  iperf3 bpftrace ethtool iproute2 linux-perf procps kmod
  chromium
)

log() { printf '==> %s\n' "$*" >&2; }

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "all ${#PACKAGES[@]} packages are installed"
    return
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: missing packages (${missing[*]}) and not root: run as root, or install them first" >&2
    exit 2
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The interpreter that has Debian's python3-* packages (not whatever python3 is first on PATH).
python_for_analysis() {
  for py in /usr/bin/python3 python3; do
    if "$py" -c 'import matplotlib, numpy, scipy' 2>/dev/null; then echo "$py"; return; fi
  done
  echo "bootstrap: no Python interpreter with matplotlib, numpy and scipy" >&2
  exit 2
}

build() {  # build DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  ninja -C "$dir" -j "$(nproc)" >&2
}

demo() {
  install_packages
  build build
  local bin=build/harness/zcbench
  if [ -f workloads/experiments/quick.toml ] && "$bin" run --help 2>&1 | grep -q -- '--dry-run'; then
    local out=results/_quick
    rm -rf "$out"
    "$bin" run workloads/experiments/quick.toml --out "$out"
    if "$bin" --help 2>&1 | grep -qw report; then "$bin" report "$out"; fi
  else
    "$bin" run --strategy all --duration 1 --receiver discard
  fi
}

run_tests() {
  install_packages
  local py
  py=$(python_for_analysis)
  local failed=0 passed=0 n

  log "build (Release)"
  build build
  log "C++ tests"
  local ctest_log; ctest_log=$(mktemp)
  (cd build && ctest --output-on-failure --timeout 900) 2>&1 | tee "$ctest_log" || true
  n=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1 \2/p' "$ctest_log" | tail -1)
  if [ -z "$n" ]; then failed=$((failed + 1)); else
    set -- $n; failed=$((failed + $1)); passed=$((passed + $2 - $1)); fi

  log "C++ unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
  # Left out here: the unsafe_reuse tests observe kernel timing (is data still queued
  # when the buffer is rewritten?), which a several times slower instrumented sender
  # changes; they run in the Release suite above.
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZCB_SANITIZE=ON -DZCB_BUILD_BENCHMARKS=OFF >/dev/null
  ninja -C build-asan -j "$(nproc)" zcb_tests >&2
  local asan_log; asan_log=$(mktemp)
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    build-asan/tests/zcb_tests --gtest_brief=1 --gtest_filter='-*UnsafeReuse*' 2>&1 | tee "$asan_log" | tail -20 || true
  if grep -q "^\[  PASSED  \]" "$asan_log" && ! grep -qE "^\[  FAILED  \]|ERROR: (Address|Leak)Sanitizer|runtime error:" "$asan_log"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); log "sanitizer run FAILED"
  fi
  rm -f "$ctest_log" "$asan_log"

  log "Python tests ($py)"
  local py_log; py_log=$(mktemp)
  ZCBENCH_BIN="$PWD/build/harness/zcbench" PYTHONPATH="$PWD" "$py" -m pytest -q -p no:cacheprovider tests 2>&1 | tee "$py_log" || true
  local pp pf
  pp=$(grep -oE '[0-9]+ passed' "$py_log" | tail -1 | grep -oE '[0-9]+' || echo 0)
  # (grep finds nothing when all passed: under pipefail that must not end the script)
  pf=$({ grep -oE '[0-9]+ (failed|errors?)' "$py_log" || true; } | awk '{s+=$1} END {print s+0}')
  if ! grep -qE '[0-9]+ passed' "$py_log"; then pf=$((pf + 1)); fi
  passed=$((passed + pp)); failed=$((failed + pf))
  rm -f "$py_log"

  echo "zcbench: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

case "${1:-}" in
  demo) demo ;;
  test) run_tests ;;
  *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac
