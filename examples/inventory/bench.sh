#!/bin/sh
# bench.sh [HANDOFF_BINARY]: the pipeline benchmark of docs/benchmarks.md.
# Runs benchmark.yml blocking, then parallel, then the same DAG under
# make -j, each in a fresh scratch copy of this example (kept tests are
# written into the workspace, so every run starts from the same code), and
# prints wall times, the critical path and the ratios the issue asks for.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
handoff=${1:-handoff}
case $handoff in */*) handoff=$(cd "$(dirname "$handoff")" && pwd)/$(basename "$handoff") ;; esac
out=${BENCH_OUT:-$(mktemp -d /tmp/handoff-bench.XXXXXX)}
export HANDOFF_EXEC_COMMAND="sh agent/scripted-agent.sh ${AGENT_SECONDS:-6}"

fresh() {
	rm -rf "${out:?}/$1"
	cp -R "$here" "$out/$1"
	rm -rf "$out/$1/.handoff"
	for p in sku stock pricing orders report; do rm -f "$out/$1/$p/${p}_test.go"; done
}

fresh blocking
(cd "$out/blocking" && "$handoff" run --blocking --report report.json --timeline timeline.svg benchmark.yml)
fresh parallel
(cd "$out/parallel" && "$handoff" run --report report.json --timeline timeline.svg benchmark.yml)
fresh make
start=$(date +%s%N)
(cd "$out/make" && make -s -j8 HANDOFF="$handoff")
end=$(date +%s%N)
echo $(((end - start) / 1000000)) > "$out/make/wall_ms"

/usr/bin/python3 - "$out" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
b = json.loads((out / "blocking/report.json").read_text())
p = json.loads((out / "parallel/report.json").read_text())
m = int((out / "make/wall_ms").read_text())
def s(ms): return f"{ms / 1000:.1f} s"
print()
print(f"blocking wall            {s(b['wall_ms'])}  (exit {b['exit_code']}, {sum(t['result'] is not None for t in b['tasks'])} results)")
print(f"parallel wall            {s(p['wall_ms'])}  (exit {p['exit_code']}, {sum(t['result'] is not None for t in p['tasks'])} results)")
print(f"parallel critical path   {s(p['critical_path_ms'])}  ({' → '.join(p['critical_path'])})")
print(f"make -j wall             {s(m)}")
print(f"parallel / critical path {p['wall_ms'] / max(1, p['critical_path_ms']):.3f}  (want ≤ 1.05)")
print(f"parallel / blocking      {p['wall_ms'] / max(1, b['wall_ms']):.3f}  (want ≤ 0.25)")
print(f"parallel / make -j       {p['wall_ms'] / max(1, m):.3f}")
for mod in p["modules"]:
    print(f"  {mod['module']:20} {mod['status']:10} kept {mod['kept']}  {mod['coverage_before']:.1f}% → {mod['coverage_after']:.1f}%")
print(f"\nreports, timelines and logs: {out}")
PY
