"""workloads/bench/nginx_anchor.py: what it reads of wrk's output, and its refusals."""

import pathlib
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[2] / "workloads" / "bench"
sys.path.insert(0, str(BENCH))
import nginx_anchor  # noqa: E402
from peers import PeerFailed  # noqa: E402

WRK_OUTPUT = """Running 3s test @ http://127.0.0.1:40123/
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    78.31us   12.10us   1.20ms   91.00%
    Req/Sec    12.41k   310.00    12.90k    70.00%
  Latency Distribution
     50%   76.00us
     75%   80.00us
     90%   88.00us
     99%  120.00us
  37215 requests in 3.00s, 2.28GB read
Requests/sec:  12404.97
Transfer/sec:    779.95MB
"""


def test_wrk_rate_count_and_median_latency_are_read():
    rate, requests, p50 = nginx_anchor.parse_wrk(WRK_OUTPUT)
    assert rate == pytest.approx(12404.97)
    assert requests == 37215
    assert p50 == pytest.approx(76.0)
    slow = WRK_OUTPUT.replace("50%   76.00us", "50%    1.50ms")
    assert nginx_anchor.parse_wrk(slow)[2] == pytest.approx(1500.0)


def test_a_run_with_errors_or_without_a_rate_fails_saying_so():
    with pytest.raises(PeerFailed, match="Non-2xx"):
        nginx_anchor.parse_wrk(WRK_OUTPUT + "  Non-2xx or 3xx responses: 12\n")
    with pytest.raises(PeerFailed, match="no rate"):
        nginx_anchor.parse_wrk("Running 3s test\n")


def test_bad_sizes_and_a_missing_server_are_refused_by_name(tmp_path):
    script = str(BENCH / "nginx_anchor.py")
    bad = subprocess.run([sys.executable, script, "--sizes", "4X"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--sizes" in bad.stderr, bad.stderr
    missing = subprocess.run([sys.executable, script, "--nginx", str(tmp_path / "no-nginx"), "--zcbench", sys.executable],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "--nginx" in missing.stderr and "apt-get install" in missing.stderr, \
        missing.stderr
