#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: one QEMU boot (fast kernel, 2 vCPUs, one edu device on MSI);
# the guest measures raise-to-bottom-half latency and sustained interrupt
# throughput for the work loop, a plain threaded IRQ and a workqueue item,
# interleaved in rounds and in two CPU placements. Prints the table (also
# written to out/bench.txt) and ends with the machine-readable line
#   bench: p50_vs_threaded=R p99_vs_threaded=R p50_vs_workqueue=R throughput_vs_threaded=R lost=N
# Only ratios inside one boot mean anything under TCG.
. "$(dirname "$0")/common.sh"

"$WL_ROOT/scripts/bootstrap.sh"
log=$("$WL_ROOT/scripts/boot.sh" fast bench --cpus 2 --mem 1024 --timeout 1200 --device edu)
python3 - "$log" "$WL_ROOT/out/bench.txt" <<'PY'
import re, sys
log, out = sys.argv[1], sys.argv[2]
lines = open(log, errors="replace").read().splitlines()
if "WL-BENCH-END" not in lines:
    print("\n".join(lines[-40:]))
    sys.exit("error: the benchmark did not complete: see " + log)
rows = {}
for l in lines:
    m = re.match(r"BENCH mode=(\d) placement=(\w+) samples=(\d+) p50=(\d+) p99=(\d+) max=(\d+) wake50=(\d+) tp=(\d+) (\d+) (\d+)", l)
    if m:
        mode, pl = int(m[1]), m[2]
        n, ns, lost = int(m[8]), int(m[9]), int(m[10])
        rows[(mode, pl)] = dict(samples=int(m[3]), p50=int(m[4]), p99=int(m[5]), mx=int(m[6]), wake=int(m[7]),
                                ips=n * 1e9 / ns if ns else 0.0, lost=lost)
status = [l for l in lines if l.startswith("BENCH-STATUS")]
names = {0: "work loop", 1: "threaded IRQ", 2: "workqueue"}
if len(rows) != 6:
    sys.exit("error: expected 6 result rows, got %d: see %s" % (len(rows), log))
text = []
text.append("raise -> bottom half latency (us) and sustained throughput, QEMU TCG, one boot")
text.append("%-12s %-9s %7s %8s %8s %9s %10s %10s %5s" % ("approach", "placement", "samples", "p50", "p99", "max", "top->bh p50", "irq/s", "lost"))
for pl in ("same", "cross"):
    for mode in (0, 1, 2):
        r = rows[(mode, pl)]
        text.append("%-12s %-9s %7d %8.1f %8.1f %9.1f %10.1f %10.0f %5d" % (
            names[mode], pl, r["samples"], r["p50"] / 1e3, r["p99"] / 1e3, r["mx"] / 1e3, r["wake"] / 1e3, r["ips"], r["lost"]))
text.append("")
text.append("ratios (work loop / other; latency: lower is better, throughput: higher is better)")
ratios = {}
for pl in ("same", "cross"):
    wl, th, wq = rows[(0, pl)], rows[(1, pl)], rows[(2, pl)]
    ratios[pl] = dict(p50_th=wl["p50"] / th["p50"], p99_th=wl["p99"] / th["p99"],
                      p50_wq=wl["p50"] / wq["p50"], tp_th=wl["ips"] / th["ips"])
    r = ratios[pl]
    text.append("%-6s p50_vs_threaded=%.2f p99_vs_threaded=%.2f p50_vs_workqueue=%.2f throughput_vs_threaded=%.2f" % (
        pl, r["p50_th"], r["p99_th"], r["p50_wq"], r["tp_th"]))
lost = sum(r["lost"] for r in rows.values())
# The summary line takes the worse placement for each ratio.
worst = dict(p50_th=max(ratios[p]["p50_th"] for p in ratios), p99_th=max(ratios[p]["p99_th"] for p in ratios),
             p50_wq=max(ratios[p]["p50_wq"] for p in ratios), tp_th=min(ratios[p]["tp_th"] for p in ratios))
text.append("(the line below takes the worse placement for each ratio)")
text.append("bench: p50_vs_threaded=%.2f p99_vs_threaded=%.2f p50_vs_workqueue=%.2f throughput_vs_threaded=%.2f lost=%d" % (
    worst["p50_th"], worst["p99_th"], worst["p50_wq"], worst["tp_th"], lost))
if status and "fail=0" not in status[0]:
    text.insert(0, "warning: some guest steps failed (%s); see %s" % (status[0], log))
open(out, "w").write("\n".join(text) + "\n")
print("\n".join(text))
PY
