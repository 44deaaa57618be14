#!/usr/bin/env bash
# Stripe's own mock API server (github.com/stripe/stripe-mock, a Go program), for the
# tests that check ingest's Stripe API calls against Stripe's real response shapes.
# Built once with the Go toolchain into the stack's cache; a second run finds the
# binary and returns at once. Prints the binary's path.
#
#   SHOPTRAIL_CACHE_DIR   the cache (default ~/.cache/shoptrail), shared with stack.py
#   GO                    the go binary (default: `go` on PATH, else /usr/local/go/bin/go)
set -euo pipefail
version=v0.203.0
cache="${SHOPTRAIL_CACHE_DIR:-$HOME/.cache/shoptrail}"
bin_dir="$cache/stripe-mock-$version"
binary="$bin_dir/stripe-mock"
if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi
go="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
if [ ! -x "$go" ]; then
  echo "[stripe-mock] no Go toolchain (looked for go on PATH and /usr/local/go/bin/go)" >&2
  echo "[stripe-mock] install Go >= 1.22, then run: bash $0" >&2
  exit 1
fi
echo "[stripe-mock] building github.com/stripe/stripe-mock@$version into $bin_dir" >&2
mkdir -p "$cache"
# Built into a private folder and renamed into place, so a concurrent run never sees
# half a binary.
staging="$(mktemp -d "$cache/stripe-mock-$version.partial-XXXXXX")"
trap 'rm -rf "$staging"' EXIT
GOBIN="$staging" GOFLAGS=-mod=mod "$go" install "github.com/stripe/stripe-mock@$version"
mv -T "$staging" "$bin_dir" 2>/dev/null || [ -x "$binary" ]
echo "$binary"
