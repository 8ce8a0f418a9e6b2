#!/usr/bin/env bash
# The GPU checks of issues 4 and 7 in one command, for a session that is lent a GPU machine
# (the `device` tool runs it from the repository root with $OUT set; elsewhere pass a folder):
#
#     bash benchmarks/gpu_session.sh [OUT_DIR] [--quick]
#
# Writes at most eight files into OUT_DIR (what a device call brings back): env.txt,
# pytest-gpu.txt / .xml, sanitizers.txt, kernels.txt / .json, peers.txt / .json. Nothing
# is installed: the checkout is imported through PYTHONPATH, so it also runs on an image that
# cannot reach a package index. Every step runs even when an earlier one fails; the exit status
# is the number of failed steps.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out="${1:-${OUT:-gpu-results}}"
quick=""
[[ "${2:-}" == "--quick" ]] && quick="--quick"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
python=$(command -v python3 || command -v python)
failed=0
step() {  # step NAME LOGFILE COMMAND...: runs COMMAND, appending its output to LOGFILE
    local name=$1 log=$2
    shift 2
    echo "== $name ($(date -u +%H:%M:%S))" | tee -a "$log"
    if ! "$@" >>"$log" 2>&1; then
        echo "!! $name failed" | tee -a "$log"
        failed=$((failed + 1))
    fi
}

{
    date -u
    nvidia-smi || true
    nvcc --version || true
    "$python" -c "import sys, numpy, cupy; print(sys.version); print('numpy', numpy.__version__, 'cupy', cupy.__version__); print(cupy.cuda.runtime.getDeviceProperties(0)['name'].decode())" || true
    "$python" -m gkeras || true
} >"$out/env.txt" 2>&1

step "pytest -m gpu" "$out/pytest-gpu.txt" \
    "$python" -m pytest -m gpu -q -rfE -p no:cacheprovider --junitxml="$out/pytest-gpu.xml"

for tool in memcheck racecheck synccheck initcheck; do
    step "compute-sanitizer $tool" "$out/sanitizers.txt" \
        compute-sanitizer --tool "$tool" --error-exitcode 9 "$python" tests/kernels/sanitizer_driver.py
done

step "bench_kernels" "$out/kernels.txt" \
    "$python" benchmarks/bench_kernels.py $quick --json "$out/kernels.json"

step "bench_peers on CuPy vs PyTorch CUDA" "$out/peers.txt" \
    "$python" benchmarks/bench_peers.py --backend cupy --peers torch-cuda --reps "${GPU_REPS:-3}" $quick --json "$out/peers.json"

echo "failed steps: $failed" | tee -a "$out/env.txt"
exit "$failed"
