#!/usr/bin/env bash
# The GPU checks of issue 26 in one run (about 10 minutes on one H200): throughput, the quick sweep's wall time,
# the GPU streaming test, a one-GPU nccl torchrun run and noise injection on the GPU. Everything it prints goes to
# $OUT/gpu_checks.txt (OUT defaults to results/gpu); copy the figures into docs/benchmarks.md with the device named.
#   bash bench/gpu_checks.sh
set -uo pipefail
OUT=${OUT:-results/gpu}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu_checks.txt") 2>&1
PY=${PY:-.venv/bin/python}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
echo "== throughput: fp32 vs bf16, eager vs compiled; the quick sweep from an empty cache"
timeout 300 "$PY" bench/gpu.py --compile --sweep --steps 20
echo "== the GPU tests: streaming from pinned host memory equals resident training; GPU determinism"
timeout 120 "$PY" -m pytest -q -p no:cacheprovider tests/test_full_scale.py tests/test_runtime.py -k "gpu or cuda or streams"
echo "== one-GPU nccl torchrun (SyncBatchNorm path) on the tiny preset"
timeout 120 "$PY" -m torch.distributed.run --standalone --nproc-per-node 1 -m nml_tutorial pretrain \
    --preset tests/presets/tiny.json --noise 0.3 --device cuda --cache "$OUT/cache" --no-progress
echo "== noise injection on the GPU equals the CPU's draw"
timeout 60 "$PY" - <<'PYEOF'
import torch
from nml_tutorial.noise import apply_label_noise
labels = torch.arange(1_000_000) % 1000
cpu = apply_label_noise(labels, 1000, "symmetric", 0.3, seed=0)
gpu = apply_label_noise(labels.cuda(), 1000, "symmetric", 0.3, seed=0)
print("same noisy labels on GPU and CPU:", torch.equal(cpu.labels, gpu.labels.cpu()),
      "realised ratio", float(gpu.corrupted.float().mean()))
PYEOF
