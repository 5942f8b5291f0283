"""CNN benchmarks of bench/run.sh: run wrapper and summary tables (stdlib only).

usage: python3 bench/cnn_report.py run JSONL LOG [--timeout S] -- CMD ARGS...
       python3 bench/cnn_report.py RESULTS_DIR

`run` runs CMD once, appends its stdout (and stderr) to LOG and its last stdout
line, a JSON record, to JSONL with a "machine" object added:
  wall_s          wall-clock time of the run
  cpu_s           CPU time the run used (user + system, getrusage of children)
  others_cores    average number of cores busy with OTHER work during the run:
                  (busy jiffies of the whole machine from /proc/stat - cpu_s) / wall_s;
                  0 on a quiet machine, up to 2 - (our threads) on 2 cores
  loadavg         1-minute load average before and after
  steal_pct       the hypervisor's share of CPU time during the run
  epoch_others    others_cores per training epoch, measured between the epoch lines
                  the program prints (bench_cnn: "fashion_cnn epoch N/M" on stdout;
                  fashion_cnn.py: "{'epoch': N, ..." on stderr); for PyTorch the first
                  interval also covers start-up and data loading, every interval its
                  test evaluation (a few seconds)
Prints one status line (wall time, other work, load, steal); CMD's own output goes
to LOG only.  With --timeout, CMD is killed after S seconds (a run that slow means
a busy machine; it keeps `make bench` from taking half an hour).  Exit status:
CMD's (1 if the last line is not JSON, 124 on timeout).

The summary reads RESULTS_DIR/{fashion,cifar}_{lamina,torch}_*.jsonl:
  fashion_lamina_t1, fashion_lamina_t2, fashion_torch_t1, fashion_torch_t2
  (OMP_WAIT_POLICY=PASSIVE), fashion_torch_t2spin (default OpenMP policy, only
  with LAMINA_BENCH_TORCH_SPIN=1); the same names for cifar.
fashion: one run per setting (2 epochs); s/epoch = mean of the 2 epoch times;
ratio = lamina s/epoch / PyTorch's best s/epoch over its settings (goal <= 0.4
at 1 thread and at 2 threads).  cifar: RUNS runs per setting, each reporting
images/s = 64 / its median step time; the figure is the median over runs, with
the range in brackets; ratio = lamina images/s / PyTorch's best (goal >= 1.5
at 2 threads).  A run during which other work kept more than BUSY cores busy
on average is marked '*'.  Prints the tables and one JSON line, also written to
RESULTS_DIR/cnn_summary.json.
"""
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
import time

FASHION_GOAL = 0.4   # lamina s/epoch / torch best s/epoch, at 1 and at 2 threads
CIFAR_GOAL = 1.5     # lamina images/s / torch best images/s, at 2 threads
BUSY = 0.3           # others_cores above this marks a disturbed run

SETTINGS = [("lamina", "t1", 1, "lamina 1 thr"), ("lamina", "t2", 2, "lamina 2 thr"),
            ("torch", "t1", 1, "torch 1 thr"), ("torch", "t2", 2, "torch 2 thr PASSIVE"),
            ("torch", "t2spin", 2, "torch 2 thr default")]


# ---- run wrapper ---------------------------------------------------------------------

def _stat():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
    return v


def _loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


EPOCH_LINE = re.compile(r"^(fashion_cnn epoch \d+/|\{'epoch': \d+,)")


def _busy_s(v, hz):
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / hz


