#!/usr/bin/python3
"""Is zcbench ever the bottleneck? Side by side with the peers that do the same thing.

Each row pairs one zcbench configuration with the peer program that does the same
system calls (same message size, same receiver: MSG_TRUNC receivers against zcbench's
`discard`, copying receivers against `read`, and the receiver's low-water mark as the
peer's receiver sets it: SO_RCVLOWAT 64 KiB as the msg_zerocopy selftest's, none (1 byte)
as liburing's send-zerocopy's, netperf's, iperf3's and neper's), runs the two alternately
(the first of each pair alternates too, so that drift favours neither) on loopback with
the same pinning (sender on --sender-cpu, receiver on --receiver-cpu), and prints per row
the median goodput ratio zcbench / peer with its range over the pairs, and the CPU cost
per KiB of both sides.

CPU per KiB is measured the same way for both: the user + system time of every process of
the run, from wait4()'s rusage (zcbench: its one process, sender and receiver threads;
a peer: its client and its server), divided by the KiB the run delivered. Unlike the
system-wide /proc/stat it is not disturbed by other work on the machine, and like it, it
includes the softirq work the kernel runs on the processes' stacks (on loopback, nearly
all of the receive path); softirq work in ksoftirqd is missed by both sides alike. It
also includes each program's set-up and tear-down, which for zcbench includes its probes
of the machine.

Goodput is what each program reports: zcbench its record's goodput_bps (bytes received over
the measured window), iperf3 and neper the receiver's rate, netperf its throughput,
liburing's send-zerocopy and the msg_zerocopy selftest the bytes sent over their run time
(they print no receiver rate; every byte they send is received).

Peers are found in --peer-dir, then on PATH, or at the path given for each (--iperf3,
--netperf, --netserver, --neper, --send-zerocopy, --msg-zerocopy). A missing peer is
reported and its rows are skipped; nothing is estimated for it. How to build each peer
is in the README (section "Peers").

Congestion control: every program here leaves it at the host's default
(net.ipv4.tcp_congestion_control), which the output names. It matters on loopback: BBR
paces each connection itself with an hrtimer (loopback has no fq qdisc to do it), and its
bandwidth model then sets the rate, while cubic and reno send as fast as the CPUs allow.
--congestion NAME (root) runs every program of the table inside a network namespace of
this script's own whose default is NAME (a namespace may choose among
net.ipv4.tcp_allowed_congestion_control), and removes the namespace at the end.

Usage: workloads/bench/peers.py [--pairs 7] [--seconds 3] [--only SUBSTRING] [--congestion NAME] [--json FILE]
"""
import argparse
import contextlib
import ctypes
import json
import os
import pathlib
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
TARGET_GOODPUT = 0.97
TARGET_CPU = 1.03


