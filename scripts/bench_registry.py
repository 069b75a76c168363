#!/usr/bin/env python3
"""Scores `find` and `tree` against a zoo's recorded lineage (BENCHMARKS.md).

    python3 scripts/bench_registry.py ZOO_DIR [--cli build/tools/modeldna/modeldna] [--work DIR] [--misses]

Registers every model of the zoo in a fresh SQLite registry (`registry add`),
runs `find --json` on each model and `tree --db --json` once, and prints per
relation:
- find: the recorded parent is `parent` (for replace-last-k: both donors, the
  source and recipe.base, are named in parent/also_from); scratch models and
  sources: no parent;
- tree: edge recall (the recorded parent is the tree's parent) and precision
  (of the edges the tree drew into models of that relation, how many are the
  recorded ones), and direction accuracy (of the recorded edges the tree
  found between the two models either way round, how many point the right
  way); for replace-last-k also "parent or donor" (the tree's parent is one
  of the two donors).
Only the CLI's output is read; nothing here decides what the tool says.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict


def run(cli, *args):
    r = subprocess.run([cli, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{cli} {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("zoo")
    ap.add_argument("--cli", default="build/tools/modeldna/modeldna")
    ap.add_argument("--work", default=None)
    ap.add_argument("--misses", action="store_true", help="print every model find gets wrong, with what it said")
    ap.add_argument("--tree-only", action="store_true", help="reuse the registry of a previous run; score the tree only")
    a = ap.parse_args()
    zoo = os.path.realpath(a.zoo)
    work = a.work or os.path.join("out", "bench-registry", os.path.basename(zoo))
    os.makedirs(work, exist_ok=True)
    db = os.path.join(work, "registry.sqlite")
    for suffix in ("", "-wal", "-shm", ".index"):
        if os.path.exists(db + suffix) and not a.tree_only:
            os.remove(db + suffix)
    models = json.load(open(os.path.join(zoo, "manifest.json")))["models"]
    path = {m["id"]: os.path.realpath(os.path.join(zoo, m["file"])) for m in models}
    by_path = {p: i for i, p in path.items()}

    def label(m):
        r = m["relation"]
        return r.replace("-k", f"-{m['k']}") if r.endswith("-k") and m.get("k") else r

    if not a.tree_only:
        score_find(a, db, models, path, label)
    score_tree(a, db, work, models, by_path, label)


def score_find(a, db, models, path, label):
    t = time.time()
    added = json.loads(run(a.cli, "registry", "add", *[path[m["id"]] for m in models], "--db", db, "--json"))
    add_s = time.time() - t
    sizes = [x["fingerprint_bytes"] for x in added]
    print(f"registry add: {len(added)} models in {add_s:.1f} s; fingerprints {min(sizes)}-{max(sizes)} bytes")

    find_score = defaultdict(lambda: [0, 0])
    find_ms, total_ms = [], []
    for m in models:
        out = json.loads(run(a.cli, "find", path[m["id"]], "--db", db, "--json"))
        find_ms.append(out["timings"].get("find_ms", 0))
        total_ms.append(out["timings"].get("total_ms", 0))
        parent = out["parent"]
        named = {parent} | set(out["also_from"])
        rel = m["relation"]
        if rel in ("scratch", "source"):
            ok = parent is None
        elif rel == "replace-last-k":
            ok = path[m["parent"]] in named and path[m["recipe"]["base"]] in named
        else:
            ok = parent == path[m["parent"]]
        if a.misses and not ok:
            print(f"  miss {m['id']} ({label(m)}): parent {parent}, also_from {out['also_from']}")
        s = find_score[label(m)]
        s[0] += ok
        s[1] += 1
    find_ms.sort()
    total_ms.sort()
    print(f"find: median {find_ms[len(find_ms) // 2]:.1f} ms after the registry is open, "
          f"median {total_ms[len(total_ms) // 2]:.0f} ms including fingerprinting the query")
    for k in sorted(find_score):
        print(f"  find {k}: {find_score[k][0]}/{find_score[k][1]}")


def score_tree(a, db, work, models, by_path, label):
    t = time.time()
    tree = json.loads(run(a.cli, "tree", "--db", db, "--json", "--svg", os.path.join(work, "tree.svg")))
    print(f"tree: {len(models)} models in {time.time() - t:.1f} s, {len(tree['roots'])} roots")
    tparent = {by_path[e["child"]]: by_path[e["parent"]] for e in tree["edges"]}
    stats = defaultdict(lambda: defaultdict(int))
    for m in models:
        s = stats[label(m)]
        got = tparent.get(m["id"])
        if m["relation"] in ("scratch", "source"):
            s["roots_expected"] += 1
            s["roots_right"] += got is None
            continue
        s["expected"] += 1
        s["predicted"] += got is not None
        s["right"] += got == m["parent"]
        # Direction: the recorded edge found either way round.
        if got == m["parent"] or tparent.get(m["parent"]) == m["id"]:
            s["oriented"] += 1
            s["direction_right"] += got == m["parent"]
        if m["relation"] == "replace-last-k":
            s["donor"] += got in (m["parent"], m["recipe"]["base"])
    for k in sorted(stats):
        s = stats[k]
        if s["roots_expected"]:
            print(f"  tree {k}: roots {s['roots_right']}/{s['roots_expected']}")
            continue
        rec = s["right"] / s["expected"]
        prec = s["right"] / s["predicted"] if s["predicted"] else 0.0
        dirn = s["direction_right"] / s["oriented"] if s["oriented"] else 0.0
        extra = f", parent or donor {s['donor']}/{s['expected']}" if "replace" in k and "random" not in k else ""
        print(f"  tree {k}: recall {rec:.3f} precision {prec:.3f} direction {dirn:.3f} "
              f"({s['right']}/{s['expected']} right, {s['predicted']} edges drawn, {s['oriented']} found either way){extra}")


if __name__ == "__main__":
    main()
