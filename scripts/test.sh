#!/usr/bin/env bash
# The test command: formatting, vet, and every test of the root module.
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './ci/*'))
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted"; exit 1; fi
# The self-release (the README's main job) freezes this module: go.mod and go.sum must be tidy.
if ! go mod tidy -diff >/dev/null; then echo "go.mod/go.sum are not tidy: run go mod tidy"; go mod tidy -diff; exit 1; fi
go vet ./...
go test -count=1 -timeout 30m ./...
