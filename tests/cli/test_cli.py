"""The zcbench CLI's contract: exit codes (0 ok, 1 trial failed, 2 bad usage), messages
that name what to fix, and `--json` printing exactly the trial record."""
import json
import pathlib

import pytest


def test_json_prints_exactly_one_record_with_exact_bytes(zcbench):
    r = zcbench("run", "--strategy", "write", "--bytes", "1000003", "--size", "4K", "--json")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["schema"] == "zcbench.trial/2"
    assert record["status"] == "ok"
    m = record["metrics"]
    assert m["bytes_sent"] == m["bytes_received"] == 1000003
    assert m["integrity"] == {"mode": "verify", "verified_bytes": 1000003, "mismatches": 0, "first_mismatch_offset": None}
    for key in ("ns_per_kib", "trial_s", "sender_thread_s", "receiver_thread_s", "io_workers_s", "softirq_outside_threads_s"):
        assert key in m["cpu"], key
    for key in ("user_s", "system_s", "softirq_s", "irq_s", "idle_s", "busy_s", "ns_per_kib"):
        assert key in m["cpu"]["system_wide"], key
    assert record["params"]["message_size"] == 4096


def test_sendfile_just_works_with_its_default_source(zcbench):
    r = zcbench("run", "--strategy", "sendfile", "--bytes", "1M", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["params"]["source"] == "file"


def test_human_summary_is_a_table(zcbench):
    r = zcbench("run", "-s", "write,sendfile", "-n", "2M", "--receiver", "discard")
    assert r.returncode == 0, r.stderr
    assert "goodput" in r.stdout.splitlines()[0]
    assert any(line.startswith("sendfile") for line in r.stdout.splitlines())


def test_udp_summary_shows_datagrams_and_loss(zcbench):
    r = zcbench("run", "--protocol", "udp", "-s", "sendto,sendmmsg", "--size", "1472", "-n", "1M", "--rate", "500M")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "datagrams recv/sent" in lines[0] and "lost" in lines[0]
    rows = [line for line in lines if line.startswith(("sendto", "sendmmsg"))]
    assert len(rows) == 2
    # 1 MiB in 1472-byte datagrams: 713 sent (the last one shorter).
    assert all("/713" in row and "%" in row for row in rows), rows


def test_default_size_is_per_protocol(zcbench):
    # 64 KiB per send for TCP; for UDP a 1472-byte datagram (a 64 KiB one does not exist).
    tcp = zcbench("run", "--strategy", "write", "--bytes", "1M", "--json")
    udp = zcbench("run", "--protocol", "udp", "--strategy", "sendto", "--bytes", "14720", "--json")
    assert tcp.returncode == 0 and udp.returncode == 0, tcp.stderr + udp.stderr
    assert json.loads(tcp.stdout)["params"]["message_size"] == 65536
    assert json.loads(udp.stdout)["params"]["message_size"] == 1472


def test_a_window_too_short_for_proc_stat_has_a_trial_cpu_figure_but_no_system_wide_one(zcbench):
    r = zcbench("run", "--strategy", "write", "--bytes", "64K", "--json")
    assert r.returncode == 0, r.stderr
    cpu = json.loads(r.stdout)["metrics"]["cpu"]
    # The trial's figure comes from nanosecond thread clocks: a 64 KiB trial has one.
    assert cpu["ns_per_kib"] > 0
    assert cpu["ns_per_kib"] == pytest.approx(cpu["trial_s"] * 1e9 / 64)
    # netperf's /proc/stat figure cannot resolve a window of a few ticks, and says so.
    system = cpu["system_wide"]
    assert system["ns_per_kib"] is None
    assert "ticks" in system["ns_per_kib_reason"]
    assert system["tick_s"] > 0


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--strategy", "nosuch", "-n", "1M"], "unknown strategy 'nosuch'"),
        (["--strategy", "write", "--size", "0", "-n", "1M"], "at least 1 byte"),
        (["--strategy", "write", "--size", "12Q", "-n", "1M"], "--size 12Q"),
        (["--strategy", "write", "-n", "1M", "-t", "1"], "exactly one of --duration"),
        (["--strategy", "write"], "exactly one of --duration"),
        (["--strategy", "write", "-n", "1M", "-o", "gift=true"], "has no option"),
        (["--strategy", "write", "-n", "1M", "-o", "novalue"], "expected key=value"),
        (["--strategy", "sendfile", "--source", "memory", "-n", "1M"], "cannot send from a memory source"),
        (["--strategy", "write", "-n", "1M", "--receiver", "psychic"], "expected verify, read, discard"),
        (["--strategy", "write", "-n", "1M", "--path", "nowhere"], "unknown path 'nowhere'"),
        (["--protocol", "udp", "-s", "sendto", "--size", "64K", "-n", "1M"], "use --size 65507 or less"),
        (["--protocol", "udp", "-s", "udp_gso", "--size", "65508", "-n", "1M"], "use --size 65507 or less"),
        (["--strategy", "write", "-n", "1M", "--source", "file"], "cannot send from a file source"),
        (["--strategy", "mmap_write", "-n", "1M", "-o", "mode=window", "-o", "window=0"], "window=0: expected a size of at least 1"),
        (["--strategy", "mmap_write", "-n", "1M", "-o", "window=1M"], "applies to mode=window only"),
        (["--strategy", "msg_zerocopy", "-n", "1M", "-o", "max_inflight=0"], "max_inflight=0: expected 1 to 1048576"),
        (["--strategy", "splice", "-n", "1M", "-o", "pipe_size=2G"], "pipe_size=2G: expected 4K to 1G bytes"),
        (["--strategy", "io_uring_send", "-n", "1M", "-o", "depth=4", "-o", "batch=8"], "expected 1 to the depth (4)"),
        (["--strategy", "msg_zerocopy", "-n", "1M", "-o", "segment=1000"], "UDP_SEGMENT is for UDP"),
        (["--protocol", "udp", "--strategy", "sendmmsg", "-n", "1M", "-o", "batch=0"], "batch=0: expected 1 to 1024"),
        (["--strategy", "write", "-n", "1M", "--socket-option", "sndbuff=1M"],
         "unknown socket option 'sndbuff'; known: sndbuf, rcvbuf, nodelay, congestion, busy_poll"),
        (["--strategy", "write", "-n", "1M", "--socket-option", "sndbuf=lots"], "'lots' is not a size"),
        (["--strategy", "write", "-n", "1M", "--socket-option", "nodelay=maybe"], "'maybe' is not true or false"),
        (["--strategy", "write", "-n", "1M", "--socket-option", "congestion=zcb_none"],
         "not a congestion control this kernel allows; allowed: "),
        (["--protocol", "udp", "-s", "sendto", "-n", "1M", "--socket-option", "nodelay=true"],
         "nodelay: a TCP socket option; leave it out for --protocol udp"),
        (["--strategy", "write", "-n", "1M", "--streams", "0"],
         "streams '0': expected a number of parallel streams from 1 to 1024"),
        (["--strategy", "write", "-n", "1M", "-P", "1025"],
         "streams '1025': expected a number of parallel streams from 1 to 1024"),
        (["--strategy", "write", "-n", "1M", "-P", "2", "--stream-cpus", "everywhere"],
         "stream_cpus 'everywhere': expected spread or same"),
    ],
)
def test_bad_input_is_exit_2_with_a_clear_message(zcbench, args, expected):
    r = zcbench("run", *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert expected in r.stderr, r.stderr


def test_unknown_flag_is_exit_2(zcbench):
    r = zcbench("run", "--strategy", "write", "--bogus")
    assert r.returncode == 2


def test_list_strategies_shows_availability(zcbench):
    r = zcbench("list", "strategies")
    assert r.returncode == 0
    header, *rows = r.stdout.splitlines()
    assert "available" in header
    names = [row.split()[0] for row in rows if row and not row.startswith(" ")]
    for name in ("write", "writev", "sendfile"):
        assert name in names


def test_help_strategy_lists_options(zcbench):
    r = zcbench("help", "sendfile")
    assert r.returncode == 0
    assert "header" in r.stdout and "cork" in r.stdout
    r = zcbench("help", "nosuch")
    assert r.returncode == 2
    assert "not a strategy" in r.stderr and "sendfile" in r.stderr and "veth" in r.stderr


def test_list_workloads_and_help_describe_each_registered_workload(zcbench):
    r = zcbench("list", "workloads")
    assert r.returncode == 0, r.stderr
    header, *rows = r.stdout.splitlines()
    assert header.split()[:3] == ["name", "proto", "sources"], header
    names = [row.split()[0] for row in rows if row.strip()]
    assert names, r.stdout
    for name in names:
        described = zcbench("help", name)
        assert described.returncode == 0, described.stderr
        assert described.stdout.startswith(f"workload {name}: "), described.stdout
        assert "Strategies that can serve it: " in described.stdout
    r = zcbench("help", "nosuch")
    assert r.returncode == 2
    assert f"a workload ({', '.join(names)})" in r.stderr, r.stderr


def test_workload_flag_is_accepted_and_recorded(zcbench):
    r = zcbench("run", "--strategy", "write", "--workload", "bulk", "--bytes", "1M", "--json")
    assert r.returncode == 0, r.stderr
    record = json.loads(r.stdout)
    assert record["status"] == "ok", record["error"]
    assert record["params"]["workload"] == "bulk"
    # bulk has no options: none given, none resolved.
    assert record["params"]["workload_options"] == {}
    assert record["params"]["workload_option_values"] == {}
    assert record["metrics"]["integrity"]["verified_bytes"] == 1 << 20


def test_an_unknown_workload_is_exit_2_naming_the_valid_ones(zcbench):
    names = [row.split()[0] for row in zcbench("list", "workloads").stdout.splitlines()[1:] if row.strip()]
    r = zcbench("run", "--strategy", "write", "--workload", "nosuch", "--bytes", "1M")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "--workload nosuch: unknown workload 'nosuch'; valid workloads: " + ", ".join(names) in r.stderr, r.stderr


def test_a_workload_option_the_workload_does_not_declare_is_exit_2_naming_the_workload(zcbench):
    r = zcbench("run", "--strategy", "write", "--bytes", "1M", "--workload-option", "files=3")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "workload bulk has no options (got files=3)" in r.stderr, r.stderr
    r = zcbench("run", "--strategy", "write", "--bytes", "1M", "--workload-option", "novalue")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "--workload-option novalue: 'novalue': expected key=value" in r.stderr, r.stderr


def test_help_workload_names_the_workload_option_flag(zcbench):
    r = zcbench("help", "bulk")
    assert r.returncode == 0, r.stderr
    assert "Options: none" in r.stdout, r.stdout
    assert "Expects at the receiver: " in r.stdout, r.stdout
    r = zcbench("help", "parameters")
    assert "--workload-option" in r.stdout and "workload_options" in r.stdout, r.stdout
    assert "--workload " in r.stdout, r.stdout


def test_help_probes_lists_every_ebpf_group_with_its_default_and_cost(zcbench):
    r = zcbench("help", "probes")
    assert r.returncode == 0, r.stderr
    for group in ("tlb_flush", "ipi", "page_faults", "net_traffic", "softirq_time", "xmit_devices"):
        lines = [line for line in r.stdout.splitlines() if line.split()[:1] == [group]]
        assert len(lines) == 1, (group, r.stdout)
        assert lines[0].split()[1] in ("default", "off"), lines[0]
    # One cost per eBPF group, and the CPU profile's.
    assert r.stdout.count("cost: ") == 7
    assert "xmit_devices  off" in r.stdout
    assert "bpf_stats" in r.stdout


def test_probe_selection_errors_name_the_groups(zcbench):
    r = zcbench("run", "-s", "write", "-n", "1M", "--probes", "net_trafic")
    assert r.returncode == 2, r.stderr
    assert "net_trafic" in r.stderr and "net_traffic" in r.stderr and "help probes" in r.stderr


def test_help_describes_paths_and_commands(zcbench):
    r = zcbench("help", "shaped")
    assert r.returncode == 0
    assert "--path-option" in r.stdout and "preset" in r.stdout
    r = zcbench("help", "run")
    assert r.returncode == 0
    assert "--dry-run" in r.stdout and "--resume" in r.stdout


# The flags of `zcbench run` that are not trial parameters: how the run reports and
# where it writes, and the spec run's own controls.
RUN_CONTROL_FLAGS = {"--help", "-h", "--json", "--clean", "--out", "--dry-run", "--resume", "--fail-fast", "--quick"}


def _table_flags(zcbench):
    """The flags `zcbench help parameters` lists: the parameter table's."""
    r = zcbench("help", "parameters")
    assert r.returncode == 0, r.stderr
    flags = []
    for line in r.stdout.splitlines():
        words = line.split()
        if len(words) >= 2 and line.startswith("  ") and words[1].startswith("-"):
            flags.extend(words[1].split(","))
    return flags


def test_every_run_flag_is_a_parameter_of_the_table_or_a_run_control(zcbench):
    table = _table_flags(zcbench)
    assert len(table) == len(set(table)), "a flag declared twice in the parameter table"
    assert {"--size", "-l", "--strategy", "-s", "--profile-hz", "--gro"} <= set(table)
    r = zcbench("run", "--help")
    assert r.returncode == 0, r.stderr
    offered = set()
    for line in r.stdout.splitlines():
        words = line.strip().split()
        if words and words[0].startswith("-"):
            offered.update(w for w in words[0].split(",") if w.startswith("-"))
    assert offered - set(table) - RUN_CONTROL_FLAGS == set(), "flags of zcbench run that the parameter table does not hold"
    assert set(table) - offered == set(), "parameters of the table that zcbench run does not offer"


def test_help_parameters_names_spec_keys_defaults_and_where_they_apply(zcbench):
    r = zcbench("help", "parameters")
    assert r.returncode == 0, r.stderr
    assert "[matrix]" in r.stdout and "[trial]" in r.stdout
    assert "profile_hz" in r.stdout and "--profile-hz" in r.stdout
    assert "applies to udp only" in r.stdout  # udp_gro, drain


def test_help_socket_options_lists_each_with_its_socket_and_the_allowed_congestion_controls(zcbench):
    r = zcbench("help", "socket_options")
    assert r.returncode == 0, r.stderr
    for key, name in (("sndbuf", "SO_SNDBUF"), ("rcvbuf", "SO_RCVBUF"), ("nodelay", "TCP_NODELAY"),
                      ("congestion", "TCP_CONGESTION"), ("busy_poll", "SO_BUSY_POLL")):
        line = next((l for l in r.stdout.splitlines() if l.split()[:2] == [key, name]), None)
        assert line is not None, r.stdout
    assert "congestion controls allowed here: " in r.stdout
    assert "--socket-option" in zcbench("help", "parameters").stdout


def test_socket_options_are_recorded_as_asked_and_as_applied(zcbench):
    r = zcbench("run", "-s", "write", "-n", "1M", "--json", "--socket-option", "sndbuf=1M",
                "--socket-option", "nodelay=true", "--socket-option", "rcvbuf=256K")
    assert r.returncode == 0, r.stderr
    record = json.loads(r.stdout)
    options = record["params"]["socket_options"]
    assert set(options) == {"sndbuf", "nodelay", "rcvbuf"}
    wmem_max = int(pathlib.Path("/proc/sys/net/core/wmem_max").read_text())
    assert options["sndbuf"]["asked"] == 1 << 20
    assert options["sndbuf"]["applied"] == 2 * min(1 << 20, wmem_max)
    assert options["nodelay"] == {"asked": True, "applied": True, "socket": "sender", "option": "TCP_NODELAY",
                                  "source": "getsockopt(TCP_NODELAY) on the sending socket"}
    assert options["rcvbuf"]["socket"] == "receiver"
    assert record["point"].endswith(",sock.nodelay=true,sock.rcvbuf=262144,sock.sndbuf=1048576")


def test_out_records_a_command_line_run_like_a_spec_run(zcbench, tmp_path):
    out = tmp_path / "run"
    r = zcbench("run", "-s", "write", "-n", "256K", "--json", "--out", str(out))
    assert r.returncode == 0, r.stderr
    printed = [json.loads(line) for line in r.stdout.strip().splitlines()]
    assert len(printed) == 1
    stored = [json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()]
    assert stored == printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["state"] == "complete"
    assert manifest["counts"]["ok"] == 1
    assert manifest["plan"]["points"][0]["point"] == printed[0]["point"]


@pytest.mark.parametrize(
    "args,expected,code",
    [
        # usage errors found outside the parameter table: the kind of the error decides
        (["run", "--resume", "no-such-run-folder"], "no such run folder", 2),
        (["run"], "--strategy: no strategy given", 2),
        (["serve", "--token-file", "t", "--data-port", "70000"], "--data-port 70000: expected 0 to 65535", 2),
        (["serve", "--token-file", "t", "--listen", "[::1"], "expected [IPv6]:PORT", 2),
        (["serve", "--token-file", "no-such-token-file"], "token file no-such-token-file", 2),
        (["serve", "--token-file", "t", "--max-pending", "0"], "--max-pending 0: expected at least 1", 2),
        (["serve", "--token-file", "t", "--handshake-timeout", "0"], "--handshake-timeout 0: expected a positive", 2),
    ],
)
def test_the_error_kind_decides_the_exit_code(zcbench, args, expected, code):
    r = zcbench(*args)
    assert r.returncode == code, (r.stdout, r.stderr)
    assert expected in r.stderr, r.stderr


def test_out_into_a_folder_with_results_is_a_usage_error(zcbench, tmp_path):
    (tmp_path / "trials.jsonl").write_text("{}\n")
    r = zcbench("run", "--strategy", "write", "--bytes", "1M", "--out", str(tmp_path))
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "exists and is not empty" in r.stderr, r.stderr


def test_streams_run_and_show_in_help(zcbench):
    """--streams N (iperf3 -P): N verified streams in one record, the per-stream figures in
    metrics.streams; the table's help lists the flag and the CPU placement."""
    r = zcbench("run", "--strategy", "write", "--bytes", "1M", "-P", "2", "--json")
    assert r.returncode == 0, r.stderr
    record = json.loads(r.stdout)
    assert record["params"]["streams"] == 2 and record["params"]["stream_cpus"] == "spread"
    assert record["point"].endswith(",streams=2")
    per_stream = record["metrics"]["streams"]["per_stream"]
    assert [s["bytes_received"] for s in per_stream] == [1 << 20, 1 << 20]
    assert record["metrics"]["bytes_received"] == 2 << 20
    help_text = zcbench("help", "parameters").stdout
    assert "--streams,-P" in help_text and "--stream-cpus" in help_text
