#!/usr/bin/env bash
# End to end on the embedded defaults, CPU only, nothing downloaded: generate a synthetic query/gallery
# embedding set (TAO inference JSON), evaluate it with and without k-reciprocal re-ranking, write a JSON
# report and a CMC plot under results/quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/quickstart}
cargo build --release --locked -p reid-cli
REID=${CARGO_TARGET_DIR:-target}/release/reid
mkdir -p "$OUT"
"$REID" dataset synth-embeddings --out "$OUT" --preset small --dim 256
"$REID" evaluate --query "$OUT/query.json" --gallery "$OUT/gallery.json" \
  --re-ranking --k1 20 --k2 6 --lambda 0.3 \
  --report "$OUT/report.json" --plot "$OUT/cmc.png"
echo
echo "done: $OUT/report.json, $OUT/cmc.png"