class PeerFailed(RuntimeError):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A started program whose rusage is collected with wait4 when it ends."""

    # Where the programs run: neper writes a log file into its working directory.
    scratch_dir = None

    def __init__(self, args, cpu=None, env=None):
        self.args = [str(a) for a in args]
        if cpu is not None:
            self.args = ["taskset", "-c", str(cpu)] + self.args
        self.out = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(self.args, stdout=self.out, stderr=subprocess.STDOUT, text=True,
                                     cwd=Process.scratch_dir, env=env)
        self.status = None
        self.cpu_s = 0.0

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid == self.proc.pid:
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                self.status = self.proc.returncode
                self.cpu_s = usage.ru_utime + usage.ru_stime
                return self
            if time.monotonic() > deadline:
                self.proc.kill()
                timeout = 5
                deadline = time.monotonic() + timeout
                self.status = "timeout"
            time.sleep(0.02)

    def stop(self):
        """Ends a server that does not exit by itself (our own process, by its pid)."""
        if self.proc.returncode is None:
            self.proc.terminate()
        return self.wait(10)

    def output(self):
        self.out.seek(0)
        return self.out.read()

    def check(self, what):
        if self.status != 0:
            raise PeerFailed(f"{what} ({' '.join(self.args)}) ended with {self.status}: {self.output()[-2000:]}")
        return self.output()


def wait_listening(port, server, timeout=5.0):
    """Waits (bounded) until something listens on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise PeerFailed(f"server {' '.join(server.args)} exited early: {server.output()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise PeerFailed(f"nothing listens on port {port} after {timeout} s")


def wait_for_bind(server, delay=0.3):
    # Servers whose only connection must be the test's (a probe connection would be
    # taken as the test): give them a moment, then check that they still run.
    time.sleep(delay)
    if server.proc.poll() is not None:
        raise PeerFailed(f"server {' '.join(server.args)} exited early: {server.output()[-2000:]}")


CONGESTION_SYSCTL = "/proc/sys/net/ipv4/tcp_congestion_control"
CLONE_NEWNET = 0x40000000


def congestion_control():
    """The default congestion control of the network namespace this script is in."""
    return pathlib.Path(CONGESTION_SYSCTL).read_text().strip()


def _setns(fd):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def congestion_namespace(name):
    """Runs the body (and every program it starts) in a new network namespace whose
    loopback is up and whose default congestion control is `name`; removes it after."""
    ns = f"zcb-peers-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True, timeout=30)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            _setns(target)  # this script is single-threaded: the whole process moves
        finally:
            os.close(target)
        try:
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True, timeout=30)
            # getaddrinfo(AI_ADDRCONFIG), as netperf calls it, finds no IPv4 "configured"
            # where 127.0.0.1 is the only address: one of the project's test range on lo.
            subprocess.run(["ip", "addr", "add", "198.18.255.254/32", "dev", "lo"], check=True,
                           capture_output=True, timeout=30)
            try:
                pathlib.Path(CONGESTION_SYSCTL).write_text(name)
            except OSError as e:
                allowed = pathlib.Path("/proc/sys/net/ipv4/tcp_allowed_congestion_control").read_text().split()
                raise SystemExit(f"--congestion {name}: the namespace refused it ({e.strerror}); a namespace may "
                                 f"choose among net.ipv4.tcp_allowed_congestion_control: {' '.join(allowed)}")
            if congestion_control() != name:
                raise SystemExit(f"--congestion {name}: the namespace reads back {congestion_control()}")
            yield ns
        finally:
            _setns(home)
    finally:
        os.close(home)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


# ---- one measurement of each program: returns (goodput bit/s, bytes delivered, CPU s) ----

def run_zcbench(cfg, row):
    z = row["zcbench"]
    args = [cfg.zcbench, "run", "--strategy", z["strategy"], "--size", z["size"], "--receiver", z["receiver"],
            "--duration", f"{cfg.seconds:g}", "--sender-cpu", cfg.sender_cpu, "--receiver-cpu", cfg.receiver_cpu, "--json"]
    for k, v in z.get("options", {}).items():
        args += ["--option", f"{k}={v}"]
    if z.get("rcvlowat") and cfg.zcbench_has_rcvlowat:
        args += ["--rcvlowat", z["rcvlowat"]]
    args += ["--file-dir", cfg.file_dir]  # used by the strategies that send from a file
    for a in cfg.zcbench_extra:
        args += [a, z["size"]] if a == "--working-set" else [a]
    p = Process(args).wait(cfg.seconds + 120)
    out = p.check(f"zcbench {z['strategy']}")
    record = json.loads(out[out.index("{"):])
    if record.get("status") != "ok":
        raise PeerFailed(f"zcbench {z['strategy']}: status {record.get('status')}: {record.get('error')}")
    m = record["metrics"]
    return m["goodput_bps"], m["bytes_received"], p.cpu_s


def run_iperf3(cfg, peer, size, zerocopy=False):
    port = free_port()
    server = Process([peer["iperf3"], "-s", "-1", "-p", port, "-B", "127.0.0.1"], cpu=cfg.receiver_cpu)
    wait_for_bind(server)
    args = [peer["iperf3"], "-c", "127.0.0.1", "-p", port, "-t", f"{cfg.seconds:g}", "-l", size, "-J"]
    if zerocopy:
        args.append("-Z")
    # iperf3 sends from a temporary file in $TMPDIR: the file system zcbench's file is on.
    client = Process(args, cpu=cfg.sender_cpu, env=dict(os.environ, TMPDIR=cfg.file_dir)).wait(cfg.seconds + 60)
    server.wait(30)
    result = json.loads(client.check("iperf3 client"))
    server.check("iperf3 server")
    received = result["end"]["sum_received"]
    return received["bits_per_second"], received["bytes"], client.cpu_s + server.cpu_s