def _proc_cpu_s(pid, hz):
    """CPU time (user + system, all threads) of a running process, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / hz
    except (OSError, IndexError, ValueError):
        return None


def run(jsonl, log, cmd, timeout=None):
    hz = os.sysconf("SC_CLK_TCK")
    la0, s0 = _loadavg(), _stat()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err, marks = [], [], []
    prev = [t0, _busy_s(s0, hz), 0.0]
    lock = threading.Lock()

    def reader(stream, sink):
        for line in stream:
            sink.append(line)
            if EPOCH_LINE.match(line):
                with lock:
                    t, b, c = time.monotonic(), _busy_s(_stat(), hz), _proc_cpu_s(p.pid, hz)
                    if c is not None and t > prev[0]:
                        marks.append(round(max(0.0, (b - prev[1]) - (c - prev[2])) / (t - prev[0]), 2))
                        prev[:] = [t, b, c]

    th = [threading.Thread(target=reader, args=(p.stdout, out)), threading.Thread(target=reader, args=(p.stderr, err))]
    for x in th:
        x.start()
    timed_out = False
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        timed_out = True
    for x in th:
        x.join()
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    s1, la1 = _stat(), _loadavg()
    stdout, stderr = "".join(out), "".join(err)
    with open(log, "a") as f:
        f.write("$ %s\n%s%s" % (" ".join(cmd), stderr, stdout))
    if timed_out:
        print("TIMEOUT after %.0f s (killed; machine busy? other work %.2f cores)" % (
            wall, max(0.0, (_busy_s(s1, hz) - _busy_s(s0, hz)) - ((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))) / wall))
        return 124
    if p.returncode != 0:
        sys.stderr.write(stderr[-2000:])
        print("FAILED (exit %d)" % p.returncode)
        return p.returncode
    lines = [ln for ln in stdout.strip().splitlines() if ln.strip()]
    try:
        rec = json.loads(lines[-1])
    except (IndexError, ValueError):
        sys.stderr.write("cnn_report: no JSON line at the end of the output of %s\n" % " ".join(cmd))
        print("FAILED (no JSON line at the end of the output)")
        return 1
    d = [b - a for a, b in zip(s0, s1)]
    busy = (d[0] + d[1] + d[2] + d[5] + d[6]) / hz
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    rec["machine"] = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                      "others_cores": round(max(0.0, busy - cpu) / wall, 2) if wall > 0 else None,
                      "loadavg": [la0, la1], "steal_pct": round(100.0 * d[7] / max(1, sum(d)), 1)}
    if marks:
        rec["machine"]["epoch_others"] = marks
    with open(jsonl, "a") as f:
        f.write(json.dumps(rec) + "\n")
    m = rec["machine"]
    print("%.1f s, other work %.2f cores, load %s, steal %.1f%%" % (
        wall, m["others_cores"] or 0.0, "-" if la0 is None else "%.2f" % la0, m["steal_pct"]))
    return 0


# ---- summary ------------------------------------------------------------------------------

def load(path):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        rows.append(json.loads(line))
                    except ValueError:
                        pass
    return rows


def busy(r):
    return (r.get("machine") or {}).get("others_cores") or 0.0


def mark(r):
    return "*" if busy(r) > BUSY else ""


def fmt_others(xs):
    return "/".join("-" if x is None else "%.2f" % x for x in xs) if xs else "-"


def fmt(x, f="%.2f"):
    return "-" if x is None else f % x


def fashion_summary(d, out):
    res = {}
    for side, tag, thr, label in SETTINGS:
        rows = load(os.path.join(d, "fashion_%s_%s.jsonl" % (side, tag)))
        if not rows:
            continue
        # LAMINA_BENCH_FASHION_RUNS rounds: the run with the median s/epoch
        # (the lower middle one for an even count) stands for the setting
        runs = sorted((statistics.mean(e["train_s"] for e in x["epochs"]), i) for i, x in enumerate(rows)
                      if x.get("epochs"))
        if not runs:
            continue
        r = rows[runs[(len(runs) - 1) // 2][1]]
        eps = r["epochs"]
        per_run = [t for t, _ in runs]
        ts = [e["train_s"] for e in eps]
        # other work per epoch: bench_cnn measures it itself; the run wrapper between epoch lines
        oth = [e.get("others_cores") for e in eps]
        wrap = (r.get("machine") or {}).get("epoch_others") or []
        oth = [o if o is not None and o >= 0 else (wrap[i] if i < len(wrap) else None) for i, o in enumerate(oth)]
        if all(o is None for o in oth) and r.get("machine"):
            oth = [busy(r)] * len(ts)  # older records: only the whole run's figure
        quiet = [t for t, o in zip(ts, oth) if o is not None and o <= BUSY]
        res[(side, tag)] = {"label": label, "threads": thr, "s_per_epoch": statistics.mean(ts),
                            "epoch_s": ts, "images_per_s": [e["images_per_s"] for e in eps],
                            "test_acc": [e["test_acc"] for e in eps], "row": r, "others": oth,
                            "quiet_s": statistics.mean(quiet) if quiet else None, "runs": per_run,
                            "disturbed": any(o is None or o > BUSY for o in oth)}
    if not res:
        return
    tb = [(v["s_per_epoch"], k) for k, v in res.items() if k[0] == "torch"]
    tbest = min(tb) if tb else None
    print()
    neps = max(len(v["epoch_s"]) for v in res.values())
    nruns = max(len(v["runs"]) for v in res.values())
    print("fashion_cnn: Fashion-MNIST, Conv32-Pool-Conv64-Pool-Dense64-Dense10, Adam 1e-3, batch 32, 60,000 "
          "images/epoch; %s of %d epoch%s per setting%s." % (
              "one run" if nruns == 1 else "%d interleaved runs" % nruns, neps, "" if neps == 1 else "s",
              "" if nruns == 1 else " (the row shows the run with the median s/epoch; all runs below)"))
    print("s/epoch = mean of the epoch times (training loop only, test evaluation excluded); acc = test accuracy "
          "after epoch 1 / 2; others = cores busy with other work, per epoch")
    hdr = "%-20s %-12s %-8s %-11s %-7s %-7s %-7s %-10s %-5s" % (
        "setting", "epoch s", "s/epoch", "images/s", "acc 1", "acc 2", "ratio*", "others", "steal")
    print(hdr)
    print("-" * len(hdr))
    for side, tag, thr, label in SETTINGS:
        v = res.get((side, tag))
        if not v:
            continue
        ratio = v["s_per_epoch"] / tbest[0] if side == "lamina" and tbest else None
        m = v["row"].get("machine") or {}
        acc = v["test_acc"] + [None, None]
        print("%-20s %-12s %-8s %-11s %-7s %-7s %-7s %-10s %-5s" % (
            label + ("*" if v["disturbed"] else ""), "/".join("%.1f" % t for t in v["epoch_s"]),
            "%.2f" % v["s_per_epoch"], "/".join("%.0f" % x for x in v["images_per_s"]), fmt(acc[0], "%.4f"),
            fmt(acc[1], "%.4f"), fmt(ratio, "%.3f"), fmt_others(v["others"]),
            fmt(m.get("steal_pct", v["row"].get("steal_pct")), "%.1f")))
        out["fashion"]["%s_%s" % (side, tag)] = {
            "s_per_epoch": round(v["s_per_epoch"], 3), "epoch_s": v["epoch_s"], "images_per_s": v["images_per_s"],
            "test_acc": v["test_acc"], "ratio_vs_torch_best": ratio and round(ratio, 3),
            "others_cores_per_epoch": v["others"], "quiet_s_per_epoch": v["quiet_s"] and round(v["quiet_s"], 3),
            "others_cores": m.get("others_cores"), "loadavg": m.get("loadavg"), "steal_pct": m.get("steal_pct"),
            "runs_s_per_epoch": [round(t, 3) for t in v["runs"]]}
    if nruns > 1:
        for side, tag, thr, label in SETTINGS:
            v = res.get((side, tag))
            if v:
                print("  %-20s s/epoch of each run: %s" % (label, ", ".join("%.2f" % t for t in v["runs"])))
    if tbest:
        tv = res[tbest[1]]
        print("* ratio = lamina s/epoch / PyTorch's best s/epoch (%.2f, %s); goal <= %.2f at 1 and at 2 threads" %
              (tbest[0], tv["label"], FASHION_GOAL))
        if any(v["disturbed"] for v in res.values()):
            # the same comparison over the undisturbed epochs only (a busy machine only slows runs down)
            tq = [(v["quiet_s"], k) for k, v in res.items() if k[0] == "torch" and v["quiet_s"]]
            tqb = min(tq) if tq else None
            parts = []
            for tag, thr in (("t1", 1), ("t2", 2)):
                v = res.get(("lamina", tag))
                if v and v["quiet_s"] and tqb:
                    parts.append("%d thr %.2f s -> %.3f" % (thr, v["quiet_s"], v["quiet_s"] / tqb[0]))
            print("  undisturbed epochs only (others <= %.1f): PyTorch best %s; lamina %s" % (
                BUSY, "-" if not tqb else "%.2f s (%s)" % (tqb[0], res[tqb[1]]["label"]),
                ", ".join(parts) if parts else "-"))
            out["fashion"]["undisturbed"] = {"torch_best_s": tqb and round(tqb[0], 3),
                                             "torch_best": tqb and res[tqb[1]]["label"],
                                             "note": "; ".join(parts)}
        out["fashion"]["torch_best"] = {"s_per_epoch": round(tbest[0], 3), "setting": tv["label"]}
        for tag, thr in (("t1", 1), ("t2", 2)):
            v = res.get(("lamina", tag))
            if v:
                r = v["s_per_epoch"] / tbest[0]
                ok = r <= FASHION_GOAL
                print("goal fashion %d thread%s: ratio %.3f -> %s" % (thr, "" if thr == 1 else "s", r,
                                                                      "met" if ok else "NOT met"))
                out["fashion"]["goal_t%d" % thr] = {"ratio": round(r, 3), "met": ok}
    else:
        print("(no PyTorch figures: no ratio)")


def cifar_summary(d, out):
    res = {}
    for side, tag, thr, label in SETTINGS:
        rows = load(os.path.join(d, "cifar_%s_%s.jsonl" % (side, tag)))
        ips = [r["images_per_s"] for r in rows if r.get("images_per_s")]
        if not ips:
            continue
        res[(side, tag)] = {"label": label, "threads": thr, "ips": statistics.median(ips), "lo": min(ips),
                            "hi": max(ips), "runs": len(ips), "rows": rows,
                            "busy_runs": sum(1 for r in rows if busy(r) > BUSY),
                            "others": max(busy(r) for r in rows),
                            "steal": max(((r.get("machine") or {}).get("steal_pct") or r.get("steal_pct") or 0)
                                         for r in rows)}
    if not res:
        return
    tb = [(v["ips"], k) for k, v in res.items() if k[0] == "torch"]
    tbest = max(tb) if tb else None
    print()
    print("cifar_cnn: batch 64 of 3x32x32 (synthetic), Conv32-Pool-Conv64-Pool-Dense128-Dense10 (same padding), "
          "SGD lr 0.001.")
    print("images/s = 64 / median of 20 step times (after 3 warm-up steps) per run; median over runs [range]")
    hdr = "%-22s %-24s %-8s %-9s %-9s %-11s %-6s" % ("setting", "images/s", "runs", "same-thr", "ratio*",
                                                     "others max", "steal")
    print(hdr)
    print("-" * len(hdr))
    for side, tag, thr, label in SETTINGS:
        v = res.get((side, tag))
        if not v:
            continue
        same = None
        if side == "lamina":
            peers = [w["ips"] for k, w in res.items() if k[0] == "torch" and w["threads"] == thr]
            same = v["ips"] / max(peers) if peers else None
        ratio = v["ips"] / tbest[0] if side == "lamina" and tbest else None
        print("%-22s %-24s %-8s %-9s %-9s %-11s %-6s" % (
            label, "%.1f [%.1f-%.1f]" % (v["ips"], v["lo"], v["hi"]),
            "%d%s" % (v["runs"], "" if not v["busy_runs"] else " (%d*)" % v["busy_runs"]),
            fmt(same, "%.3f"), fmt(ratio, "%.3f"), "%.2f" % v["others"], "%.1f" % v["steal"]))
        phases = {}
        if side == "lamina":
            for ph in ("zero_grad", "forward", "backward", "optim"):
                xs = [r["phase_ms"][ph] for r in v["rows"] if "phase_ms" in r]
                if xs:
                    phases[ph] = round(statistics.median(xs), 3)
        out["cifar"]["%s_%s" % (side, tag)] = {
            "images_per_s": v["ips"], "range": [v["lo"], v["hi"]], "runs": v["runs"],
            "disturbed_runs": v["busy_runs"], "ratio_same_threads": same and round(same, 3),
            "ratio_vs_torch_best": ratio and round(ratio, 3), "phase_ms": phases or None,
            "others_cores_max": v["others"], "steal_pct_max": v["steal"]}
    for tag in ("t1", "t2"):
        p = out["cifar"].get("lamina_" + tag, {}).get("phase_ms")
        if p:
            print("lamina %s step phases (median ms): %s" % (tag[1:] + " thr", ", ".join(
                "%s %.2f" % (k, x) for k, x in p.items())))
    if tbest:
        tv = res[tbest[1]]
        print("* ratio = lamina images/s / PyTorch's best images/s (%.1f, %s); goal >= %.2f at 2 threads; "
              "same-thr = against PyTorch's best setting at the same thread count" %
              (tbest[0], tv["label"], CIFAR_GOAL))
        out["cifar"]["torch_best"] = {"images_per_s": tbest[0], "setting": tv["label"]}
        v = res.get(("lamina", "t2"))
        if v:
            r = v["ips"] / tbest[0]
            ok = r >= CIFAR_GOAL
            print("goal cifar 2 threads: ratio %.3f -> %s" % (r, "met" if ok else "NOT met"))
            out["cifar"]["goal_t2"] = {"ratio": round(r, 3), "met": ok}
    else:
        print("(no PyTorch figures: no ratio)")


def report(d):
    out = {"bench": "cnn_summary", "fashion": {}, "cifar": {}, "busy_threshold_cores": BUSY}
    fashion_summary(d, out)
    cifar_summary(d, out)
    print()
    print("others = average number of cores busy with other work during a run (from /proc/stat minus the run's "
          "own CPU time); '*' marks runs above %.1f: re-run those on a quieter machine." % BUSY)
    print("Lamina draws its own init, batch order and synthetic batch (Lamina's RNG): same shapes and "
          "hyper-parameters as the peer scripts, different random numbers.")
    with open(os.path.join(d, "cnn_summary.json"), "w") as f:
        json.dump(out, f)
        f.write("\n")
    print(json.dumps(out))


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "run":
        a, timeout = sys.argv[4:], None
        if len(a) >= 2 and a[0] == "--timeout":
            timeout, a = float(a[1]), a[2:]
        if a and a[0] == "--":
            sys.exit(run(sys.argv[2], sys.argv[3], a[1:], timeout))
    if len(sys.argv) == 2:
        report(sys.argv[1])
        return
    sys.stderr.write(__doc__)
    sys.exit(2)


if __name__ == "__main__":
    main()
