#!/usr/bin/env bash
# Measures a local `reliquary release` of a real multi-package Go project for four platforms
# against GoReleaser v2.15.1 with an equivalent configuration, in one run (issue 5's target:
# wall-time ratio reliquary/GoReleaser at most 1.0 with an empty GOCACHE, at most 0.5 warm).
#
#   bench/release.sh [WORKDIR]   (default: a fresh directory under /tmp, removed afterwards)
#   env: PROJECT=DIR     the Go module to release (default testdata/projects/multi); it is
#                        copied (a git checkout: its HEAD commit, so PROJECT=. releases
#                        reliquary itself) into a fresh git repository, committed at a
#                        fixed date and tagged
#        GORELEASER=path (default ~/.cache/reliquary-tools/goreleaser-v2.15.1/goreleaser,
#                        built from the Go proxy on first use, about 2 minutes, then cached)
#        COSIGN=path     (default: cosign on PATH, /work/tools/bin, ~/.cache/reliquary-tools)
#
# Both tools get the same source, platforms, key and module cache, and per tool a GOCACHE
# that is empty for the cold run and reused for the warm run. Both run with GOPROXY=off
# (the module cache must already hold the project's dependencies) and, where `unshare -n`
# works, in a network namespace with no network at all. Runs are interleaved (reliquary
# cold, GoReleaser cold, reliquary warm, GoReleaser warm) so a change in the machine's load
# hits both sides alike. Each line shows wall time and CPU time (user+sys of all processes).
#
# What each side does:
#   reliquary  freeze (go.mod/go.sum checks, deps.lock.json), build (one `go build` per
#              platform, deterministic tar.gz/zip, OCI image layout, docs bundle), digest,
#              sign (manifest), attest (SLSA provenance, in-toto links), release notes,
#              escrow, and the verification gate.
#   GoReleaser one `go build` per binary and platform (-trimpath, CGO_ENABLED=0, commit-date
#              ldflags and mod_timestamp), tar.gz/zip archives with LICENSE and README at the
#              commit time, checksums.txt, `cosign sign-blob` of checksums.txt with the same
#              key (offline: --tlog-upload=false --use-signing-config=false), changelog;
#              publishing and announcing skipped, release disabled (no GitHub).
set -euo pipefail
# The whole script is one function, read before it runs: editing the file mid-run is safe.
main() {
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/reliquary-release.XXXXXX)}
mkdir -p "$work"
project=$(cd "${PROJECT:-$here/testdata/projects/multi}" && pwd)
platforms=linux/amd64,linux/arm64,darwin/arm64,windows/amd64
version=v1.0.0
commit_date=2026-01-01T00:00:00Z

goreleaser=${GORELEASER:-$HOME/.cache/reliquary-tools/goreleaser-v2.15.1/goreleaser}
if [ ! -x "$goreleaser" ]; then
  echo "building GoReleaser v2.15.1 from the Go proxy into $(dirname "$goreleaser") (once)..." >&2
  mkdir -p "$(dirname "$goreleaser")"
  (cd /tmp && GOBIN=$(dirname "$goreleaser") GOFLAGS=-mod=mod go install github.com/goreleaser/goreleaser/v2@v2.15.1)
fi
cosign=${COSIGN:-$(command -v cosign || true)}
for c in /work/tools/bin/cosign "$HOME/.cache/reliquary-tools/cosign" "$HOME/.cache/reliquary-tools/bin/cosign"; do
  [ -n "$cosign" ] || { [ -x "$c" ] && cosign=$c; } || true
done
[ -x "$cosign" ] || { echo "cosign not found: set COSIGN" >&2; exit 2; }

bin=$work/reliquary
(cd "$here" && go build -o "$bin" ./cmd/reliquary)

# No network for either tool when the kernel lets us make an empty network namespace.
netns=()
if unshare -n true 2>/dev/null; then netns=(unshare -n); fi

# The project in a fresh git repository: one commit at a fixed date, tagged.
src=$work/src
rm -rf "$src" && mkdir -p "$src"
if [ "$(git -C "$project" rev-parse --show-toplevel 2>/dev/null)" = "$project" ]; then
  git -C "$project" archive HEAD | tar -x -C "$src" # a git checkout: its last commit, nothing else
else
  cp -r "$project"/. "$src"/ && chmod -R u+w "$src" # the module cache's copies are read-only
