#!/usr/bin/env bash
# One-command check of GeoConv on a CUDA GPU, the portable PyTorch backend as its
# oracle.
#
#   tools/gpu_check.sh [OUT_DIR]        (default work_dirs/gpu_check)
#
# Writes OUT_DIR/gpu_check.log (every step's full output) and OUT_DIR/gpu_check.json:
#   - build: setup.py build_ext --inplace, always (setup.py lists every header as a
#     dependency, so a change in a source or a header alone recompiles), then a check
#     that the extension is newer than every file of ops/csrc it is built from;
#   - the CUDA tests (tests/ops/test_geo_conv_cuda.py): CPU vs CUDA; native vs the
#     portable backend on the GeoCNN layers and on random shapes in float32,
#     float16, bfloat16 and under autocast; five samples in chunks of 2, 2 and 1
#     compared value by value; the reduced-precision weight gradient against
#     float64 and under every cuBLAS flag; batched GEMMs for many groups;
#     non-default streams, CUDA graphs;
#   - compute-sanitizer memcheck and initcheck over a subset, with PyTorch's caching
#     allocator off (PYTORCH_NO_CUDA_MEMORY_CACHING=1), so that an out-of-bounds
#     access inside a pooled block is seen;
#   - one GeoCNN training step with the native kernels and with the portable
#     backend: loss and every gradient compared, then both step times;
#   - the benchmark of native, portable and cuDNN in float32 (TF32 off for cuDNN and
#     the matmuls alike) and under float16 autocast, as ratios to cuDNN.
# Exit status 0 only when every step that ran passed.
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

step_ok() {
  awk -F'\t' -v n="$1" '$1 == n { rc = $2 } END { exit rc == "0" ? 0 : 1 }' "$STEPS"
}

nvidia-smi >> "$LOG" 2>&1 || true
if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu_check: torch sees no GPU" | tee -a "$LOG"
  skip_step all "no GPU"
else
  run_step build 420 env MAX_JOBS="${MAX_JOBS:-16}" FORCE_CUDA=1 "$PYTHON" setup.py build_ext --inplace
  # The extension must be newer than every source and header it is built from.
  run_step fresh_build 30 "$PYTHON" - <<'PY'
import glob, os, sys
from geoconv_mm.ops import build_info
so = glob.glob('geoconv_mm/ops/_C*.so')
assert so, 'geoconv_mm/ops/_C is not built'
sources = [p for p in glob.glob('ops/csrc/**/*', recursive=True)
           if os.path.isfile(p) and '/geometry/' not in p]
stale = [p for p in sources if os.path.getmtime(p) > os.path.getmtime(so[0])]
assert not stale, f'the extension is older than {stale}'
info = build_info()
assert info['cuda'], f'built without CUDA: {info}'
print('fresh build:', info)
PY
  if step_ok build && step_ok fresh_build; then
    run_step cuda_tests 300 "$PYTHON" -m pytest tests/ops/test_geo_conv_cuda.py -q \
      -p no:cacheprovider --junitxml="$OUT/cuda_tests.xml"
    SANITIZER=$(command -v compute-sanitizer || ls "${CUDA_HOME:-/usr/local/cuda}"/bin/compute-sanitizer 2>/dev/null || true)
    SUBSET="all_one_weights or batch_size_zero or five_samples or depthwise or (cuda_matches_cpu and not large)"
    if [ -n "$SANITIZER" ]; then
      for tool in memcheck initcheck; do
        run_step "$tool" 240 env PYTORCH_NO_CUDA_MEMORY_CACHING=1 "$SANITIZER" \
          --tool "$tool" --error-exitcode 99 \
          "$PYTHON" -m pytest tests/ops/test_geo_conv_cuda.py -q -p no:cacheprovider -x \
          -k "$SUBSET"
      done
    else
      skip_step memcheck "compute-sanitizer not found"
      skip_step initcheck "compute-sanitizer not found"
    fi
    run_step train_step_backends 240 "$PYTHON" tools/benchmarks/benchmark_train_step.py \
      --compare backends --device cuda --batch-size 8 --iters 5 --warmup 2 \
      --out "$OUT/train_step_backends.json"
    run_step benchmark_fp32 150 "$PYTHON" tools/benchmarks/benchmark_geoconv.py --device cuda \
      --portable --batch 8,32 --repeats 5 --out "$OUT/benchmark_fp32.json"
    run_step benchmark_amp 150 "$PYTHON" tools/benchmarks/benchmark_geoconv.py --device cuda \
      --portable --amp --batch 8,32 --repeats 5 --out "$OUT/benchmark_amp.json"
  fi
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
                            self_check_ms=bench.get('self_check_ms'),
                            rows=bench['rows'])
path = os.path.join(out, 'train_step_backends.json')
if os.path.exists(path):
    with open(path) as f:
        result['train_step_backends'] = json.load(f)
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
