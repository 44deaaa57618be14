"""The local launcher (`deploy/local/stack.py`) fetching Kafka's jars into a shared cache.

Launchers of several clones share one cache folder: the jars are fetched once,
by one of them, while the others wait and reuse them. A stand-in `mvn` first on
PATH records each call and holds its download until the test releases it, so two
launchers really overlap without the test guessing how long anything takes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

LAUNCHER_DIR = Path(__file__).resolve().parents[1] / "deploy" / "local"
if str(LAUNCHER_DIR) not in sys.path:
    sys.path.append(str(LAUNCHER_DIR))

import stack  # noqa: E402

JARS = ("kafka_2.13.jar", "kafka-clients.jar", "kafka-server.jar")

FAKE_MVN = """\
#!/bin/sh
# Maven's stand-in: records the call, waits to be released, then writes the jars slowly.
echo "$$" >> "$FAKE_MVN_CALLS"
out=""
for arg in "$@"; do
    case "$arg" in -DoutputDirectory=*) out="${arg#-DoutputDirectory=}" ;; esac
done
[ -n "$out" ] || exit 2
touch "$FAKE_MVN_STARTED"
waited=0
while [ ! -e "$FAKE_MVN_RELEASE" ]; do
    sleep 0.05
    waited=$((waited + 1))
    [ "$waited" -lt 2400 ] || exit 3  # never outlive a test that died holding the gate
done
mkdir -p "$out"
for jar in JARS; do
    echo "$jar" > "$out/$jar"
    sleep 0.05