def run_netperf(cfg, peer, size):
    port = free_port()
    # -D: stay in the foreground, -f: no child per test, so that wait4 sees all its CPU.
    server = Process([peer["netserver"], "-D", "-f", "-L", "127.0.0.1", "-p", port], cpu=cfg.receiver_cpu)
    try:
        wait_listening(port, server)
        client = Process([peer["netperf"], "-H", "127.0.0.1", "-p", port, "-l", f"{cfg.seconds:g}", "-t", "TCP_STREAM",
                          "-P", "0", "--", "-m", size_bytes(size)], cpu=cfg.sender_cpu).wait(cfg.seconds + 60)
    finally:
        server.stop()
    out = client.check("netperf")
    # "recv-socket send-socket message-size elapsed-s throughput(10^6 bit/s)"
    fields = out.strip().splitlines()[-1].split()
    elapsed, mbps = float(fields[3]), float(fields[4])
    return mbps * 1e6, mbps * 1e6 / 8 * elapsed, client.cpu_s + server.cpu_s


def run_neper(cfg, peer, size, zerocopy=False):
    control, data = free_port(), free_port()
    common = ["-C", control, "-P", data, "-l", int(cfg.seconds), "-B", size_bytes(size)]
    server = Process([peer["neper"]] + common, cpu=cfg.receiver_cpu)
    wait_listening(control, server)
    args = [peer["neper"], "-c", "-H", "127.0.0.1"] + common + (["-Z"] if zerocopy else [])
    client = Process(args, cpu=cfg.sender_cpu).wait(cfg.seconds + 60)
    server.wait(30)
    out = client.check("neper tcp_stream client")
    server.check("neper tcp_stream server")
    bps = float(re.search(r"^remote_throughput=(\d+)", out, re.M).group(1))
    return bps, bps / 8 * int(cfg.seconds), client.cpu_s + server.cpu_s


def run_send_zerocopy(cfg, peer, size, zc, fixed, nr):
    port = free_port()
    seconds = int(cfg.seconds)
    common = ["-4", "-p", port, "-D", "127.0.0.1", "-t", seconds]
    server = Process([peer["send-zerocopy"], "-R", "-C", cfg.receiver_cpu] + common + ["tcp"])
    wait_for_bind(server)
    client = Process([peer["send-zerocopy"], "-C", cfg.sender_cpu] + common +
                     ["-z", zc, "-b", fixed, "-n", nr, "-s", size_bytes(size), "tcp"]).wait(seconds + 60)
    server.wait(30)
    out = client.check("send-zerocopy")
    m = re.search(r"packets=\d+ \(MB=(\d+)\), rps=\d+ \(MB/s=(\d+)\)", out)
    if not m:
        raise PeerFailed(f"send-zerocopy printed no rate: {out[-500:]}")
    return int(m.group(2)) * (1 << 20) * 8, int(m.group(1)) << 20, client.cpu_s + server.cpu_s


def run_msg_zerocopy(cfg, peer, size, zerocopy):
    port = free_port()
    seconds = int(cfg.seconds)
    # -p before -D: the selftest builds the address when it parses -D.
    common = ["-4", "-p", port, "-D", "127.0.0.1", "-t", seconds, "-s", size_bytes(size)]
    server = Process([peer["msg_zerocopy"], "-r", "-C", cfg.receiver_cpu] + common + ["tcp"])
    wait_for_bind(server)
    client = Process([peer["msg_zerocopy"], "-C", cfg.sender_cpu] + common + (["-z"] if zerocopy else []) + ["tcp"])
    client.wait(seconds + 60)
    server.wait(30)
    out = client.check("msg_zerocopy sender")
    server.check("msg_zerocopy receiver")
    m = re.search(r"tx=\d+ \((\d+) MB\)", out)
    if not m:
        raise PeerFailed(f"msg_zerocopy printed no byte count: {out[-500:]}")
    sent = int(m.group(1)) << 20
    runtime = 0.2 + seconds  # the selftest sends for 200 ms + -t seconds
    return sent * 8 / runtime, sent, client.cpu_s + server.cpu_s


def size_bytes(size):
    s = str(size).upper()
    scale = {"K": 1 << 10, "M": 1 << 20}.get(s[-1], 1)
    return int(s.rstrip("KM")) * scale


# ---- the rows ----

