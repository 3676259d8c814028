"""What the machine did during a measurement, read from /proc (Linux, stdlib only).

- snapshot() / split(): CPU time between two snapshots, split into the server
  (the gunicorn process tree), the benchmark's other processes (load generator,
  raw-insert script), PostgreSQL's processes, kernel threads and everything
  else. On a shared 2-core machine "other" is how we know a figure was
  contaminated by someone else's job.
- wait_quiet(): block until other processes use less than a threshold of CPU.
- memory(): peak (VmHWM) and current (VmRSS) resident memory of a process tree.
"""

from __future__ import annotations

import os
import pwd
import time
from typing import Any

CLK = os.sysconf("SC_CLK_TCK")
try:
    PG_UID: int | None = pwd.getpwnam("postgres").pw_uid
except KeyError:
    PG_UID = None

Procs = dict[int, tuple[int, int, int, str, int]]


def _procs() -> Procs:
    out: Procs = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                stat = fh.read()
            uid = os.stat(f"/proc/{name}").st_uid
        except OSError:
            continue
        rp = stat.rindex(")")
        comm = stat[stat.index("(") + 1 : rp]
        f = stat[rp + 2 :].split()
        # ppid, utime+stime ticks, uid, comm, starttime (tells a reused pid apart)
        out[int(name)] = (int(f[1]), int(f[11]) + int(f[12]), uid, comm, int(f[19]))
    return out


def snapshot() -> dict[str, Any]:
    return {"t": time.monotonic(), "procs": _procs()}


def _tree(procs_list: list[Procs], root: int | None) -> set[int]:
    if not root:
        return set()
    children: dict[int, set[int]] = {}
    for table in procs_list:
        for pid, rec in table.items():
            children.setdefault(rec[0], set()).add(pid)
    seen: set[int] = set()
    stack = [root]
    while stack:
        pid = stack.pop()
        if pid not in seen:
            seen.add(pid)
            stack.extend(children.get(pid, ()))
    return seen


def split(
    s0: dict[str, Any], s1: dict[str, Any], root_pid: int, server_pid: int | None = None
) -> dict[str, Any]:
    """Average cores used between two snapshots, by class, plus the top 'other' commands."""
    p0, p1 = s0["procs"], s1["procs"]
    server = _tree([p0, p1], server_pid)
    ours = _tree([p0, p1], root_pid) - server
    acc = {"server": 0, "bench": 0, "postgres": 0, "kernel": 0, "other": 0}
    top: dict[str, int] = {}
    per_server: dict[int, int] = {}
    for pid, (ppid, ticks, uid, comm, start) in p1.items():
        prev = p0.get(pid)
        delta = ticks - (prev[1] if prev and prev[4] == start else 0)
        if delta <= 0:
            continue
        if pid in server:
            cls = "server"
        elif pid in ours:
            cls = "bench"
        elif uid == PG_UID:
            cls = "postgres"
        elif ppid == 2 or pid == 2:
            cls = "kernel"
        else:
            cls = "other"
        acc[cls] += delta
        if cls == "server":
            per_server[pid] = delta
        if cls == "other":
            top[comm] = top.get(comm, 0) + delta
    wall = max(1e-6, s1["t"] - s0["t"])
    out: dict[str, Any] = {f"{k}_cores": round(v / CLK / wall, 2) for k, v in acc.items()}
    out["server_cpu_s"] = round(acc["server"] / CLK, 2)
    # master first, then workers: are all workers busy, or one?
    out["server_cores_by_pid"] = {
        str(pid): round(ticks / CLK / wall, 2) for pid, ticks in sorted(per_server.items())
    }
    out["top_other"] = [
        f"{comm} {ticks / CLK / wall:.2f}"
        for comm, ticks in sorted(top.items(), key=lambda kv: -kv[1])[:3]
    ]
    out["window_s"] = round(wall, 3)
    return out