done
exit "${FAKE_MVN_EXIT:-0}"
""".replace("JARS", " ".join(JARS))

FETCH = f"""\
import sys
sys.path.insert(0, {str(LAUNCHER_DIR)!r})
import stack
stack.fetch_kafka_jars(stack.paths_from_env())
"""

WAITING = "waiting for another launcher"


@dataclass(frozen=True)
class Sandbox:
    """A private cache folder and a fake Maven whose download the test releases."""

    root: Path
    cache: Path
    env: dict[str, str]

    @property
    def kafka_lib(self) -> Path:
        paths = stack.Paths(state=self.root / "state", cache=self.cache, kafka_port=0, pg_port=0)
        return paths.kafka_lib

    @property
    def mvn_calls(self) -> int:
        calls = self.root / "mvn-calls"
        return len(calls.read_text().splitlines()) if calls.exists() else 0

    @property
    def mvn_started(self) -> bool:
        return (self.root / "mvn-started").exists()

    def release_mvn(self) -> None:
        (self.root / "mvn-release").touch()

    def start_fetch(self, name: str) -> subprocess.Popen[bytes]:
        with (self.root / f"{name}.stderr").open("wb") as stderr:
            return subprocess.Popen(
                [sys.executable, "-c", FETCH],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
            )

    def stderr(self, name: str) -> str:
        return (self.root / f"{name}.stderr").read_text(errors="replace")

    def fetch(self, name: str) -> int:
        return self.start_fetch(name).wait(timeout=60)


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, script in (("mvn", FAKE_MVN), ("java", "#!/bin/sh\nexit 0\n")):
        (bin_dir / tool).write_text(script)
        (bin_dir / tool).chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "SHOPTRAIL_CACHE_DIR": str(tmp_path / "cache"),
        "SHOPTRAIL_LOCAL_DIR": str(tmp_path / "state"),
        "FAKE_MVN_CALLS": str(tmp_path / "mvn-calls"),
        "FAKE_MVN_STARTED": str(tmp_path / "mvn-started"),
        "FAKE_MVN_RELEASE": str(tmp_path / "mvn-release"),
    }
    return Sandbox(root=tmp_path, cache=tmp_path / "cache", env=env)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Launchers a test started; killed if the test ends before they do."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(0.02)


def assert_jars_in_place(sandbox: Sandbox) -> None:
    assert (sandbox.kafka_lib / ".complete").exists()
    assert sorted(p.name for p in sandbox.kafka_lib.glob("*.jar")) == sorted(JARS)
    for jar in JARS:
        assert (sandbox.kafka_lib / jar).read_text().strip() == jar
    leftovers = {p.name for p in sandbox.cache.iterdir()} - {
        sandbox.kafka_lib.name,
        f"{sandbox.kafka_lib.name}.lock",
    }
    assert not leftovers, f"staging folders left in the cache: {leftovers}"


class TestFetchingKafkaJars:
    def test_two_launchers_at_once_fetch_once_and_both_succeed(
        self, sandbox: Sandbox, processes: list[subprocess.Popen[bytes]]
    ) -> None:
        first = sandbox.start_fetch("first")
        processes.append(first)
        wait_until(lambda: sandbox.mvn_started, "the first launcher to start Maven")

        second = sandbox.start_fetch("second")
        processes.append(second)
        # The first holds the lock inside Maven until released: the second must wait for it
        # (or, unlocked, would start a second Maven, which the assertions below catch).
        wait_until(
            lambda: (
                WAITING in sandbox.stderr("second")
                or sandbox.mvn_calls > 1
                or second.poll() is not None
            ),
            "the second launcher to wait or to start its own Maven",
        )
        sandbox.release_mvn()

        assert first.wait(timeout=60) == 0, sandbox.stderr("first")
        assert second.wait(timeout=60) == 0, sandbox.stderr("second")
        assert sandbox.mvn_calls == 1
        assert WAITING in sandbox.stderr("second")
        assert_jars_in_place(sandbox)

    def test_a_crashed_earlier_fetch_does_not_break_the_next(self, sandbox: Sandbox) -> None:
        name = sandbox.kafka_lib.name
        sandbox.cache.mkdir()
        for leftover in (f"{name}.partial", f"{name}.partial-k3x9q1", name):
            (sandbox.cache / leftover).mkdir()
            (sandbox.cache / leftover / "half-written.jar").write_text("")
        (sandbox.cache / f"{name}.lock").touch()
        sandbox.release_mvn()

        assert sandbox.fetch("only") == 0, sandbox.stderr("only")

        assert sandbox.mvn_calls == 1
        assert not (sandbox.kafka_lib / "half-written.jar").exists()
        assert_jars_in_place(sandbox)

    def test_a_failed_download_leaves_nothing_and_the_next_run_fetches(
        self, sandbox: Sandbox
    ) -> None:
        sandbox.release_mvn()
        failing = Sandbox(sandbox.root, sandbox.cache, {**sandbox.env, "FAKE_MVN_EXIT": "1"})

        assert failing.fetch("failing") != 0
        assert not sandbox.kafka_lib.exists()
        assert [p.name for p in sandbox.cache.glob("*.partial*")] == []

        assert sandbox.fetch("retry") == 0, sandbox.stderr("retry")
        assert sandbox.mvn_calls == 2
        assert_jars_in_place(sandbox)

    def test_a_complete_cache_is_reused_without_maven(self, sandbox: Sandbox) -> None:
        sandbox.release_mvn()
        assert sandbox.fetch("first") == 0, sandbox.stderr("first")

        assert sandbox.fetch("again") == 0, sandbox.stderr("again")

        assert sandbox.mvn_calls == 1
        assert "fetching" not in sandbox.stderr("again")


def test_a_kafka_cluster_id_never_reads_as_an_option(monkeypatch: pytest.MonkeyPatch) -> None:
    """A random id starting with "-" made the storage tool fail ("expected one argument")."""
    import uuid

    dashed = uuid.UUID(bytes=b"\xfb" + bytes(15))  # base64url: "-wAAAAAA…"
    ids = iter([dashed, uuid.UUID(int=1)])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(ids))
    cluster_id = stack.new_cluster_id()
    assert not cluster_id.startswith("-") and len(cluster_id) == 22
