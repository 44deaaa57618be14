#!/usr/bin/env bash
# The peers bench/bench_peers.py compares Shoptrail's activity consumer with, fetched and
# built once into the cache (idempotent: a second run only checks the markers):
#   * an Apache Kafka Connect worker (connect/pom.xml) and the Debezium JDBC sink
#     connector as its plugin (jdbc-sink/pom.xml), from Maven Central, with a stand-in
#     for hibernate-agroal, which is not served (jdbc-sink/src/);
#   * Benthos v4.27.0 with only its kafka, sql and pure components (benthos/), built with Go.
# Prints the folder it filled. Needs java 17+, mvn and go (/usr/local/go/bin is tried).
#
#   SHOPTRAIL_CACHE_DIR   the cache (default ~/.cache/shoptrail), shared with stack.py
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${SHOPTRAIL_CACHE_DIR:-$HOME/.cache/shoptrail}"
export PATH="$PATH:/usr/local/go/bin"
for tool in java javac jar mvn go; do
  command -v "$tool" >/dev/null || { echo "bench-tools: $tool is missing" >&2; exit 1; }
done

# A folder per content of its recipe: a changed pom or Go module makes a new one.
digest() { cat "$@" | sha256sum | cut -c1-10; }
out="$cache/bench-peers-$(digest "$here"/connect/pom.xml "$here"/jdbc-sink/pom.xml \
  "$here"/jdbc-sink/src/org/hibernate/agroal/internal/AgroalConnectionProvider.java \
  "$here"/benthos/go.mod "$here"/benthos/go.sum "$here"/benthos/main.go)"
mkdir -p "$cache"

# Fill "$1" by running the rest of the line with "$1.partial" as its target, so a
# folder appears whole or not at all; a lock lets concurrent runs share the work.
fill() {
  local target="$1"; shift
  [ -e "$target/.complete" ] && return 0
  mkdir -p "$(dirname "$target")"
  (
    flock 9
    [ -e "$target/.complete" ] && exit 0
    rm -rf "$target.partial" && mkdir -p "$target.partial"
    "$@" "$target.partial"
    touch "$target.partial/.complete"
    rm -rf "$target" && mv "$target.partial" "$target"
  ) 9>"$target.lock"
}

maven_copy() {  # pom, folder
  echo "[bench-tools] fetching $(basename "$(dirname "$1")") from Maven Central" >&2
  mvn -q -B -f "$1" dependency:copy-dependencies -DoutputDirectory="$2" -DincludeScope=runtime
}

jdbc_sink() {  # folder
  maven_copy "$here/jdbc-sink/pom.xml" "$1"
  local classes; classes="$(mktemp -d)"
  javac -nowarn --release 17 -cp "$1/*" -d "$classes" \
    "$here"/jdbc-sink/src/org/hibernate/agroal/internal/AgroalConnectionProvider.java
  jar cf "$1/hibernate-agroal-stand-in.jar" -C "$classes" org
  rm -rf "$classes"
}

benthos_build() {  # folder
  echo "[bench-tools] building Benthos v4.27.0 (kafka, sql, pure components)" >&2
  (cd "$here/benthos" && go build -o "$1/benthos" .)  # ~13 min the first time
}

mkdir -p "$out"
fill "$out/connect-libs" maven_copy "$here/connect/pom.xml"
fill "$out/plugins/debezium-connector-jdbc" jdbc_sink
fill "$out/benthos" benthos_build
echo "$out"
