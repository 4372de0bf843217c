#!/usr/bin/env bash
# GPU check: run this on a machine with an NVIDIA GPU (CUDA 12, cuDNN 9) to see the GPU path work
# end to end, and keep its numbers. Steps, each fatal when it fails (step 5's profile excepted:
# serving is still checked, and the script fails at the end):
#   1. a GPU is present (nvidia-smi lists one);
#   2. onnxruntime-node's CUDA execution provider is installed and loads (a session on CUDA
#      alone, with no CPU fallback);
#   3. `cornserve profile` measures the demo's components on the GPU;
#   4. the demo deployment, planned onto this machine's GPUs with that profile, serves on CUDA
#      (every executor reports provider cuda) and answers every request type;
#   5. the HF-layout deployment (HF_DEPLOYMENT_IN_REPO below) is profiled and served the same way.
# Numbers (the profile, the plan, per-request latencies) go to bench/gpu-check/<gpu>/.
#
# Environment:
#   CORNSERVE_GPU_CHECK_HF_DEPLOYMENT  another HF-layout deployment YAML to check in step 5
#                                      (default: HF_DEPLOYMENT_IN_REPO)
#   CORNSERVE_GPU_CHECK_OUT            where the numbers go (default bench/gpu-check/<gpu>)
#   CORNSERVE_NVIDIA_SMI               the nvidia-smi to ask (default: nvidia-smi on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  printf 'gpu-check: FAILED: %s\n' "$*" >&2
  exit 1
}
step() { printf '\ngpu-check: %s\n' "$*" >&2; }

CLI=(node --import tsx src/cli/main.ts)
SMI=${CORNSERVE_NVIDIA_SMI:-nvidia-smi}
# The tiny Hugging Face-layout pipeline's deployment under fixtures/deployments/, checked in
# step 5. Empty until that deployment lands in the repository: set it here then.
HF_DEPLOYMENT_IN_REPO=''
HF_DEPLOYMENT=${CORNSERVE_GPU_CHECK_HF_DEPLOYMENT:-$HF_DEPLOYMENT_IN_REPO}
SOFT_FAILURES=()

# The model graph a deployment names, as a path from here.
hf_model_graph() {
  node --input-type=module -e "import { parse } from 'yaml'; import { readFileSync } from 'node:fs'; import { dirname, resolve } from 'node:path'; const d = process.argv[1]; console.log(resolve(dirname(d), parse(readFileSync(d, 'utf8')).modelGraph));" "$HF_DEPLOYMENT"
}

step '1/5 a GPU is present'
command -v "$SMI" >/dev/null 2>&1 || fail "no GPU: '$SMI' is not installed, so there is no NVIDIA driver here. Run this script on a machine with an NVIDIA GPU."
GPU_LIST=$("$SMI" -L 2>&1) || fail "no GPU: '$SMI -L' failed: $GPU_LIST"
GPU_COUNT=$(grep -c '^GPU [0-9]' <<<"$GPU_LIST" || true)
[ "$GPU_COUNT" -ge 1 ] || fail "no GPU: '$SMI -L' lists none: $GPU_LIST"
GPU_NAME=$("$SMI" --query-gpu=name --format=csv,noheader | head -n 1)
# The GPU catalogue's type for this card (fixtures/gpus.yaml); the roofline numbers of the plan come from it.
case "$GPU_NAME" in
  *H200*) GPU_TYPE=H200 ;;
  *H100*) GPU_TYPE=H100-SXM ;;
  *A100*) GPU_TYPE=A100-80GB ;;
  *L40S*) GPU_TYPE=L40S ;;
  *L4*) GPU_TYPE=L4 ;;
  *B200*) GPU_TYPE=B200 ;;
  *) fail "GPU '$GPU_NAME' has no entry in fixtures/gpus.yaml; add its datasheet numbers there first" ;;
esac
OUT=${CORNSERVE_GPU_CHECK_OUT:-bench/gpu-check/$GPU_TYPE}
mkdir -p "$OUT"
printf '%s\n' "$GPU_LIST" >"$OUT/gpus.txt"
echo "gpu-check: $GPU_COUNT × $GPU_NAME (catalogue type $GPU_TYPE); numbers go to $OUT" >&2

step '2/5 the CUDA execution provider loads'
node --import tsx scripts/gpu-check-cuda.ts fixtures/onnx/tiny/llm.onnx ||
  fail "the CUDA execution provider does not load (see above). Install it with: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install"

step '3/5 cornserve profile on the GPU'
PROFILE_OK=yes
"${CLI[@]}" profile fixtures/models/demo.yaml --ep cuda --gpu "$GPU_TYPE" --tp 1 --batch 1,2,4,8 --repeats 10 -o "$OUT/demo.profile.yaml" 2>"$OUT/profile.log" || PROFILE_OK=no
cat "$OUT/profile.log" >&2
[ "$PROFILE_OK" = yes ] || fail "cornserve profile failed on the GPU (see $OUT/profile.log)"
if grep -q 'instead of cuda' "$OUT/profile.log"; then fail "cornserve profile fell back to the CPU (see $OUT/profile.log)"; fi

