#!/usr/bin/env bash
# The GPU check of issue 11 as one prepared call of the device tool (a lent machine has ~15 min in all):
#   run(command="bash benchmarks/device_check.sh", timeout_s=560)
# 1. the CUDA tests (tests/test_network.py and tests/train/test_cuda_training.py, every test with "cuda" in its name),
#    every shipped recipe's network against the CPU (test_cuda_shipped_models_match_the_cpu) after the rest;
# 2. the pyramid W-Nets against their M-Nets, batch 16 x 88,200, with CUDA peak memory (benchmarks section pyramid);
# 3. the recipes' training step and inference, the SC09 pyramid's variants among them (section recipes).
# Each step has its own time limit, so a slow one leaves the others their time. The machine's own python3 holds a
# CUDA torch; the package runs from the tree (PYTHONPATH), nothing is installed. Everything lands in $OUT (9 files, two folders).
set -u
out=${OUT:-/tmp/device_check}
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
py=${PYTHON:-python3}
step() {  # step NAME SECONDS COMMAND...: COMMAND's output in $out/NAME.txt, its exit status on the last line
    local name=$1 limit=$2
    shift 2
    local t0=$SECONDS
    timeout "$limit" "$@" >"$out/$name.txt" 2>&1
    local rc=$?
    echo "rc=$rc wall_s=$((SECONDS - t0))" >>"$out/$name.txt"
    echo "$name: rc=$rc in $((SECONDS - t0)) s"
}
{ nvidia-smi -L; $py -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"; } \
    >"$out/device.txt" 2>&1
cat "$out/device.txt"
tests=(tests/test_network.py tests/train/test_cuda_training.py)
step cuda_tests 210 $py -m pytest -q -p no:cacheprovider -k "cuda and not shipped_models" "${tests[@]}"
step cuda_models 90 $py -m pytest -q -p no:cacheprovider -k "cuda and shipped_models" "${tests[@]}"
step pyramid 140 $py -m benchmarks --only pyramid --device cuda --out "$out/pyramid"
step recipes 110 $py -m benchmarks --only recipes --device cuda --out "$out/recipes"
tail -n 3 "$out/cuda_tests.txt" "$out/cuda_models.txt"
