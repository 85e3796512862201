"""What a zcbench run created and has not removed: its zcb-<pid>- namespaces, links and
qdiscs (in this namespace) and cgroups, each as "kind name" for assertion messages."""
import os
import subprocess


def objects_of(pid):
    """The zcb- namespaces, links and qdiscs (in this namespace) and cgroups of run `pid`."""
    prefix = f"zcb-{pid}-"
    found = []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    found += [f"namespace {line.split()[0]}" for line in netns.splitlines() if line.startswith(prefix)]
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    found += [f"link {line}" for line in links.splitlines() if prefix in line]
    qdiscs = subprocess.run(["tc", "qdisc", "show"], capture_output=True, text=True).stdout
    found += [f"qdisc {line}" for line in qdiscs.splitlines() if prefix in line]
    for root, dirs, _ in os.walk("/sys/fs/cgroup"):
        for d in list(dirs):
            if d.startswith(prefix):
                found.append(f"cgroup {root}/{d}")
                dirs.remove(d)
        if root.count("/") > 8:  # zcbench's cgroups sit near the top of each hierarchy
            dirs.clear()
    return found
