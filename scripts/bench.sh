#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: one QEMU boot (fast kernel, 2 vCPUs, one edu device on MSI);
# the guest measures raise-to-bottom-half latency and sustained interrupt
# throughput for the work loop, a plain threaded IRQ and a workqueue item,
# interleaved in rounds and in two CPU placements. Prints the table (also
# written to out/bench.txt) and ends with the machine-readable line
#   bench: p50_vs_threaded=R p99_vs_threaded=R p50_vs_workqueue=R throughput_vs_threaded=R lost=N
# Only ratios inside one boot mean anything under TCG.
#
# The same boot has four virtio-rng-pci devices, each with its own default
# backend: samples/virtio_rng takes 0x12 (MSI-X) and 0x16 (vectors=0: INTx),
# Linux's C virtio_rng 0x13 (MSI-X) and 0x17 (INTx). The guest reads
# /dev/hwrng from each in interleaved rounds (scripts/guest/bench-virtio.sh);
# the virtio table compares medians of the rounds and ends with
#   bench-virtio: bytes_vs_c=R lat64_vs_c=R deep_bytes_vs_c=R intx_bytes_vs_c=R
#     hardirq_bytes_vs_c=R hardirq_lat64_vs_c=R hardirq_intx_bytes_vs_c=R
# (on one line: the last three with the sample's top half waking its readers,
# hardirq=1, as C's does; the first four with the work loop's bottom half).
# (the sample's figure over C's: bytes/s, higher is better; lat64 is the time
# of a 64-byte read, lower is better).
. "$(dirname "$0")/common.sh"

"$WL_ROOT/scripts/bootstrap.sh"
rng="virtio-rng-pci,disable-legacy=on"
log=$("$WL_ROOT/scripts/boot.sh" fast bench --cpus 2 --mem 1024 --timeout 1200 --device edu \
	--device "$rng,addr=0x12" --device "$rng,addr=0x13" \
	--device "$rng,addr=0x16,vectors=0" --device "$rng,addr=0x17,vectors=0")
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

# The virtio section: medians over the rounds of each (driver, IRQ, depth).
from statistics import median
vb = {}
for l in lines:
    m = re.match(r"VBENCH who=(\w+) irq=(\w+) depth=(\w+) round=\d+ bytes=(\d+) ns=(-?\d+) lat_n=(\d+) lat_ns=(-?\d+)", l)
    if m and int(m[5]) > 0 and int(m[7]) > 0:
        key = (m[1], m[2], m[3])
        vb.setdefault(key, []).append((int(m[4]) * 1e9 / int(m[5]), int(m[7]) / int(m[6]) / 1e3))
vstatus = [l for l in lines if l.startswith("VBENCH-STATUS")]
# Depth "1h": one buffer, the sample's readers woken by its top half (hardirq=1).
modes = ("1", "8", "1h")
need = [(w, i, d) for w in ("rs", "c") for i in ("msix", "intx") for d in modes]
if any(k not in vb for k in need):
    sys.exit("error: the virtio benchmark is incomplete (have %s): see %s" % (sorted(vb), log))
med = {k: (median(b for b, _ in v), median(l for _, l in v), len(v)) for k, v in vb.items()}
text.append("")
text.append("virtio-rng: samples/virtio_rng (rs) vs Linux's C virtio_rng (c), medians of %d rounds" % min(v[2] for v in med.values()))
text.append("%-4s %-5s %-28s %10s %12s" % ("irq", "who", "mode", "KiB/s", "64B read us"))
for irq in ("msix", "intx"):
    for d in modes:
        for who in ("rs", "c"):
            if who == "c":
                mode = "C (one 64 B buffer)" if d == "1" else "C (one buffer; same boot)"
            else:
                mode = {"1": "like-for-like (depth=1)", "8": "deep (depth=8)",
                        "1h": "top half wakes (hardirq=1)"}[d]
            b, l, _ = med[(who, irq, d)]
            text.append("%-4s %-5s %-28s %10.1f %12.1f" % (irq, who, mode, b / 1024, l))
r = lambda irq, d, i: med[("rs", irq, d)][i] / med[("c", irq, d)][i]
text.append("bench-virtio: bytes_vs_c=%.2f lat64_vs_c=%.2f deep_bytes_vs_c=%.2f intx_bytes_vs_c=%.2f"
            " hardirq_bytes_vs_c=%.2f hardirq_lat64_vs_c=%.2f hardirq_intx_bytes_vs_c=%.2f" % (
    r("msix", "1", 0), r("msix", "1", 1), r("msix", "8", 0), r("intx", "1", 0),
    r("msix", "1h", 0), r("msix", "1h", 1), r("intx", "1h", 0)))
if vstatus and "fail=0" not in vstatus[0]:
    text.insert(0, "warning: some virtio benchmark steps failed (%s); see %s" % (vstatus[0], log))
open(out, "w").write("\n".join(text) + "\n")
print("\n".join(text))
PY
