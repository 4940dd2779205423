#!/usr/bin/env bash
# Side-by-side with ONNX Runtime: builds the peer (../shared/peers/onnxruntime, or $ORT_PEER) in a temporary folder,
# then alternates peer and harness runs on the same 109M Mistral shape and prints tokens/s ratios from neighbouring
# runs. Usage: benchmarks/compare-onnxruntime.sh [rounds, default 2]. Needs python3-onnx and python3-numpy
# (apt-get install python3-onnx python3-numpy) to write the peer's weights. Nothing else may run on the machine:
# timings collapse when anything else does.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds=${1:-2}
peer_source=${ORT_PEER:-../shared/peers/onnxruntime}
[[ -d $peer_source ]] || { echo "ONNX Runtime peer not found at $peer_source (set ORT_PEER)" >&2; exit 2; }

work=$(mktemp -d /tmp/lte-ort-XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$peer_source"/. "$work"/
echo "peer: building in $work"
(cd "$work" && /usr/bin/python3 make_inputs.py mistral-170m > /dev/null)
dotnet build -c Release -v q "$work/OrtPeer" > /dev/null
dotnet build -c Release -v q benchmarks/LastTokenEmbeddings.Benchmarks > /dev/null
harness() { dotnet run -c Release --no-build --project benchmarks/LastTokenEmbeddings.Benchmarks -- harness "$@"; }
peer() { (cd "$work" && dotnet run -c Release --no-build --project OrtPeer -- onnx mistral-170m "$@"); }

# tokens/s of one workload row: the peer's "tok/s best", the harness's "tokens/s".
peer_rate() { awk -F'|' -v w="$2" '$3 ~ "^ "w":" {gsub(/ /, "", $4); print $4; exit}' "$1"; }
harness_rate() { awk -F'|' -v w="$2" -v v="$3" '$2 ~ " "w" " && $3 ~ v {gsub(/[ ,]/, "", $6); print $6; exit}' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }

printf '\n| round | workload | ORT f32 tok/s | library f32 tok/s | f32 ratio | library bf16 tok/s | bf16 / ORT f32 |\n|---|---|---:|---:|---:|---:|---:|\n' > "$work/table.md"
for round in $(seq 1 "$rounds"); do
  echo "round $round: ONNX Runtime"
  peer a,b,c | tee "$work/peer.txt" > /dev/null
  echo "round $round: library, float32"
  harness --synthesize 109m --dtype float32 --workload 8x128,1x64,1x16,64-varied | tee "$work/f32.txt" > /dev/null
  echo "round $round: library, bfloat16"
  harness --synthesize 109m --dtype bfloat16 --workload 8x128,1x64,64-varied | tee "$work/bf16.txt" > /dev/null
  for pair in "a:8x128:." "b:1x64:." "c:64-varied:one at a time"; do
    IFS=: read -r peer_workload workload variant <<<"$pair"
    ort=$(peer_rate "$work/peer.txt" "$peer_workload")
    f32=$(harness_rate "$work/f32.txt" "$workload" "$variant")
    bf16=$(harness_rate "$work/bf16.txt" "$workload" "$variant")
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$round" "$workload" "$ort" "$f32" "$(ratio "$f32" "$ort")" "$bf16" "$(ratio "$bf16" "$ort")" >> "$work/table.md"
  done
  printf '| %s | 1x16 | | %s | | | |\n' "$round" "$(harness_rate "$work/f32.txt" 1x16 .)" >> "$work/table.md"
  grep -hE "^(GEMM peak|ORT GEMM)" "$work/peer.txt" "$work/f32.txt" "$work/bf16.txt" || true
done
cat "$work/table.md"
