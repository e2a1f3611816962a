"""Draw p99 delivery latency against offered load from a bench results file (run from the peers venv).

bench/.venv-peers/bin/python -m bench.plot bench/results/<stamp>.json out.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bench.report import chosen_runs, display_name, label, row_names  # noqa: E402


def main(argv: list[str]) -> int:
    doc = json.loads(Path(argv[0]).read_text())
    workloads = [
        w for w in ("broadcast", "clinic") if any(r.get("workload") == w and "error" not in r for r in doc["runs"])
    ]
    if not workloads:
        print("plot: no broadcast or clinic results", file=sys.stderr)
        return 1
    fig, axes = plt.subplots(1, len(workloads), figsize=(6.5 * len(workloads), 4.8), squeeze=False)
    for ax, workload in zip(axes[0], workloads, strict=True):
        for target in row_names():
            runs = [
                r
                for r in chosen_runs(doc)  # with --repeat, each point's median round
                if label(r) == target and r.get("workload") == workload and "error" not in r
            ]
            runs.sort(key=lambda r: r["offered_deliveries_per_s"])
            xs = [r["offered_deliveries_per_s"] for r in runs if r["delivery_latency_ms"]["p99"] is not None]
            ys = [r["delivery_latency_ms"]["p99"] for r in runs if r["delivery_latency_ms"]["p99"] is not None]
            if not xs:
                continue
            (line,) = ax.plot(xs, ys, marker="o", label=display_name(target))
            lossy = [(x, y) for r, x, y in zip(runs, xs, ys, strict=False) if r.get("lost")]
            if lossy:
                ax.scatter(*zip(*lossy, strict=True), s=140, facecolors="none", edgecolors=line.get_color())
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("offered deliveries/s (messages/s x room size)")
        ax.set_ylabel("p99 delivery latency (ms)")
        ax.set_title(f"{workload} (ringed: messages lost)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    m = doc["machine"]
    fig.suptitle(f"{m['cpu']}, {m['cores']} cores, Python {m['python']} — {doc['started']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(argv[1], dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
