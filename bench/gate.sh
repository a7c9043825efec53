#!/usr/bin/env bash
# Measures the provenance gate and the cost of signing on a release of 1,000 small artifacts,
# against stock cosign on the same release, in one run (issue 3's performance targets):
#   (a) `reliquary verify DIR --key K.pub`, every signature and attestation check (target < 1 s);
#   (b) `cosign verify-blob-attestation` once per artifact, the only way cosign checks a
#       release (all 1,000, or a sample of COSIGN_SAMPLE extrapolated, said so when it is);
#   (c) the ratio (b)/(a) (target >= 50x);
#   (d) `reliquary sign` and `reliquary attest` with an unencrypted key, beside the process
#       start-up and the one-off scrypt cost of an encrypted key (target: signing adds < 50 ms),
#       and the in-process Go benchmarks of the same stages (set GO_BENCH=0 to skip them).
#
#   bench/gate.sh [WORKDIR]     (default: a fresh directory under /tmp, removed afterwards)
#   env: COSIGN=path (default: cosign on PATH, /work/tools/bin, ~/.cache/reliquary-tools)
#        COSIGN_SAMPLE=N (default 100; 1000 runs cosign over every artifact)
#        RUNS=N (repetitions of each reliquary command, the median is printed; default 5)
#
# The machine is shared: every line shows wall time and CPU time (user+sys), and the load
# average is printed before and after. Wall time is what the targets name; CPU time is what
# the tool itself costs when neighbours are busy.
set -euo pipefail
# The whole script is one function, read before it runs: editing the file mid-run is safe.
main() {
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/reliquary-gate.XXXXXX)}
mkdir -p "$work"
n=1000
sample=${COSIGN_SAMPLE:-100}
runs=${RUNS:-5}
commit=0123456789abcdef0123456789abcdef01234567

cosign=${COSIGN:-$(command -v cosign || true)}
for c in /work/tools/bin/cosign "$HOME/.cache/reliquary-tools/cosign" "$HOME/.cache/reliquary-tools/bin/cosign"; do
  [ -n "$cosign" ] || { [ -x "$c" ] && cosign=$c; } || true
done
[ -x "$cosign" ] || { echo "cosign not found: set COSIGN, or: GOBIN=~/.cache/reliquary-tools go install github.com/sigstore/cosign/v3/cmd/cosign@v3.1.3" >&2; exit 2; }
[ "$sample" -ge 1 ] && [ "$sample" -le "$n" ] || { echo "COSIGN_SAMPLE must be 1..$n" >&2; exit 2; }

bin=$work/reliquary
(cd "$here" && go build -o "$bin" ./cmd/reliquary)

# measure CMD...: runs CMD once (output discarded, failure fatal) and prints "WALL CPU" in seconds.
measure() {
  local TIMEFORMAT='%3R %3U %3S' t
  if ! t=$({ time "$@" >/dev/null 2>&1; } 2>&1); then echo "failed: $*" >&2; exit 1; fi
  set -- $t
  echo "$1 $(echo "$2 + $3" | bc -l)"
}
# median RUNS CMD...: runs CMD RUNS times and prints the median wall and the median CPU time.
median() {
  local r=$1 i walls=() cpus=() w c
  shift
  for ((i = 0; i < r; i++)); do read -r w c < <(measure "$@"); walls+=("$w"); cpus+=("$c"); done
  w=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(((r + 1) / 2))p")
  c=$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n "$(((r + 1) / 2))p")
  echo "$w $c"
}
ms() { printf '%.0f' "$(echo "$1 * 1000" | bc -l)"; }
ratio() { printf '%.1f' "$(echo "$1 / $2" | bc -l)"; }

echo "machine: $(nproc) cores; $(uptime | sed 's/.*load/load/')"
echo "reliquary $(cd "$here" && git rev-parse --short HEAD) ($(go version | cut -d' ' -f3)); $("$cosign" version 2>&1 | grep -m1 GitVersion | tr -s ' ')"

