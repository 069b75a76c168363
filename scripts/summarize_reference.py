#!/usr/bin/env python3
"""Mean and standard deviation over seeds of the reference-preset MGMP runs
(scripts/bench_reference.sh writes out/reference/eval-<source>-<variant>-seed<N>/eval.json).
Prints the tables of BENCHMARKS.md, "MGMP in the reference setting"."""
import glob, json, re, statistics, sys
from collections import defaultdict

root = sys.argv[1] if len(sys.argv) > 1 else "out/reference"
runs = defaultdict(list)  # (source, variant) -> [(seed, eval json)]
for path in sorted(glob.glob(f"{root}/eval-*-seed*/eval.json")):
    m = re.search(r"eval-(.+)-(two-stage|no-generator)-seed(\d+)/", path)
    runs[(m.group(1), m.group(2))].append((int(m.group(3)), json.load(open(path))))

def ms(values):
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"

print("| detector source | variant | seeds | group | per-probe overall | non-homologous | homologous | model-level accuracy | ROC AUC | training pairs, held-out probes |")
print("|---|---|---|---|---|---|---|---|---|---|")
for (source, variant), seeded in sorted(runs.items()):
    for group in ("seen sources", "held-out sources"):
        cols = defaultdict(list)
        for _, ev in seeded:
            rows = [r for r in ev["per_probe"] if r["group"] == group]
            if not rows:
                continue
            for key in ("overall", "non_homologous", "homologous"):
                cols[key].append(statistics.mean(r[key] for r in rows))
            ml = [r for r in ev["model_level"] if r["group"] == group and r["relation"] == "finetune" and r["against"] == "scratch"]
            cols["accuracy"].append(ml[0]["accuracy"])
            cols["auc"].append(ml[0]["auc"])
            cols["fit"].append(statistics.mean(r["overall"] for r in ev["training_fit"]))
        if not cols:
            continue
        seeds = ",".join(str(s) for s, _ in seeded)
        print(f"| {source} | {variant} | {seeds} | {group} | {ms(cols['overall'])} | {ms(cols['non_homologous'])} | "
              f"{ms(cols['homologous'])} | {ms(cols['accuracy'])} | {ms(cols['auc'])} | {ms(cols['fit'])} |")