# This machine's GPUs as a cluster, which the deployments are moved onto. The demo's OCR and omni
# components share no edge, so they never share a unit: on one GPU the demo also gets two CPU
# core slots (the `local` pool, with the CPU profile measured for the demo), and the planner
# decides what goes where.
gpu_pool() {
  cat <<EOF
  - name: gpu
    gpu: $GPU_TYPE
    gpusPerNode: $GPU_COUNT
    nodes: 1
    intraNodeBandwidthGBps: 100 # assumption: only the plan's transfer estimates use it
    interNodeBandwidthGBps: 1 # one node
    source: gpu-check.sh on $GPU_NAME
EOF
}
{
  printf 'name: gpu-check\ndescription: the GPUs gpu-check found\npools:\n'
  gpu_pool
} >"$OUT/gpu.cluster.yaml"
{
  printf 'name: gpu-check-with-cpu\ndescription: the GPUs gpu-check found, and two CPU core slots\npools:\n'
  gpu_pool
  printf '  - { name: local, gpu: CPU-core, gpusPerNode: 2, nodes: 1, intraNodeBandwidthGBps: 3, interNodeBandwidthGBps: 1, source: gpu-check.sh }\n'
} >"$OUT/gpu-cpu.cluster.yaml"

# Serves `deployment` on CUDA: plan, serve, check every executor loaded on cuda, send requests.
serve_on_cuda() {
  local name=$1 deployment=$2
  "${CLI[@]}" plan "$deployment" -o "$OUT/$name.plan.json" || fail "cornserve plan $deployment failed"
  local log="$OUT/$name.serve.log"
  "${CLI[@]}" serve "$OUT/$name.plan.json" --port 0 --log-format json 2>"$log" &
  local pid=$!
  # shellcheck disable=SC2064
  trap "kill $pid 2>/dev/null || true" EXIT
  local port=''
  for _ in $(seq 1 600); do
    port=$(grep -o '"event":"serve.listening"[^}]*"port":[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || fail "cornserve serve exited before listening (see $log)"
    sleep 0.5
  done
  [ -n "$port" ] || fail "cornserve serve did not listen within 5 minutes (see $log)"
  # Every executor of a unit on the gpu pool must have loaded its graphs on cuda.
  local loaded
  loaded=$(grep '\\"event\\":\\"executor.loaded\\"' "$log" | grep '"unit":"[^"]*@gpu:' || true)
  [ -n "$loaded" ] || fail "no executor on the GPU pool reported what it loaded (see $OUT/$name.plan.json and $log)"
  if grep -qv '\\"provider\\":\\"cuda\\"' <<<"$loaded"; then
    fail "an executor of $name on the GPU loaded on a provider other than cuda (see the executor.loaded lines in $log)"
  fi
  node --import tsx scripts/gpu-check-requests.ts "http://127.0.0.1:$port" "$OUT/$name.plan.json" "$OUT/$name.requests.md" || fail "requests to $name failed (see $log)"
  kill -TERM "$pid"
  wait "$pid" || fail "cornserve serve did not exit cleanly on SIGTERM (see $log)"
  trap - EXIT
}

step '4/5 the demo serves on CUDA'
node --import tsx scripts/gpu-check-deployment.ts fixtures/deployments/demo-local.yaml "$OUT/gpu-cpu.cluster.yaml" "$OUT/demo.deployment.yaml" "$OUT/demo.profile.yaml" fixtures/profiles/demo-local-cpu.yaml
serve_on_cuda demo "$OUT/demo.deployment.yaml"

step '5/5 the HF-layout pipeline serves on CUDA'
if [ -n "$HF_DEPLOYMENT" ]; then
  # Its components measured on the GPU too; if `profile` cannot run them, the plan falls back
  # to datasheet estimates so that serving is still checked, and the check fails at the end.
  HF_PROFILE=("$OUT/hf.profile.yaml")
  HF_PROFILE_OK=yes
  "${CLI[@]}" profile "$(hf_model_graph)" --ep cuda --gpu "$GPU_TYPE" --tp 1 --batch 1,2,4,8 --repeats 10 -o "$OUT/hf.profile.yaml" 2>"$OUT/hf.profile.log" || HF_PROFILE_OK=no
  cat "$OUT/hf.profile.log" >&2
  if [ "$HF_PROFILE_OK" = no ] || grep -q 'instead of cuda' "$OUT/hf.profile.log"; then
    SOFT_FAILURES+=("cornserve profile of the HF-layout model graph failed or fell back to the CPU (see $OUT/hf.profile.log)")
    HF_PROFILE=()
  fi
  node --import tsx scripts/gpu-check-deployment.ts "$HF_DEPLOYMENT" "$OUT/gpu.cluster.yaml" "$OUT/hf.deployment.yaml" "${HF_PROFILE[@]}"
  serve_on_cuda hf "$OUT/hf.deployment.yaml"
else
  echo 'gpu-check: skipped: no HF-layout deployment named (HF_DEPLOYMENT_IN_REPO in this script, or CORNSERVE_GPU_CHECK_HF_DEPLOYMENT)' >&2
fi

if [ ${#SOFT_FAILURES[@]} -gt 0 ]; then
  for failure in "${SOFT_FAILURES[@]}"; do printf 'gpu-check: FAILED: %s\n' "$failure" >&2; done
  exit 1
fi
HF_CHECKED=' (the HF-layout pipeline was not checked)'
[ -z "$HF_DEPLOYMENT" ] || HF_CHECKED=", the HF-layout pipeline included"
echo "gpu-check: PASSED on $GPU_COUNT × $GPU_NAME$HF_CHECKED; numbers in $OUT" >&2