def rows():
    """(zcbench strategy, size, receiver, options; peer label, peer programs, peer run).

    A receiver given as "discard rcvlowat=1" runs zcbench's discard with --rcvlowat 1:
    send-zerocopy's receiver sets no low-water mark and wakes for every byte that comes."""
    send_zc, mzc = run_send_zerocopy, run_msg_zerocopy
    no_mark = "discard rcvlowat=1"
    table = [
        # The rows of the issue, where zcbench was behind.
        ("io_uring_send", "64K", no_mark, {}, "send-zerocopy -z0 -n1", ["send-zerocopy"],
         lambda c, p: send_zc(c, p, "64K", 0, 0, 1)),
        ("io_uring_send", "64K", no_mark, {"batch": 8}, "send-zerocopy -z0 -n8", ["send-zerocopy"],
         lambda c, p: send_zc(c, p, "64K", 0, 0, 8)),
        ("io_uring_send_zc", "64K", no_mark, {"fixed_buffers": "true"}, "send-zerocopy -z1 -b1 -n1",
         ["send-zerocopy"], lambda c, p: send_zc(c, p, "64K", 1, 1, 1)),
        ("io_uring_send_zc", "64K", no_mark, {"fixed_buffers": "true", "batch": 8}, "send-zerocopy -z1 -b1 -n8",
         ["send-zerocopy"], lambda c, p: send_zc(c, p, "64K", 1, 1, 8)),
        ("write", "65435", "discard", {}, "msg_zerocopy selftest", ["msg_zerocopy"],
         lambda c, p: mzc(c, p, "65435", False)),
        ("write", "4K", "read", {}, "netperf TCP_STREAM -m 4096", ["netperf", "netserver"],
         lambda c, p: run_netperf(c, p, "4K")),
        # The rows zcbench already won.
        ("write", "64K", "read", {}, "iperf3 -l 64K", ["iperf3"], lambda c, p: run_iperf3(c, p, "64K")),
        ("sendfile", "64K", "read", {}, "iperf3 -l 64K -Z", ["iperf3"], lambda c, p: run_iperf3(c, p, "64K", True)),
        ("write", "64K", "read", {}, "netperf TCP_STREAM -m 65536", ["netperf", "netserver"],
         lambda c, p: run_netperf(c, p, "64K")),
        ("write", "64K", "read", {}, "neper tcp_stream -B 65536", ["neper"], lambda c, p: run_neper(c, p, "64K")),
        ("msg_zerocopy", "64K", "read", {}, "neper tcp_stream -B 65536 -Z", ["neper"],
         lambda c, p: run_neper(c, p, "64K", True)),
        ("msg_zerocopy", "65435", "discard", {}, "msg_zerocopy selftest -z", ["msg_zerocopy"],
         lambda c, p: mzc(c, p, "65435", True)),
    ]
    out = []
    for strategy, size, receiver, options, peer, needs, run in table:
        mode, _, mark = receiver.partition(" rcvlowat=")
        zcbench = {"strategy": strategy, "size": size, "receiver": mode, "options": options, "rcvlowat": mark or None}
        name = f"{strategy} {size} {receiver}" + "".join(f" {k}={v}" for k, v in options.items())
        out.append({"name": name, "zcbench": zcbench, "peer": peer, "needs": needs, "run": run})
    return out


PEER_PROGRAMS = {  # name -> (option, file names to look for)
    "iperf3": ("--iperf3", ["iperf3"]),
    "netperf": ("--netperf", ["netperf"]),
    "netserver": ("--netserver", ["netserver"]),
    "neper": ("--neper", ["tcp_stream"]),
    "send-zerocopy": ("--send-zerocopy", ["send-zerocopy", "send_zerocopy"]),
    "msg_zerocopy": ("--msg-zerocopy", ["msg_zerocopy"]),
}


def find_peers(args):
    found, missing = {}, {}
    for name, (option, files) in PEER_PROGRAMS.items():
        given = getattr(args, option.lstrip("-").replace("-", "_"))
        candidates = [given] if given else []
        if args.peer_dir:
            candidates += [str(pathlib.Path(args.peer_dir) / f) for f in files]
        candidates += [shutil.which(f) for f in files]
        path = next((c for c in candidates if c and os.path.isfile(c) and os.access(c, os.X_OK)), None)
        if path:
            found[name] = path
        else:
            missing[name] = (f"{option} {given} is not an executable file" if given else
                             f"not found in --peer-dir or on PATH (looked for {', '.join(files)}; give {option})")
    return found, missing