def wait_quiet(
    root_pid: int, threshold: float, max_wait: float, window: float = 3.0, log: Any = None
) -> dict[str, Any]:
    """Wait (at most max_wait seconds) until other processes use < threshold cores."""
    started = time.monotonic()
    next_note = 0.0
    while True:
        s0 = snapshot()
        time.sleep(window)
        last = split(s0, snapshot(), root_pid)
        waited = time.monotonic() - started
        if last["other_cores"] < threshold:
            return dict(last, waited_s=round(waited, 1), quiet=True)
        if waited >= max_wait:
            return dict(last, waited_s=round(waited, 1), quiet=False)
        if log and next_note <= waited:
            next_note = waited + 60
            log(
                f"machine busy: other processes use {last['other_cores']:.2f} cores "
                f"({', '.join(last['top_other'])}); waited {waited:.0f}s of {max_wait:.0f}s"
            )


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(root_pid: int) -> dict[str, Any]:
    """Peak and current RSS (MiB) of a process and its descendants, per process and summed."""
    pids = sorted(_tree([_procs()], root_pid))
    per = []
    for pid in pids:
        hwm, rss = _status_kb(pid, "VmHWM"), _status_kb(pid, "VmRSS")
        if hwm or rss:
            per.append(
                {"pid": pid, "peak_mib": round(hwm / 1024, 1), "rss_mib": round(rss / 1024, 1)}
            )
    return {
        "processes": per,
        "peak_sum_mib": round(sum(p["peak_mib"] for p in per), 1),
        "peak_max_mib": max((p["peak_mib"] for p in per), default=0.0),
        "rss_sum_mib": round(sum(p["rss_mib"] for p in per), 1),
    }


class Tracker:
    """CPU of processes over a window, sampled so that short-lived ones count too.

    Two snapshots miss a process that starts and exits in between, and
    PostgreSQL backends come and go as Django recycles its connections
    (CONN_MAX_AGE). Call sample() every second or so: each process is counted
    from its first sight (from zero if it started inside the window) to its
    last, so at most one sampling interval of an exited process is lost.
    tag() marks pids as belonging to a named group (e.g. the backends of one
    database, from pg_stat_activity).
    """

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        procs = _procs()
        self.first = {(pid, rec[4]): rec[1] for pid, rec in procs.items()}
        self.last = dict(self.first)
        self.meta = {(pid, rec[4]): (rec[0], rec[2], rec[3]) for pid, rec in procs.items()}
        self.tags: dict[str, set[int]] = {}
        self.t1 = self.t0

    def tag(self, name: str, pids: set[int]) -> None:
        self.tags.setdefault(name, set()).update(pids)

    def sample(self) -> None:
        procs = _procs()
        self.t1 = time.monotonic()
        for pid, rec in procs.items():
            key = (pid, rec[4])
            self.first.setdefault(key, 0)
            self.last[key] = rec[1]
            self.meta[key] = (rec[0], rec[2], rec[3])

    def result(
        self, root_pid: int, bench_pid: int, exclude: set[int] | None = None
    ) -> dict[str, Any]:
        """Cores used by the tree under root_pid ("worker"), PostgreSQL (all, and the
        pids tagged "pg_db"), and everything else; pids in `exclude` count nowhere."""
        self.sample()
        wall = max(1e-6, self.t1 - self.t0)
        exclude = exclude or set()
        parents = {key[0]: meta[0] for key, meta in self.meta.items()}

        def under(pid: int, root: int) -> bool:
            for _ in range(64):
                if pid == root:
                    return True
                if pid <= 1:
                    return False
                pid = parents.get(pid, 0)
            return False

        acc = {"worker": 0, "bench": 0, "pg_all": 0, "pg_db": 0, "kernel": 0, "other": 0}
        top: dict[str, int] = {}
        worker_pids: dict[int, int] = {}
        pg_db = self.tags.get("pg_db", set())
        for key, ticks in self.last.items():
            delta = ticks - self.first.get(key, 0)
            pid = key[0]
            if delta <= 0 or pid in exclude:
                continue
            ppid, uid, comm = self.meta[key]
            if under(pid, root_pid):
                acc["worker"] += delta
                worker_pids[pid] = delta
            elif under(pid, bench_pid):
                acc["bench"] += delta
            elif uid == PG_UID:
                acc["pg_all"] += delta
                if pid in pg_db:
                    acc["pg_db"] += delta
            elif ppid == 2 or pid == 2:
                acc["kernel"] += delta
            else:
                acc["other"] += delta
                top[comm] = top.get(comm, 0) + delta
        out: dict[str, Any] = {f"{k}_cores": round(v / CLK / wall, 4) for k, v in acc.items()}
        out["worker_cpu_s"] = round(acc["worker"] / CLK, 2)
        out["pg_db_cpu_s"] = round(acc["pg_db"] / CLK, 2)
        out["worker_processes"] = len(worker_pids)
        out["pg_db_backends_seen"] = len(pg_db)
        out["top_other"] = [
            f"{comm} {ticks / CLK / wall:.2f}"
            for comm, ticks in sorted(top.items(), key=lambda kv: -kv[1])[:3]
        ]
        out["window_s"] = round(wall, 2)
        out["tick_s"] = round(1 / CLK, 3)
        return out
