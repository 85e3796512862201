#!/usr/bin/python3
"""file_serving beside nginx and wrk: the anchor for zcbench's file-serving figures.

nginx (Debian package `nginx-light` or `nginx`) serves a set of files of one size from a
folder of this script's own, one worker process in the foreground (`master_process off`,
so that wait4() sees all its CPU) pinned to the sender's CPU, with `sendfile on` or
`sendfile off` (then it reads each file into its output buffers and writes them: a
copying server). wrk (Debian package `wrk`) on the receiver's CPU keeps one persistent
connection and asks for the files in turn (a Lua request function), as fast as the answers
come. Beside it, `zcbench run --workload file_serving` serves a set of the same size and
count with `sendfile` and with `write` (read into a 64 KiB buffer, then write) over one
persistent connection, its server (the trial's sender) and client (the receiver) pinned
the same way. The two run in alternating pairs (the order flips each pair); the table
gives per file size and server the median over the pairs of requests per second and of
the median latency, and the median of the per-pair ratios zcbench / nginx.

What differs, so that a ratio near 1 is what "the same" looks like: nginx parses each
HTTP request and writes a response header of about 240 bytes before the body, and wrk
parses that header; zcbench's file_serving sends the bare file (the client knows each
file's size from the shared seed). wrk reads each response and checks nothing but its
length: zcbench's client does the same with `--receiver read` (the default here), and
with `--receiver verify` compares every byte with the file's content, which costs the
client CPU at large files (1 MiB files: about two thirds of the requests per second).
nginx sets TCP_NODELAY on a keep-alive connection (its `tcp_nodelay on` default), so that
the last piece of a response does not wait for the peer's ACK under Nagle's algorithm;
zcbench is given `--socket-option nodelay=true` to match (without it, 1 MiB files through
`write` in 64 KiB pieces went at half the rate here: the 53-byte tail of each 65536-byte
write, past the 65483-byte loopback MSS, waited). wrk's latency is from its
request's write to the end of the response; zcbench's from the request's write to the
last byte of the file, both with the monotonic clock. CPU per request is the user +
system time of every process of the run (wait4 rusage) over the requests it served.

Usage: workloads/bench/nginx_anchor.py [--zcbench build/harness/zcbench] [--pairs 5]
       [--seconds 3] [--sizes 4K,64K,1M] [--files 8] [--json FILE]
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import PeerFailed, Process, free_port, size_bytes, wait_listening  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]

# zcbench strategy and the nginx setting that serves a file the same way.
SERVERS = [("sendfile", "on"), ("write", "off")]

NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile {sendfile};
    tcp_nopush off;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    client_body_temp_path {dir}/client_temp;
    proxy_temp_path {dir}/proxy_temp;
    fastcgi_temp_path {dir}/fastcgi_temp;
    uwsgi_temp_path {dir}/uwsgi_temp;
    scgi_temp_path {dir}/scgi_temp;
    types {{ application/octet-stream bin; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
"""

# One persistent connection that asks for /f0.bin, /f1.bin, ... in turn.
WRK_SCRIPT = """
local n, i = {files}, -1
request = function()
  i = (i + 1) % n
  return wrk.format("GET", "/f" .. i .. ".bin")
end
"""