def zcbench_extra_args(binary):
    """Options that keep the comparison fair, passed only where this zcbench has them."""
    help_text = subprocess.run([binary, "run", "--help"], capture_output=True, text=True, timeout=30).stdout
    extra, notes = [], []
    has_rcvlowat = "--rcvlowat" in help_text
    if not has_rcvlowat:
        notes.append("zcbench has no --rcvlowat: its discard receiver keeps its 64 KiB low-water mark where "
                     "send-zerocopy's receiver has none")
    if "--probes" in help_text:
        extra += ["--probes", "none"]  # the peers run no probes either
        notes.append("zcbench probes: none")
    if "--working-set" in help_text:
        # The peers send from one buffer of the message size (cache-resident): so does
        # zcbench (run_zcbench passes the row's message size).
        extra.append("--working-set")
        notes.append("zcbench working set: --working-set MESSAGE_SIZE (one message, as the peers)")
    else:
        notes.append("zcbench working set: its default for the memory source (no --working-set option on this build)")
    return extra, notes, has_rcvlowat


def summarize(values):
    return statistics.median(values), min(values), max(values)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zcbench", default=str(REPO / "build" / "harness" / "zcbench"))
    ap.add_argument("--peer-dir", help="directory holding the peer programs (searched before PATH)")
    for name, (option, _) in PEER_PROGRAMS.items():
        ap.add_argument(option, help=f"path of {name}")
    ap.add_argument("--pairs", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--sender-cpu", type=int, default=0)
    ap.add_argument("--receiver-cpu", type=int, default=1 if (os.cpu_count() or 1) > 1 else 0)
    ap.add_argument("--file-dir", default="/dev/shm",
                    help="where both sides' payload files go (zcbench --file-dir, iperf3's TMPDIR; default /dev/shm)")
    ap.add_argument("--congestion", metavar="NAME",
                    help="run every program in a namespace of this script's own whose default congestion control "
                         "is NAME (root; default: the host's, left as it is)")
    ap.add_argument("--only", action="append", help="run only rows whose name or peer contains this (repeatable)")
    ap.add_argument("--json", help="also write every pair and the summary to this file")
    args = ap.parse_args()
    if not 1 <= args.pairs <= 100:
        ap.error("--pairs must be 1 to 100")
    if not 1 <= args.seconds <= 120 or args.seconds != int(args.seconds):
        ap.error("--seconds must be a whole number of seconds from 1 to 120 (the selftests take whole seconds)")
    if not os.access(args.zcbench, os.X_OK):
        ap.error(f"--zcbench {args.zcbench} is not an executable file (build it: ninja -C build zcbench)")
    if shutil.which("taskset") is None:
        ap.error("taskset (util-linux) is needed to pin the peers")

    if args.congestion and os.geteuid() != 0:
        ap.error("--congestion needs root (it creates a network namespace)")
    if not os.path.isdir(args.file_dir):
        ap.error(f"--file-dir {args.file_dir} is not a directory")
    peers, missing = find_peers(args)
    args.zcbench_extra, notes, args.zcbench_has_rcvlowat = zcbench_extra_args(args.zcbench)
    selected = [r for r in rows() if not args.only or any(s in r["name"] or s in r["peer"] for s in args.only)]

    with contextlib.ExitStack() as stack:
        if args.congestion:
            stack.enter_context(congestion_namespace(args.congestion))
            notes.append(f"TCP congestion control: {congestion_control()} (--congestion, in a namespace of this script)")
        else:
            notes.append(f"TCP congestion control: {congestion_control()} (the host's default)")
        print(f"# zcbench vs peers: loopback, {args.seconds:g} s runs, {args.pairs} alternating pairs, "
              f"sender CPU {args.sender_cpu}, receiver CPU {args.receiver_cpu}")
        print("; ".join(notes) + f"; payload files of sendfile and iperf3 -Z in {args.file_dir}")
        print("CPU/KiB: user+system of all the run's processes (wait4 rusage), both sides alike")
        for name, why in missing.items():
            print(f"missing peer {name}: {why}")
        print(flush=True)
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="peers-"))
        Process.scratch_dir = scratch
        results = measure(args, selected, peers)
    all_ok = print_table(results)
    if args.json:
        out = [{"zcbench": r["row"]["zcbench"], "peer": r["row"]["peer"], "skipped": r.get("skipped"),
                "pairs": r.get("pairs", []), "errors": r.get("errors", [])} for r in results]
        pathlib.Path(args.json).write_text(json.dumps({"notes": notes, "missing": missing, "rows": out}, indent=2))
    return 0 if all_ok else 1


