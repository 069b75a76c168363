#!/usr/bin/env bash
# audit's throughput (issue 30): the tiny zoo's derived models as model
# folders, each declaring its recorded parent by name, audited against a
# registry of 1,006 models (1,000 synthetic from `registry bench` plus the
# zoo's 6 named roots). Prints the wall time of three runs and the findings.
#   bash scripts/bench_audit.sh [ZOO_DIR]   (default: the tests' tiny zoo)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
zoo=${1:-$here/build/test-tmp/tiny-zoo}
M=$here/build/tools/modeldna/modeldna
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$work"
python3 - "$zoo" <<'PY'
import json, os, sys
zoo = sys.argv[1]
models = json.load(open(zoo + "/manifest.json"))["models"]
with open("roots.txt", "w") as roots:
    for m in models:
        if not m["parent"]:
            roots.write(f"{zoo}/{m['file']} {m['id']}\n")
            continue
        folder = "folders/" + m["id"]
        os.makedirs(folder)
        os.symlink(f"{zoo}/{m['file']}", folder + "/model.safetensors")
        with open(folder + "/README.md", "w") as card:
            card.write(f"---\nbase_model: acme/{m['parent']}\nlicense: mit\n---\n")
PY
while read -r file id; do "$M" registry add "$file" --name "$id" --db seed.sqlite >/dev/null; done < roots.txt
"$M" registry bench --seed-db seed.sqlite --out grown --sizes 1000 --queries 10 >/dev/null
cp grown/scale.sqlite big.sqlite
while read -r file id; do "$M" registry add "$file" --name "$id" --db big.sqlite >/dev/null; done < roots.txt
echo "registry: $("$M" registry list --db big.sqlite | tail -1)"
echo "folders: $(ls folders | wc -l)"
for jobs in 1 1 2 2; do
  /usr/bin/time -f "--jobs $jobs --fresh: %e s wall, %M KB peak" "$M" audit folders --db big.sqlite --no-black-box --json --fresh --jobs "$jobs" > out.jsonl 2> err.txt
  tail -2 err.txt | tr '\n' ' '; echo
done
/usr/bin/time -f "rerun, results kept: %e s wall, %M KB peak" "$M" audit folders --db big.sqlite --no-black-box --json > kept.jsonl 2> err.txt
tail -2 err.txt | tr '\n' ' '; echo
cmp -s <(sort out.jsonl) <(sort kept.jsonl) && echo "kept results: the same JSON lines" || echo "kept results DIFFER"
python3 - <<'PY'
import collections, json
rows = [json.loads(line) for line in open("out.jsonl")]
findings = collections.Counter(b["finding"] for r in rows for b in r["bases"])
undeclared = [u for r in rows for u in r["undeclared_parents"]]
print(len(rows), "folders audited;", dict(findings), "; undeclared parents:",
      sum(not u["may_be_ancestor_of_declared"] for u in undeclared), "; possible ancestors of an unresolved declared base:",
      sum(u["may_be_ancestor_of_declared"] for u in undeclared))
PY
