#!/usr/bin/env bash
# One-command check of GeoConv on a CUDA GPU; finishes in under 8 minutes on one GPU.
#
#   tools/gpu_check.sh [OUT_DIR]        (default work_dirs/gpu_check)
#
# Writes OUT_DIR/gpu_check.log (every step's full output) and OUT_DIR/gpu_check.json:
#   - the CUDA tests (tests/ops/test_geo_conv_cuda.py: CPU vs CUDA on large shapes,
#     non-default stream, CUDA-graph capture, float16/bfloat16/float64 paths);
#   - compute-sanitizer --tool memcheck over a small subset, where the tool exists;
#   - the benchmark in float32 (TF32 off for cuDNN and the matmuls alike) and under
#     float16 autocast, as ratios to cuDNN.
# Builds the extension in place first if it was built without CUDA. Exit status 0
# only when every step that ran passed.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
OUT=${1:-work_dirs/gpu_check}
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
STEPS="$OUT/steps.tsv"
: > "$LOG"
: > "$STEPS"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

# run_step NAME SECONDS CMD...: runs CMD with a time limit, appends to the log and
# records "NAME<TAB>rc<TAB>seconds".
run_step() {
  local name=$1 limit=$2
  shift 2
  echo "=== $name ($(date -u +%T)): $*" >> "$LOG"
  local start=$SECONDS
  timeout --kill-after=10 "$limit" "$@" >> "$LOG" 2>&1
  local rc=$?
  printf '%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - start))" >> "$STEPS"
  echo "=== $name: exit $rc after $((SECONDS - start)) s" >> "$LOG"
  return 0
}

skip_step() {
  printf '%s\t%s\t%s\n' "$1" "skipped: $2" 0 >> "$STEPS"
  echo "=== $1: skipped ($2)" >> "$LOG"
}

nvidia-smi >> "$LOG" 2>&1 || true
if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu_check: torch sees no GPU" | tee -a "$LOG"
  skip_step all "no GPU"
else
  if ! "$PYTHON" -c "from geoconv_mm.ops import build_info; import sys; sys.exit(0 if build_info()['cuda'] else 1)" 2>/dev/null; then
    run_step build 240 env MAX_JOBS="${MAX_JOBS:-16}" "$PYTHON" setup.py build_ext --inplace
  fi
  run_step cuda_tests 200 "$PYTHON" -m pytest tests/ops/test_geo_conv_cuda.py -q \
    -p no:cacheprovider --junitxml="$OUT/cuda_tests.xml"
  SANITIZER=$(command -v compute-sanitizer || ls "${CUDA_HOME:-/usr/local/cuda}"/bin/compute-sanitizer 2>/dev/null || true)
  if [ -n "$SANITIZER" ]; then
    run_step memcheck 150 "$SANITIZER" --tool memcheck --error-exitcode 99 \
      "$PYTHON" -m pytest tests/ops/test_geo_conv_cuda.py -q -p no:cacheprovider \
      -k "all_one_weights or batch_size_zero or cuda_matches_cpu and not large"
  else
    skip_step memcheck "compute-sanitizer not found"
  fi
  run_step benchmark_fp32 75 "$PYTHON" tools/benchmarks/benchmark_geoconv.py --device cuda \
    --batch 32 --repeats 5 --out "$OUT/benchmark_fp32.json"
  run_step benchmark_amp 75 "$PYTHON" tools/benchmarks/benchmark_geoconv.py --device cuda --amp \
    --batch 32 --repeats 5 --out "$OUT/benchmark_amp.json"
fi

"$PYTHON" - "$OUT" <<'PY'
import json, os, sys
import xml.etree.ElementTree as ET
out = sys.argv[1]
steps = []
for line in open(os.path.join(out, 'steps.tsv')):
    name, rc, seconds = line.rstrip('\n').split('\t')
    steps.append(dict(name=name, rc=int(rc) if rc.lstrip('-').isdigit() else rc,
                      seconds=int(seconds)))
result = dict(steps=steps)
junit = os.path.join(out, 'cuda_tests.xml')
if os.path.exists(junit):
    cases = []
    for case in ET.parse(junit).iter('testcase'):
        status = 'passed'
        for tag in ('failure', 'error', 'skipped'):
            if case.find(tag) is not None:
                status = tag
        cases.append(dict(name=case.get('name'), status=status))
    result['cuda_tests'] = dict(
        passed=sum(c['status'] == 'passed' for c in cases),
        failed=sum(c['status'] in ('failure', 'error') for c in cases),
        skipped=sum(c['status'] == 'skipped' for c in cases), cases=cases)
for name in ('benchmark_fp32', 'benchmark_amp'):
    path = os.path.join(out, name + '.json')
    if os.path.exists(path):
        with open(path) as f:
            bench = json.load(f)
        result[name] = dict(gpu=bench.get('gpu'), summary=bench['summary'],
                            rows=bench['rows'])
try:
    import torch
    result['gpu'] = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    result['torch'] = torch.__version__
except Exception as exc:  # the JSON is still written
    result['torch_error'] = repr(exc)
ran = [s for s in steps if isinstance(s['rc'], int)]
result['ok'] = bool(ran) and all(s['rc'] == 0 for s in ran)  # nothing ran: not ok
tmp = os.path.join(out, 'gpu_check.json.tmp')
with open(tmp, 'w') as f:
    json.dump(result, f, indent=2)
os.replace(tmp, os.path.join(out, 'gpu_check.json'))
print(f"gpu_check: {'ok' if result['ok'] else 'FAILED'}; see {out}/gpu_check.json, "
      f"{out}/gpu_check.log")
sys.exit(0 if result['ok'] else 1)
PY
