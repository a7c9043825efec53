#!/usr/bin/env bash
# Measures the digest stage and the gate against openssl and sha256sum on the same files, in
# one run (issue 2's performance targets). Prints one line per measurement and the ratios.
#   bench/digest.sh [WORKDIR]      (default: a fresh directory under /tmp; needs ~5.5 GiB free)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/reliquary-bench.XXXXXX)}
bin=$work/reliquary
(cd "$here" && go build -o "$bin" ./cmd/reliquary)

secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
rate() { echo "scale=0; $1 / $2 / 1000000" | bc -l; } # bytes, seconds -> MB/s

# 1 GiB in 8 files of random bytes, read once so every tool hashes from the page cache.
big=$work/big; mkdir -p "$big"
for i in $(seq 1 8); do
  [ -f "$big/f$i.bin" ] || head -c $((128 << 20)) /dev/urandom > "$big/f$i.bin"
done
cat "$big"/f*.bin > /dev/null
bytes=$((1 << 30))

t_openssl=$(secs openssl dgst -sha256 "$big"/f1.bin "$big"/f2.bin "$big"/f3.bin "$big"/f4.bin "$big"/f5.bin "$big"/f6.bin "$big"/f7.bin "$big"/f8.bin)
t_one=$(secs env GOMAXPROCS=1 "$bin" digest --quiet --version v0 "$big")
t_all=$(secs "$bin" digest --quiet --version v0 "$big")
t_both=$(secs "$bin" digest --quiet --sha512 --version v0 "$big")
t_sum=$(secs sh -c "cd '$big' && sha256sum -c --quiet SHA256SUMS")
t_verify=$(secs "$bin" verify --quiet --digests-only "$big")  # digest speed: an unsigned tree
echo "openssl dgst -sha256, 1 GiB, 1 core:           $(rate $bytes "$t_openssl") MB/s"
echo "reliquary digest (default, sha256), 1 core:   $(rate $bytes "$t_one") MB/s  ($(echo "scale=2; $t_openssl / $t_one" | bc -l)x openssl per core)"
echo "reliquary digest (default, sha256), $(nproc) cores:  $(rate $bytes "$t_all") MB/s  ($(echo "scale=2; $t_openssl / $t_all" | bc -l)x one openssl stream, $(echo "scale=2; $t_one / $t_all" | bc -l)x the 1-core rate)"
echo "reliquary digest --sha512, $(nproc) cores:           $(rate $bytes "$t_both") MB/s"
echo "sha256sum -c SHA256SUMS:                       $(rate $bytes "$t_sum") MB/s"
echo "reliquary verify (sha256), $(nproc) cores:            $(rate $bytes "$t_verify") MB/s  ($(echo "scale=1; $t_sum / $t_verify" | bc -l)x sha256sum -c)"

# 10,000 small files: the gate's per-file overhead.
small=$work/small
if [ ! -f "$small/manifest.json" ]; then
  mkdir -p "$small"
  for d in $(seq -w 0 99); do mkdir -p "$small/d$d"; for f in $(seq -w 0 99); do echo "file $d$f" > "$small/d$d/f$f.txt"; done; done
  "$bin" digest --quiet --version v0 "$small"
fi
t_small=$(secs "$bin" verify --quiet --digests-only "$small")
echo "reliquary verify, 10,000 small files:          ${t_small}s"

# Memory: one 4 GiB file (sparse, so it costs no disk; hashing still reads 4 GiB of zeros).
huge=$work/huge; mkdir -p "$huge"; truncate -s 4G "$huge/huge.bin"
if [ -x /usr/bin/time ]; then
  rss=$(/usr/bin/time -f %M "$bin" digest --quiet --version v0 "$huge" 2>&1 >/dev/null | tail -1)
  echo "reliquary digest, one 4 GiB file, max RSS:     $((rss / 1024)) MiB"
else
  echo "max RSS: /usr/bin/time not installed (apt-get install time)"
fi
[ -n "${1:-}" ] || rm -rf "$work"