def write_file_set(root, size, files):
    """`files` files of `size` bytes of random content under `root`: nginx's document root."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (root / f"f{i}.bin").write_bytes(os.urandom(size))


def parse_wrk(output):
    """(requests/s, requests, median latency us) of a `wrk --latency` run."""
    rate = re.search(r"^Requests/sec:\s*([\d.]+)", output, re.M)
    total = re.search(r"^\s*(\d+) requests in", output, re.M)
    p50 = re.search(r"^\s*50%\s+([\d.]+)(us|ms|s)\b", output, re.M)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", output)
    if errors:
        raise PeerFailed(f"wrk saw errors: {errors.group(0)}")
    if not (rate and total and p50):
        raise PeerFailed(f"wrk printed no rate or latency: {output[-1500:]}")
    scale = {"us": 1.0, "ms": 1e3, "s": 1e6}[p50.group(2)]
    return float(rate.group(1)), int(total.group(1)), float(p50.group(1)) * scale


def run_nginx(args, scratch, size, sendfile):
    port = free_port()
    root = scratch / f"root-{size}"
    conf = scratch / f"nginx-{size}-{sendfile}.conf"
    conf.write_text(NGINX_CONF.format(dir=scratch, sendfile=sendfile, port=port, root=root))
    script = scratch / "rotate.lua"
    script.write_text(WRK_SCRIPT.format(files=args.files))
    server = Process([args.nginx, "-p", scratch, "-c", conf, "-e", scratch / "error.log"], cpu=args.sender_cpu)
    try:
        wait_listening(port, server)
        client = Process([args.wrk, "-t1", "-c1", f"-d{args.seconds}s", "--latency", "-s", script,
                          f"http://127.0.0.1:{port}/"], cpu=args.receiver_cpu).wait(args.seconds + 30)
    finally:
        server.stop()
    rate, requests, p50 = parse_wrk(client.check("wrk"))
    return {"requests_per_s": rate, "p50_us": p50, "cpu_us_per_request": (client.cpu_s + server.cpu_s) * 1e6 / requests}


def run_zcbench(args, size, strategy):
    command = [args.zcbench, "run", "--workload", "file_serving", "--strategy", strategy, "--size", "64K",
               "--workload-option", "distribution=fixed", "--workload-option", f"size={size}",
               "--workload-option", f"files={args.files}", "--workload-option", "connection=persistent",
               "--socket-option", "nodelay=true", "--receiver", args.receiver, "--duration", f"{args.seconds:g}", "--sender-cpu", args.sender_cpu,
               "--receiver-cpu", args.receiver_cpu, "--file-dir", args.file_dir, "--probes", "none", "--json"]
    p = Process(command).wait(args.seconds + 120)
    out = p.check(f"zcbench file_serving {strategy}")
    record = json.loads(out[out.index("{"):])
    if record.get("status") != "ok":
        raise PeerFailed(f"zcbench file_serving {strategy}: status {record.get('status')}: {record.get('error')}")
    m = record["metrics"]
    served = m["file_serving"]
    latency = (m.get("request_response") or {}).get("latency_us") or {}
    requests = served["requests"]
    if not requests:
        raise PeerFailed(f"zcbench file_serving {strategy} served no request")
    return {"requests_per_s": served["requests_per_s"], "p50_us": latency.get("p50"),
            "cpu_us_per_request": p.cpu_s * 1e6 / requests}


def measure(args, scratch):
    rows = []
    for size in args.sizes:
        write_file_set(scratch / f"root-{size}", size_bytes(size), args.files)
        for strategy, sendfile in SERVERS:
            pairs, errors = [], []
            for i in range(args.pairs):
                order = ["zcbench", "nginx"] if i % 2 == 0 else ["nginx", "zcbench"]
                measured = {}
                try:
                    for side in order:
                        measured[side] = (run_zcbench(args, size, strategy) if side == "zcbench"
                                          else run_nginx(args, scratch, size, sendfile))
                except (PeerFailed, ValueError, KeyError) as e:
                    errors.append(str(e))
                    print(f"  {size} {strategy} pair {i + 1}: FAILED: {e}", file=sys.stderr, flush=True)
                    continue
                z, n = measured["zcbench"], measured["nginx"]
                pairs.append({"zcbench": z, "nginx": n, "ratio": z["requests_per_s"] / n["requests_per_s"]})
                print(f"  {size} {strategy} / sendfile {sendfile} pair {i + 1}: {z['requests_per_s']:.0f} / "
                      f"{n['requests_per_s']:.0f} req/s = {pairs[-1]['ratio']:.3f}", file=sys.stderr, flush=True)
            rows.append({"size": size, "strategy": strategy, "sendfile": sendfile, "pairs": pairs, "errors": errors})
    return rows


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, spec):
    return "" if value is None else format(value, spec)


def print_table(rows):
    print("| file size | zcbench | nginx | pairs | zcbench req/s | nginx req/s | ratio (min-max) "
          "| zcbench p50 us | nginx p50 us | zcbench CPU us/req | nginx CPU us/req |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        p = r["pairs"]
        if not p:
            print(f"| {r['size']} | `{r['strategy']}` | sendfile {r['sendfile']} | 0 | | | every pair failed: "
                  f"{(r['errors'] or ['?'])[0][:200]} | | | | |")
            continue
        ratios = [x["ratio"] for x in p]
        z = lambda k: med([x["zcbench"][k] for x in p])  # noqa: E731
        n = lambda k: med([x["nginx"][k] for x in p])  # noqa: E731
        print(f"| {r['size']} | `{r['strategy']}` | sendfile {r['sendfile']} | {len(p)} "
              f"| {fmt(z('requests_per_s'), '.0f')} | {fmt(n('requests_per_s'), '.0f')} "
              f"| {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) "
              f"| {fmt(z('p50_us'), '.1f')} | {fmt(n('p50_us'), '.1f')} "
              f"| {fmt(z('cpu_us_per_request'), '.1f')} | {fmt(n('cpu_us_per_request'), '.1f')} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zcbench", default=str(REPO / "build" / "harness" / "zcbench"))
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--sizes", default="4K,64K,1M", help="file sizes, comma-separated (K, M suffixes)")
    ap.add_argument("--files", type=int, default=8, help="files per size (served in turn)")
    ap.add_argument("--sender-cpu", type=int, default=0)
    ap.add_argument("--receiver-cpu", type=int, default=1 if (os.cpu_count() or 1) > 1 else 0)
    ap.add_argument("--file-dir", default="/dev/shm", help="where both file sets go (default /dev/shm: warm cache)")
    ap.add_argument("--receiver", choices=["read", "verify"], default="read",
                    help="zcbench's client: read (reads each file, as wrk does; default) or verify (checks every byte)")
    ap.add_argument("--json", help="also write every pair to this file")
    args = ap.parse_args()
    if not 1 <= args.pairs <= 100:
        ap.error("--pairs must be 1 to 100")
    if not 1 <= args.seconds <= 120:
        ap.error("--seconds must be 1 to 120")
    if not 1 <= args.files <= 10000:
        ap.error("--files must be 1 to 10000")
    try:
        args.sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
        if not args.sizes or any(size_bytes(s) <= 0 or size_bytes(s) > (1 << 30) for s in args.sizes):
            raise ValueError
    except ValueError:
        ap.error("--sizes must be sizes of 1 byte to 1G such as 4K,64K,1M")
    for what, path in (("--zcbench", args.zcbench), ("--nginx", args.nginx), ("--wrk", args.wrk)):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            ap.error(f"{what} {path} is not an executable file (nginx: apt-get install nginx-light; "
                     "wrk: apt-get install wrk; zcbench: ninja -C build zcbench)")
    if not os.path.isdir(args.file_dir):
        ap.error(f"--file-dir {args.file_dir} is not a directory")
    print(f"# zcbench file_serving vs nginx + wrk: loopback, one persistent connection, {args.files} files per "
          f"size, {args.seconds} s runs, {args.pairs} alternating pairs, zcbench receiver {args.receiver}, "
          f"server on CPU {args.sender_cpu}, "
          f"client on CPU {args.receiver_cpu}, files in {args.file_dir}")
    print("ratio: zcbench requests/s over nginx's; CPU: user+system of all the run's processes (wait4 rusage)\n",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="zcb-nginx-", dir=args.file_dir) as scratch:
        Process.scratch_dir = scratch
        rows = measure(args, pathlib.Path(scratch))
    print_table(rows)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if all(r["pairs"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
