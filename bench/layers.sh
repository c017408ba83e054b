#!/usr/bin/env bash
# Layer pack/unpack benchmark: hoist vs `tar -c | gzip`, `tar -c | pigz` (pack)
# and vs `tar -xzf` (unpack), side by side in the same run, on a ~512 MiB tree
# of mixed files (many small text files, large semi-compressible files, some
# incompressible ones) generated deterministically from a fixed seed.
#
#   bench/layers.sh            # 3 measured runs per command (RUNS=5 for more)
#   BENCH_DIR=/var/tmp/x bench/layers.sh
#
# Targets (BENCHMARKS.md): pack >= 1.5x faster than tar|gzip at a comparable
# ratio; unpack no slower than tar -xzf.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
WORK=${BENCH_DIR:-/tmp/hoist-bench-layers}
TREE=$WORK/tree
OUT=$WORK/out
for tool in hyperfine pigz python3 tar gzip; do
  command -v "$tool" >/dev/null || { echo "bench/layers.sh: $tool is not installed (testdata/install-peers.sh installs it)" >&2; exit 1; }
done
mkdir -p "$WORK" "$OUT"

if [ ! -f "$WORK/tree.done" ]; then
  echo "generating the tree in $TREE ..."
  rm -rf "$TREE"
  python3 - "$TREE" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(20261123)
# A vocabulary of pseudo-words: text that compresses like source and docs do.
letters = "etaoinshrdlucmfwypvbgkqjxz"
vocab = ["".join(rng.choice(letters[: rng.randint(6, 26)]) for _ in range(rng.randint(2, 10))) for _ in range(5000)]
def text(n):
    words, size = [], 0
    while size < n:
        w = rng.choice(vocab)
        if rng.random() < 0.08:
            w += "\n" + " " * rng.choice((0, 4, 8))
        words.append(w)
        size += len(w) + 1
    return (" ".join(words)).encode()[:n]
corpus = text(16 << 20)
def corpus_slice(n):
    off = rng.randrange(0, len(corpus) - n)
    return corpus[off:off + n]
# ~195 MiB: 24,000 small text files (1-16 KiB) in 240 directories.
for d in range(240):
    dd = os.path.join(root, "src", f"pkg{d:03}", "lib")
    os.makedirs(dd)
    for f in range(100):
        with open(os.path.join(dd, f"file{f:03}.txt"), "wb") as fh:
            fh.write(corpus_slice(rng.randint(1024, 16 * 1024)))
# ~288 MiB: 18 large files, 3/4 text and 1/4 random in 256 KiB blocks.
os.makedirs(os.path.join(root, "data"))
for i in range(18):
    with open(os.path.join(root, "data", f"blob{i:02}.bin"), "wb") as fh:
        for b in range(64):
            fh.write(rng.randbytes(256 << 10) if b % 4 == 3 else corpus_slice(256 << 10))
# 32 MiB incompressible (already-compressed assets).
os.makedirs(os.path.join(root, "assets"))
for i in range(4):
    with open(os.path.join(root, "assets", f"asset{i}.gz"), "wb") as fh:
        fh.write(rng.randbytes(8 << 20))
PY
  touch "$WORK/tree.done"
fi
echo "tree: $(du -sh --apparent-size "$TREE" | cut -f1), $(find "$TREE" | wc -l) entries; $(nproc) cores"

echo "building the layer tool (release) ..."
cargo build --release -q -p hoist-store --example layer
BIN=$PWD/target/release/examples/layer

hyperfine --runs "$RUNS" --warmup 1 --export-json "$OUT/pack.json" \
  -n hoist "$BIN pack $TREE $OUT/hoist.tgz gzip >/dev/null" \
  -n tar-gzip "tar -C $TREE -cf - . | gzip -6 > $OUT/tar.tgz" \
  -n tar-pigz "tar -C $TREE -cf - . | pigz -6 > $OUT/pigz.tgz"

# Both unpack the archive gzip made, so only the extractor differs.
hyperfine --runs "$RUNS" --warmup 1 --export-json "$OUT/unpack.json" \
  --prepare "rm -rf $OUT/x && mkdir $OUT/x" \
  -n hoist "$BIN unpack $OUT/tar.tgz $OUT/x >/dev/null" \
  -n tar-xzf "tar -xzf $OUT/tar.tgz -C $OUT/x"
rm -rf "$OUT/x"

python3 - "$OUT" "$TREE" <<'PY'
import json, os, sys, statistics
out, tree = sys.argv[1], sys.argv[2]
def medians(name):
    res = json.load(open(os.path.join(out, name)))["results"]
    return {r["command"]: statistics.median(r["times"]) for r in res}
raw = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(tree) for f in fs)
p, u = medians("pack.json"), medians("unpack.json")
size = {k: os.path.getsize(os.path.join(out, f)) for k, f in (("hoist", "hoist.tgz"), ("tar-gzip", "tar.tgz"), ("tar-pigz", "pigz.tgz"))}
print(f"\n== layers: {raw / 2**20:.0f} MiB of files ==")
print(f"{'pack':10} {'median s':>9} {'MiB/s':>8} {'size MiB':>9} {'ratio':>6}")
for k in ("hoist", "tar-gzip", "tar-pigz"):
    print(f"{k:10} {p[k]:9.2f} {raw / 2**20 / p[k]:8.1f} {size[k] / 2**20:9.1f} {raw / size[k]:6.2f}")
print(f"pack speed-up vs tar|gzip: {p['tar-gzip'] / p['hoist']:.2f}x (target >= 1.5x); vs tar|pigz: {p['tar-pigz'] / p['hoist']:.2f}x")
print(f"compressed size vs gzip: {size['hoist'] / size['tar-gzip']:.3f}x")
print(f"{'unpack':10} {'median s':>9}")
for k in ("hoist", "tar-xzf"):
    print(f"{k:10} {u[k]:9.2f}")
print(f"unpack speed vs tar -xzf: {u['tar-xzf'] / u['hoist']:.2f}x (target >= 1.0x)")
PY
