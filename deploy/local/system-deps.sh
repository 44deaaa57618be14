#!/usr/bin/env bash
# Debian packages Shoptrail's local stack and tests need: a JDK and Maven (Kafka
# from Maven Central), PostgreSQL, Chromium (admin UI browser tests),
# docker-compose (parses docker-compose.yml; no Docker engine needed) and
# prometheus, for its promtool (tests check deploy/prometheus/alerts.yml; where
# systemd runs, the package also starts a Prometheus server on :9090), and Node.js
# with npm for the official AsyncAPI parser (tools/asyncapi-check), and nginx: the
# local stack's public door (deploy/local/proxy.py runs it as an ordinary user
# with a generated config; the package's own service, where systemd starts it,
# listens on :80 and is not used).
# Installs what is missing when run as root; otherwise says what to install.
# Last, Stripe's mock API server (stripe-mock.sh: built with Go into the stack's cache,
# no root needed) for the tests of ingest's Stripe API calls.
set -euo pipefail
missing=()
command -v java >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v chromium >/dev/null || missing+=(chromium)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v make >/dev/null || missing+=(make)
command -v promtool >/dev/null || missing+=(prometheus)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
here="$(dirname "$0")"
if ! ((${#missing[@]})); then
  bash "$here/stripe-mock.sh" >/dev/null || [ -z "${CI:-}" ]
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "[system-deps] installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q "${missing[@]}"
bash "$here/stripe-mock.sh" >/dev/null || [ -z "${CI:-}" ]