fi
rm -rf "$src/.git" "$src/dist"
# reliquary's freeze refuses an untidy go.sum (many published modules carry stale lines):
# tidy the copy, offline, so both tools build the same, frozen dependency set.
tidied=""
if ! (cd "$src" && GOPROXY=off go mod tidy -diff >/dev/null 2>&1); then
  (cd "$src" && GOPROXY=off GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1) ||
    { echo "$project: go mod tidy fails offline: put its dependencies in the module cache first (go mod download, and go mod tidy in a copy)" >&2; exit 2; }
  tidied=" (go.mod/go.sum were not tidy: the copy was tidied)"
fi
git_env=(env GIT_AUTHOR_DATE=$commit_date GIT_COMMITTER_DATE=$commit_date GIT_AUTHOR_NAME=bench
  GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com)
(cd "$src" && git init -q && git add -A && "${git_env[@]}" git commit -qm "release $version" && git tag $version &&
  git remote add origin https://example.com/bench.git) # GoReleaser reads a remote URL; nothing contacts it
mains=$(cd "$src" && GOPROXY=off GOFLAGS=-mod=readonly go list -f '{{if eq .Name "main"}}{{.Dir}}{{end}}' ./... | sed "s|^$src|.|")
[ -n "$mains" ] || { echo "$project has no main package" >&2; exit 2; }
name=$(cd "$src" && go list -m | sed 's|.*/||')

# One key for both: a cosign key pair (scrypt-encrypted; reliquary reads cosign's key files).
export COSIGN_PASSWORD=bench
unset RELIQUARY_PASSWORD
rm -f "$work/cosign.key" "$work/cosign.pub"
(cd "$work" && "$cosign" generate-key-pair >/dev/null 2>&1)

# The GoReleaser configuration: one build per main package, the same four platforms.
goreleaser_config() { # DIST
  cat <<EOF
version: 2
project_name: $name
dist: $1
builds:
EOF
  for m in $mains; do
    cat <<EOF
  - id: $(basename "$m")
    main: $m
    binary: $(basename "$m")
    env: [CGO_ENABLED=0]
    goos: [linux, darwin, windows]
    goarch: [amd64, arm64]
    ignore:
      - {goos: darwin, goarch: amd64}
      - {goos: windows, goarch: arm64}
    flags: [-trimpath]
    ldflags: ["-s -w -X main.version={{.Version}} -X main.commit={{.FullCommit}} -X main.date={{.CommitDate}}"]
    mod_timestamp: "{{ .CommitTimestamp }}"
EOF
  done
  cat <<EOF
archives:
  - id: default
    formats: [tar.gz]
    format_overrides:
      - {goos: windows, formats: [zip]}
    name_template: "{{ .ProjectName }}_{{ .Tag }}_{{ .Os }}_{{ .Arch }}"
    builds_info: {mtime: "{{ .CommitDate }}"}
    files:
      - {src: "LICENSE*", info: {mtime: "{{ .CommitDate }}"}}
      - {src: "README*", info: {mtime: "{{ .CommitDate }}"}}
checksum:
  name_template: checksums.txt
  ids: [default] # GoReleaser issue 6514: without it checksums.txt is rewritten after signing
signs:
  - id: cosign
    cmd: $cosign
    artifacts: checksum
    signature: "\${artifact}.sigstore.json"
    env: [COSIGN_PASSWORD=$COSIGN_PASSWORD]
    args: [sign-blob, --key=$work/cosign.key, --tlog-upload=false, --use-signing-config=false, "--bundle=\${signature}", --yes, "\${artifact}"]
release:
  disable: true
EOF
}

# measure LABEL CMD...: runs CMD with its output in WORK/LABEL.log; prints "WALL CPU" seconds.
measure() {
  local label=$1 TIMEFORMAT='%3R %3U %3S' t
  shift
  if ! t=$({ time "$@" >"$work/$label.log" 2>&1; } 2>&1); then
    echo "$label failed; the last lines of $work/$label.log:" >&2
    tail -20 "$work/$label.log" >&2
    exit 1
  fi
  set -- $t
  echo "$1 $(echo "$2 + $3" | bc -l)"
}
go_env=(env GOPROXY=off GOFLAGS=-mod=readonly GOSUMDB=off GOTOOLCHAIN=local)
run_reliquary() { # LABEL GOCACHE
  rm -rf "$work/out-$1"
  measure "$1" "${netns[@]}" "${go_env[@]}" GOCACHE="$2" "$bin" release --source "$src" --version $version \
    --key "$work/cosign.key" --out "$work/out-$1" --source-repo https://example.com/$name --platforms $platforms \
    --binary-cache "$2.bin"  # linked binaries: empty for the cold run, like GOCACHE
}
run_goreleaser() { # LABEL GOCACHE
  rm -rf "$work/dist-$1"
  goreleaser_config "$work/dist-$1" > "$work/goreleaser-$1.yaml"
  (cd "$src" && measure "$1" "${netns[@]}" "${go_env[@]}" GOCACHE="$2" "$goreleaser" release \
    --config "$work/goreleaser-$1.yaml" --skip=publish,announce)
}

echo "machine: $(nproc) cores; before: $(uptime | sed 's/.*load/load/')"
echo "project: $project$tidied; $(echo $mains | wc -w) main packages: $(echo $mains | tr '\n' ' '); platforms $platforms"
echo "reliquary $(cd "$here" && git rev-parse --short HEAD); $("$goreleaser" --version 2>&1 | grep -m1 GitVersion | tr -s ' '); cosign $("$cosign" version 2>&1 | grep -m1 GitVersion | tr -s ' ' | cut -d' ' -f2); $(go version | cut -d' ' -f3); network: ${netns[*]:-not isolated (unshare -n unavailable)}, GOPROXY=off"

rm -rf "$work/gocache-reliquary" "$work/gocache-reliquary.bin" "$work/gocache-goreleaser"
mkdir -p "$work/gocache-reliquary" "$work/gocache-goreleaser"
read -r w_rc c_rc < <(run_reliquary reliquary-cold "$work/gocache-reliquary")
echo "  reliquary cold done   ($(uptime | sed 's/.*load/load/'))"
read -r w_gc c_gc < <(run_goreleaser goreleaser-cold "$work/gocache-goreleaser")
echo "  goreleaser cold done  ($(uptime | sed 's/.*load/load/'))"
read -r w_rw c_rw < <(run_reliquary reliquary-warm "$work/gocache-reliquary")
echo "  reliquary warm done   ($(uptime | sed 's/.*load/load/'))"
read -r w_gw c_gw < <(run_goreleaser goreleaser-warm "$work/gocache-goreleaser")
echo "  goreleaser warm done  ($(uptime | sed 's/.*load/load/'))"

# Both outputs must be what they claim: the gate accepts reliquary's bundle; GoReleaser's
# checksums verify and its cosign signature verifies with the key.
"$bin" verify --quiet "$work/out-reliquary-warm" --key "$work/cosign.pub" >/dev/null
(cd "$work/dist-goreleaser-warm" && sha256sum --quiet -c checksums.txt)
"$cosign" verify-blob --key "$work/cosign.pub" --insecure-ignore-tlog=true \
  --bundle "$work/dist-goreleaser-warm/checksums.txt.sigstore.json" "$work/dist-goreleaser-warm/checksums.txt" >/dev/null 2>&1 ||
  { echo "GoReleaser's signature of checksums.txt does not verify (issue 6514?)" >&2; exit 1; }
echo "outputs checked: reliquary verify accepts its bundle; GoReleaser's checksums.txt and its cosign signature verify"
same() { if cmp -s "$1" "$2"; then echo "identical"; else echo "differ"; fi; }
echo "reproducible across cold and warm runs: reliquary SHA256SUMS $(same "$work/out-reliquary-cold/SHA256SUMS" "$work/out-reliquary-warm/SHA256SUMS"); GoReleaser checksums.txt $(same "$work/dist-goreleaser-cold/checksums.txt" "$work/dist-goreleaser-warm/checksums.txt")"
echo "artifacts: reliquary $(ls "$work/out-reliquary-warm/artifacts" | tr '\n' ' ')"
echo "           GoReleaser $(cd "$work/dist-goreleaser-warm" && ls *.tar.gz *.zip checksums.txt* | tr '\n' ' ')"

ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
echo
echo "== release, 4 platforms (wall / cpu, seconds)"
printf '%-30s %8.2f s / %8.2f s cpu\n' "reliquary release, cold:" "$w_rc" "$c_rc" "GoReleaser release, cold:" "$w_gc" "$c_gc" \
  "reliquary release, warm:" "$w_rw" "$c_rw" "GoReleaser release, warm:" "$w_gw" "$c_gw"
echo "ratio reliquary/GoReleaser cold: $(ratio "$w_rc" "$w_gc") wall, $(ratio "$c_rc" "$c_gc") cpu   (target <= 0.9)"
echo "ratio reliquary/GoReleaser warm: $(ratio "$w_rw" "$w_gw") wall, $(ratio "$c_rw" "$c_gw") cpu   (target <= 0.5)"
echo "after: $(uptime | sed 's/.*load/load/')"
[ -n "${1:-}" ] || rm -rf "$work"
}
main "$@"