def measure(args, selected, peers):
    """Every selected row's alternating pairs."""
    results = []
    for row in selected:
        absent = [n for n in row["needs"] if n not in peers]
        if absent:
            results.append({"row": row, "skipped": f"peer {', '.join(absent)} missing"})
            continue
        pairs, errors = [], []
        for i in range(args.pairs):
            order = ["zcbench", "peer"] if i % 2 == 0 else ["peer", "zcbench"]
            measured = {}
            try:
                for side in order:
                    measured[side] = run_zcbench(args, row) if side == "zcbench" else row["run"](args, peers)
            except (PeerFailed, subprocess.SubprocessError, ValueError, KeyError, AttributeError) as e:
                errors.append(str(e))
                print(f"  {row['name']} pair {i + 1}: FAILED: {e}", file=sys.stderr, flush=True)
                continue
            (zg, zb, zc), (pg, pb, pc) = measured["zcbench"], measured["peer"]
            if min(zg, zb, zc, pg, pb, pc) <= 0:
                errors.append(f"a side delivered or spent nothing: zcbench {zg} bit/s {zb} B {zc} s, "
                              f"peer {pg} bit/s {pb} B {pc} s")
                print(f"  {row['name']} pair {i + 1}: FAILED: {errors[-1]}", file=sys.stderr, flush=True)
                continue
            pair = {"zcbench_bps": zg, "peer_bps": pg, "goodput_ratio": zg / pg,
                    "zcbench_ns_per_kib": zc * 1e9 / (zb / 1024), "peer_ns_per_kib": pc * 1e9 / (pb / 1024)}
            pair["cpu_ratio"] = pair["zcbench_ns_per_kib"] / pair["peer_ns_per_kib"]
            pairs.append(pair)
            print(f"  {row['name']} vs {row['peer']} pair {i + 1}: {zg / 1e9:.2f} / {pg / 1e9:.2f} Gbit/s "
                  f"= {pair['goodput_ratio']:.3f}; CPU {pair['zcbench_ns_per_kib']:.0f} / "
                  f"{pair['peer_ns_per_kib']:.0f} ns/KiB", file=sys.stderr, flush=True)
        results.append({"row": row, "pairs": pairs, "errors": errors})
    return results


def print_table(results):
    """The Markdown table; whether every row met the targets."""
    print("| zcbench | peer | pairs | zcbench Gbit/s | peer Gbit/s | goodput ratio (min-max) "
          "| zcbench ns/KiB | peer ns/KiB | CPU/KiB ratio (min-max) | target |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    all_ok = True
    for r in results:
        row = r["row"]
        z = row["zcbench"]
        label = f"`{z['strategy']}` " + row["name"][len(z["strategy"]) + 1:]
        if "skipped" in r or not r["pairs"]:
            why = r.get("skipped") or f"every pair failed: {r['errors'][0][:200]}"
            print(f"| {label} | {row['peer']} | 0 | | | skipped: {why} | | | | |")
            all_ok = False  # a row without a measurement meets no target
            continue
        p = r["pairs"]
        g = summarize([x["goodput_ratio"] for x in p])
        c = summarize([x["cpu_ratio"] for x in p])
        ok = g[0] >= TARGET_GOODPUT and c[0] <= TARGET_CPU
        all_ok &= ok
        print(f"| {label} | {row['peer']} | {len(p)} | {statistics.median(x['zcbench_bps'] for x in p) / 1e9:.2f} "
              f"| {statistics.median(x['peer_bps'] for x in p) / 1e9:.2f} | {g[0]:.2f} ({g[1]:.2f}-{g[2]:.2f}) "
              f"| {statistics.median(x['zcbench_ns_per_kib'] for x in p):.0f} "
              f"| {statistics.median(x['peer_ns_per_kib'] for x in p):.0f} | {c[0]:.2f} ({c[1]:.2f}-{c[2]:.2f}) "
              f"| {'met' if ok else 'missed'} |")
    print(f"\ntarget: goodput ratio >= {TARGET_GOODPUT}, CPU/KiB ratio <= {TARGET_CPU} (medians)")
    return all_ok


if __name__ == "__main__":
    sys.exit(main())