# The release: 1,000 small files, digested with provenance declared (so the gate requires it),
# signed and attested with an unencrypted key. A copy is signed with an encrypted key to
# price the key's scrypt apart from the signing.
rel=$work/release
rm -rf "$rel" "$work"/k.* "$work"/kenc.* && mkdir -p "$rel/artifacts"
for i in $(seq -w 0 $((n - 1))); do echo "artifact $i of a release of $n" > "$rel/artifacts/file-$i.txt"; done
"$bin" keygen --quiet --no-password "$work/k" >/dev/null 2>&1
RELIQUARY_PASSWORD=bench "$bin" keygen --quiet "$work/kenc" >/dev/null
"$bin" digest --quiet "$rel" --version v1.0.0 --expect provenance >/dev/null
cp -r "$rel" "$work/release-enc"
attest_args=(--source-repo https://example.com/x --source-commit "$commit" --time 2026-01-01T00:00:00Z)

read -r w_start c_start < <(median "$runs" "$bin" version)
read -r w_sign c_sign < <(median "$runs" "$bin" sign --quiet "$rel" --key "$work/k.key")
read -r w_attest c_attest < <(median "$runs" "$bin" attest --quiet "$rel" --key "$work/k.key" "${attest_args[@]}")
read -r w_esign c_esign < <(RELIQUARY_PASSWORD=bench median "$runs" "$bin" sign --quiet "$work/release-enc" --key "$work/kenc.key")
read -r w_verify c_verify < <(median "$runs" "$bin" verify --quiet "$rel" --key "$work/k.pub")
"$bin" verify --quiet "$rel" --key "$work/k.pub" >/dev/null # fatal unless VERIFIED

# cosign: one verify-blob-attestation per artifact against the same provenance bundle,
# over an even sample of the artifacts when COSIGN_SAMPLE < 1,000.
step=$((n / sample))
cosign_one() {
  "$cosign" verify-blob-attestation --bundle "$rel/provenance.sigstore.json" --key "$work/k.pub" \
    --insecure-ignore-tlog=true --type slsaprovenance1 "$1"
}
cosign_loop() {
  local i
  for ((i = 0; i < sample; i++)); do
    cosign_one "$rel/artifacts/file-$(printf '%03d' $((i * step))).txt" || { echo "cosign rejected artifact $((i * step))" >&2; return 1; }
  done
}
read -r w_cosign c_cosign < <(measure cosign_loop)
w_cosign_all=$(echo "$w_cosign * $n / $sample" | bc -l)
c_cosign_all=$(echo "$c_cosign * $n / $sample" | bc -l)

# Both sides must reject a tampered artifact, or the comparison means nothing.
echo tampered > "$rel/artifacts/file-500.txt"
if cosign_one "$rel/artifacts/file-500.txt" >/dev/null 2>&1; then echo "cosign accepted a tampered artifact" >&2; exit 1; fi
if "$bin" verify --quiet "$rel" --key "$work/k.pub" >/dev/null 2>&1; then echo "reliquary accepted a tampered artifact" >&2; exit 1; fi
echo "tamper check: both reject a changed artifact"

echo
echo "== gate over $n artifacts (median of $runs; wall / cpu)"
echo "reliquary verify --key (all checks):       $(ms "$w_verify") ms / $(ms "$c_verify") ms cpu   (target < 1000 ms)"
if [ "$sample" -eq "$n" ]; then
  echo "cosign verify-blob-attestation x $n:     $(ms "$w_cosign") ms / $(ms "$c_cosign") ms cpu"
else
  echo "cosign verify-blob-attestation x $sample:      $(ms "$w_cosign") ms / $(ms "$c_cosign") ms cpu  ($(ms "$(echo "$w_cosign / $sample" | bc -l)") ms each)"
  echo "  extrapolated to $n (sampled $sample of $n): $(ms "$w_cosign_all") ms / $(ms "$c_cosign_all") ms cpu"
fi
echo "ratio cosign/reliquary:                    $(ratio "$w_cosign_all" "$w_verify")x wall, $(ratio "$c_cosign_all" "$c_verify")x cpu   (target >= 50x)"
echo
echo "== signing a $n-artifact release (median of $runs; wall / cpu, each a whole process)"
echo "reliquary version (process start-up):      $(ms "$w_start") ms / $(ms "$c_start") ms cpu"
echo "reliquary sign, unencrypted key:           $(ms "$w_sign") ms / $(ms "$c_sign") ms cpu"
echo "reliquary sign, encrypted key (scrypt):    $(ms "$w_esign") ms / $(ms "$c_esign") ms cpu  (key loading ~$(ms "$(echo "$c_esign - $c_sign" | bc -l)") ms cpu)"
echo "reliquary attest (provenance + links):     $(ms "$w_attest") ms / $(ms "$c_attest") ms cpu"
echo "sign + attest minus 2 start-ups:           $(ms "$(echo "$w_sign + $w_attest - 2 * $w_start" | bc -l)") ms / $(ms "$(echo "$c_sign + $c_attest - 2 * $c_start" | bc -l)") ms cpu   (target < 50 ms)"

if [ "${GO_BENCH:-1}" != 0 ]; then
  echo
  echo "== in-process Go benchmarks (ns/op: wall time; cpu-ms/op: CPU time, all threads)"
  echo "   Gate1000: the gate; GateSigning1000: manifest = reliquary sign, provenance + links = reliquary attest"
  (cd "$here" && go test -run '^$' -benchtime "${BENCHTIME:-10x}" \
    -bench 'BenchmarkGate1000|BenchmarkGateSigning1000|BenchmarkLoadEncrypted' \
    ./pipeline/verify ./pipeline/sign) | grep -E '^Benchmark'
fi
echo
echo "after: $(uptime | sed 's/.*load/load/')"
[ -n "${1:-}" ] || rm -rf "$work"
}
main "$@"
