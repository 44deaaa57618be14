#!/usr/bin/env python3
"""Real Kafka (KRaft) and PostgreSQL on 127.0.0.1, without Docker.

Kafka runs from its Maven Central jars on the machine's JDK; PostgreSQL from
the system's binaries, as a private cluster. Standard library only, so it runs
before any Python dependency is installed.

    python3 deploy/local/stack.py up        # start both (idempotent)
    python3 deploy/local/stack.py status    # what runs, where, and its logs
    python3 deploy/local/stack.py env       # connection settings as shell exports
    python3 deploy/local/stack.py down      # stop both (data is kept)
    python3 deploy/local/stack.py reset     # stop and delete all local data

Settings (environment): SHOPTRAIL_LOCAL_DIR (state, default <repo>/.local),
SHOPTRAIL_KAFKA_PORT (9092), SHOPTRAIL_PG_PORT (5433), SHOPTRAIL_CACHE_DIR
(jars, default ~/.cache/shoptrail).

A guarded bus: `up --auth` (or SHOPTRAIL_KAFKA_AUTH=scram) starts Kafka with one
SASL_PLAINTEXT listener, SCRAM-SHA-512 users per service, the operator as super
user (PLAIN, from the broker's own config) and StandardAuthorizer ACLs that let
each service write only its own topics (shoptrail.events.acl). The users and
ACLs come from `python -m shoptrail.events.acl plan`, so this mode needs the
project's Python environment (`make sync`); the passwords are made once and
kept in <state>/kafka/bus-users.json; `env` prints them. The choice sticks to
the state folder: once guarded, `up` stays guarded until `reset`.

A three-broker cluster: `up --brokers 3` (or SHOPTRAIL_KAFKA_BROKERS=3; the
default is one node, broker and controller in one process). Three broker-only
nodes (node ids 1, 2, 3) and one controller-only node (id 0, a KRaft quorum
of one): the brokers are what the fault suite stops, and with the metadata
quorum outside them, stopping two brokers leaves a cluster that still knows
who is in sync, so a write is refused for want of replicas
(`min.insync.replicas=2`) instead of hanging on a lost quorum. Four JVMs, not
six: three controllers beside three brokers would not fit two cores.

    node             client port               controller port
    kafka-1          SHOPTRAIL_KAFKA_PORT      -
    kafka-2          SHOPTRAIL_KAFKA_PORT+2    -
    kafka-3          SHOPTRAIL_KAFKA_PORT+4    -
    kafka-controller -                         SHOPTRAIL_KAFKA_PORT+1

(the single node: SHOPTRAIL_KAFKA_PORT and +1 for its controller). Each node
has its folder <state>/kafka/<node>/ (server.properties, data/), its pid file
<state>/kafka/<node>.pid and its log <state>/logs/<node>.log. `env` prints
every broker in SHOPTRAIL_KAFKA_BOOTSTRAP; `status` lists the nodes. Internal
topics get three replicas and the brokers' defaults are
`default.replication.factor=3`, `min.insync.replicas=2` (dev.py creates the
event topics so too). The count sticks to the state folder like `--auth`:
asking for another count needs a `reset`.

    python3 deploy/local/stack.py stop-broker 2          # clean stop (SIGTERM)
    python3 deploy/local/stack.py stop-broker 2 --kill   # a crash (SIGKILL)
    python3 deploy/local/stack.py start-broker 2         # back, once it serves
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import fcntl
import glob
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
POM = Path(__file__).resolve().parent / "kafka" / "pom.xml"
BUS_ACCESS = Path(__file__).resolve().parent / "kafka" / "BusAccess.java"
AUTH_ENV = "SHOPTRAIL_KAFKA_AUTH"
BROKERS_ENV = "SHOPTRAIL_KAFKA_BROKERS"
OPERATOR = "admin"
"""The guarded broker's super user (see shoptrail.events.acl.OPERATOR_USER)."""
PG_USER = "shoptrail"
PG_PASSWORD = "shoptrail"  # noqa: S105 - local development cluster on loopback only
PG_DATABASE = "shoptrail"


@dataclass(frozen=True)
class Paths:
    state: Path
    cache: Path
    kafka_port: int
    pg_port: int
    auth_requested: bool = False
    brokers_requested: int | None = None
    """`up --brokers N` / SHOPTRAIL_KAFKA_BROKERS; None: what the state folder holds (or 1)."""

    @property
    def credentials_file(self) -> Path:
        return self.kafka_dir / "bus-users.json"

    @property
    def auth(self) -> bool:
        """A guarded bus: asked for now, or made so earlier (its passwords are kept)."""
        return self.auth_requested or self.credentials_file.exists()

    @property
    def brokers_file(self) -> Path:
        return self.kafka_dir / "brokers"

    @property
    def brokers_stored(self) -> int | None:
        """How many brokers this state folder's Kafka was formatted with (None: never)."""
        if self.brokers_file.exists():
            return int(self.brokers_file.read_text().strip())
        if (self.kafka_dir / "data" / "meta.properties").exists():
            return 1  # formatted before the count was kept: the single node
        return None

    @property
    def brokers(self) -> int:
        """Brokers in this Kafka: as formatted earlier (`up` refuses another count, so
        `down` and `status` find what runs), else as asked for now, else one."""
        return self.brokers_stored or self.brokers_requested or 1

    @property
    def kafka_nodes(self) -> list[KafkaNode]:
        """Every Kafka process of this stack (see the module's docstring for the ports)."""
        if self.brokers == 1:
            return [
                KafkaNode(
                    "kafka", 1, "broker,controller", self.kafka_port, self.kafka_port + 1,
                    self.kafka_dir, self.logs / "kafka.log",
                )
            ]  # fmt: skip
        controller = self.kafka_port + 1
        nodes = [
            KafkaNode(
                f"kafka-{n}", n, "broker", self.kafka_port + 2 * (n - 1), controller,
                self.kafka_dir / f"kafka-{n}", self.logs / f"kafka-{n}.log",
            )
            for n in range(1, self.brokers + 1)
        ]  # fmt: skip
        nodes.append(
            KafkaNode(
                "kafka-controller", 0, "controller", None, controller,
                self.kafka_dir / "kafka-controller", self.logs / "kafka-controller.log",
            )
        )  # fmt: skip
        return nodes

    @property
    def broker_nodes(self) -> list[KafkaNode]:
        return [n for n in self.kafka_nodes if n.port is not None]

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def kafka_dir(self) -> Path:
        return self.state / "kafka"

    @property
    def kafka_version(self) -> str:
        text = POM.read_text()
        return text.split("<kafka.version>")[1].split("</kafka.version>")[0]

    @property
    def kafka_lib(self) -> Path:
        pom_hash = hashlib.sha256(POM.read_bytes()).hexdigest()[:10]
        return self.cache / f"kafka-{self.kafka_version}-{pom_hash}"

    @property
    def pg_dir(self) -> Path:
        """The cluster's folder; must be reachable by the user PostgreSQL runs as."""
        if os.geteuid() != 0 or _reachable_by_postgres(self.state):
            return self.state / "postgres"
        digest = hashlib.sha256(str(self.state).encode()).hexdigest()[:12]
        return Path("/var/tmp") / f"shoptrail-{digest}" / "postgres"

    @property
    def bootstrap(self) -> str:
        """Every broker, comma-separated (a client needs only one to find the rest)."""
        return ",".join(f"127.0.0.1:{n.port}" for n in self.broker_nodes)

    @property
    def database_url(self) -> str:
        return (
            f"postgresql+asyncpg://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{self.pg_port}/{PG_DATABASE}"
        )


@dataclass(frozen=True)
class KafkaNode:
    """One Kafka process: a broker, a controller, or (the single node) both."""

    name: str
    node_id: int
    roles: str
    port: int | None
    """Where clients connect (None for a controller only)."""
    controller_port: int
    """The controller's listener (its own for a controller, the one it reaches otherwise)."""
    folder: Path
    """server.properties and data/ (log.dirs)."""
    log: Path

    @property
    def config(self) -> Path:
        return self.folder / "server.properties"

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def pid_file(self) -> Path:
        """The single node's <state>/kafka/kafka.pid; a cluster node's beside its folder."""
        if self.folder.name == "kafka":
            return self.folder / "kafka.pid"
        return self.folder.parent / f"{self.name}.pid"

    @property
    def is_controller(self) -> bool:
        return "controller" in self.roles

    @property
    def serves_port(self) -> int:
        return self.port if self.port is not None else self.controller_port


def paths_from_env() -> Paths:
    return Paths(
        state=Path(os.environ.get("SHOPTRAIL_LOCAL_DIR", REPO / ".local")).resolve(),
        cache=Path(
            os.environ.get("SHOPTRAIL_CACHE_DIR", Path.home() / ".cache" / "shoptrail")
        ).resolve(),
        kafka_port=int(os.environ.get("SHOPTRAIL_KAFKA_PORT", "9092")),
        pg_port=int(os.environ.get("SHOPTRAIL_PG_PORT", "5433")),
        auth_requested=os.environ.get(AUTH_ENV, "").lower() == "scram",
        brokers_requested=int(os.environ[BROKERS_ENV]) if os.environ.get(BROKERS_ENV) else None,
    )


def say(message: str) -> None:
    print(f"[stack] {message}", file=sys.stderr, flush=True)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(port: int, what: str, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
    raise SystemExit(f"{what} did not open port {port} within {timeout:.0f}s. Log tail:\n{tail}")


def pid_alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid


# --- Kafka -----------------------------------------------------------------


def fetch_kafka_jars(p: Paths) -> None:
    """Copy the broker and its runtime dependencies from Maven Central into the cache, once."""
    if (p.kafka_lib / ".complete").exists():
        return
    if not shutil.which("mvn") or not shutil.which("java"):
        raise SystemExit("Kafka needs a JDK (java) and Maven (mvn): apt-get install maven")
    p.cache.mkdir(parents=True, exist_ok=True)
    # Launchers of several clones share the cache: one fetches, the others wait and reuse it.
    with _exclusive(p.cache / f"{p.kafka_lib.name}.lock", waiting="fetching the Kafka jars"):
        if (p.kafka_lib / ".complete").exists():
            return
        _remove_leftovers(p.kafka_lib)
        say(f"fetching Apache Kafka {p.kafka_version} jars from Maven Central into {p.kafka_lib}")
        staging = Path(tempfile.mkdtemp(dir=p.cache, prefix=f"{p.kafka_lib.name}.partial-"))
        try:
            staging.chmod(0o755)  # mkdtemp's 0700 would hide the jars from other users
            subprocess.run(
                [
                    "mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
                    f"-DoutputDirectory={staging}", "-DincludeScope=runtime",
                ],
                check=True,
            )  # fmt: skip
            (staging / ".complete").touch()
            staging.rename(p.kafka_lib)  # atomic: the folder appears whole or not at all
        finally:
            shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def _exclusive(lock_file: Path, *, waiting: str) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file`; the kernel releases it if this process dies."""
    with lock_file.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another launcher {waiting} (lock: {lock_file})")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_leftovers(target: Path) -> None:
    """Delete what a crashed fetch left: its staging folders and an incomplete `target`.

    Only called under the lock, so no live launcher is still writing them.
    """
    for leftover in target.parent.glob(f"{glob.escape(target.name)}.partial*"):
        shutil.rmtree(leftover, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)


def kafka_properties(p: Paths, node: KafkaNode, operator_password: str | None = None) -> str:
    """One node's server.properties: the single node, a cluster's broker or its controller."""
    if operator_password is None:
        listeners = open_listeners(node)
    else:
        listeners = guarded_listeners(node, operator_password)
    # Internal topics as replicated as the cluster allows: one copy on the single node;
    # on three brokers, three copies and no write acknowledged by fewer than two.
    replicas = min(p.brokers, 3)
    min_isr = 2 if replicas >= 3 else 1
    return f"""\
process.roles={node.roles}
node.id={node.node_id}
controller.quorum.bootstrap.servers=127.0.0.1:{node.controller_port}
controller.listener.names=CONTROLLER
{listeners}log.dirs={node.data}
offsets.topic.replication.factor={replicas}
offsets.topic.num.partitions=5
transaction.state.log.replication.factor={replicas}
transaction.state.log.min.isr={min_isr}
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor={replicas}
share.coordinator.state.topic.min.isr={min_isr}
default.replication.factor={replicas}
min.insync.replicas={min_isr}
num.partitions=3
auto.create.topics.enable=true
group.initial.rebalance.delay.ms=0
# Replay rebuilds the activity log from the beginning of every topic: keep it all.
log.retention.ms=-1
log.retention.bytes=-1
"""


def open_listeners(node: KafkaNode) -> str:
    """PLAINTEXT for clients and between brokers; the controller's own listener."""
    controller = node.controller_port
    if node.roles == "controller":
        return f"""\
listeners=CONTROLLER://127.0.0.1:{controller}
listener.security.protocol.map=CONTROLLER:PLAINTEXT
"""
    listeners = f"PLAINTEXT://127.0.0.1:{node.port}"
    if node.is_controller:
        listeners += f",CONTROLLER://127.0.0.1:{controller}"
    return f"""\
listeners={listeners}
advertised.listeners=PLAINTEXT://127.0.0.1:{node.port}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
"""


def guarded_listeners(node: KafkaNode, operator_password: str) -> str:
    """One SASL listener for everyone, ACLs enforced; no door without a password.

    Services sign in with SCRAM-SHA-512 (users kept in the cluster's metadata,
    made by BusAccess.java). The operator signs in with PLAIN against the
    broker's own config, on the bus and on the controller listener, so the
    broker can start, and talk to its controller, before any SCRAM user
    exists: no `--add-scram` at format time, and a plain stack's storage can
    be guarded later without a reset. On a cluster the brokers replicate
    between them on the same BUS listener, as the operator (a super user):
    every node's config holds the operator's PLAIN login, as a server to check
    it and as a client to use it.
    """
    plain = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{OPERATOR}" password="{operator_password}" '
        f'user_{OPERATOR}="{operator_password}";'
    )
    controller = node.controller_port
    common = f"""\
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config={plain}
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:{OPERATOR}
allow.everyone.if.no.acl.found=false
"""
    if node.roles == "controller":
        return f"""\
listeners=CONTROLLER://127.0.0.1:{controller}
listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT
{common}"""
    listeners = f"BUS://127.0.0.1:{node.port}"
    if node.is_controller:
        listeners += f",CONTROLLER://127.0.0.1:{controller}"
    return f"""\
listeners={listeners}
advertised.listeners=BUS://127.0.0.1:{node.port}
listener.security.protocol.map=BUS:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=BUS
sasl.mechanism.inter.broker.protocol=PLAIN
listener.name.bus.sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
listener.name.bus.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.bus.plain.sasl.jaas.config={plain}
{common}"""  # noqa: E501


# --- the guarded bus's users -------------------------------------------------


def bus_plan() -> dict[str, Any]:
    """`python -m shoptrail.events.acl plan`: every service's user and grants, from the code."""
    candidates = [Path(sys.executable), REPO / ".venv" / "bin" / "python"]
    failures = []
    for python in dict.fromkeys(candidates):
        if not python.exists():
            continue
        done = subprocess.run(
            [str(python), "-m", "shoptrail.events.acl", "plan"],
            capture_output=True, text=True, check=False, cwd=REPO,
        )  # fmt: skip
        if done.returncode == 0:
            plan: dict[str, Any] = json.loads(done.stdout)
            return plan
        failures.append(f"{python}: {done.stderr.strip()[-300:]}")
    raise SystemExit(
        "--auth takes the bus's users and ACLs from the code (shoptrail.events.acl), "
        "so it needs the project's Python environment: run `make sync` first.\n"
        + "\n".join(failures)
    )


def bus_credentials(p: Paths, users: Iterable[str]) -> dict[str, str]:
    """Each user's password (the operator's too), made once and kept in the state folder."""
    known: dict[str, str] = {}
    if p.credentials_file.exists():
        known = json.loads(p.credentials_file.read_text())
    wanted = [OPERATOR, *users]
    if any(user not in known for user in wanted):
        known |= {user: secrets.token_urlsafe(24) for user in wanted if user not in known}
        p.kafka_dir.mkdir(parents=True, exist_ok=True)
        _write_private(p.credentials_file, json.dumps(known, indent=2))
    return {user: known[user] for user in wanted}


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds passwords)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def java_command(p: Paths) -> list[str]:
    """`java` with the broker's jars and logging: for the broker and for BusAccess.java."""
    log4j = f"-Dlog4j2.configurationFile={p.kafka_dir / 'log4j2.properties'}"
    return ["java", "-Xms256m", "-Xmx768m", "-XX:+UseG1GC", log4j, "-cp", f"{p.kafka_lib}/*"]


def apply_bus_access(p: Paths, java: list[str], extra_users: dict[str, str] | None = None) -> None:
    """Set every service's SCRAM user and exactly the plan's ACLs (skipped when unchanged).

    `extra_users` (name: password) get a SCRAM login and no grant at all (tests' strangers).
    """
    plan = bus_plan()
    passwords = bus_credentials(p, plan["users"])
    lines = [f"user\t{user}\t{passwords[user]}" for user in plan["users"]]
    lines += [f"user\t{user}\t{password}" for user, password in (extra_users or {}).items()]
    lines += [
        f"acl\t{user}\t{g['resource'].upper()}\t{g['name']}\t{g['operation']}\t{g['pattern']}"
        for user, grants in plan["users"].items()
        for g in grants
    ]
    text = "\n".join(lines) + "\n"
    stamp = p.kafka_dir / "bus-access.applied"
    digest = hashlib.sha256(text.encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    started = time.monotonic()
    done = subprocess.run(
        [*java, str(BUS_ACCESS), p.bootstrap],
        input=text, capture_output=True, text=True, check=False, timeout=180,
        env={**os.environ, "BUS_OPERATOR_USER": OPERATOR,
             "BUS_OPERATOR_PASSWORD": passwords[OPERATOR]},
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"setting the bus's users and ACLs failed:\n{done.stderr[-3000:]}")
    stamp.write_text(digest)
    say(f"bus users and ACLs: {done.stdout.strip()} in {time.monotonic() - started:.1f}s")


LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = OUT
logger.kafka.name = kafka
logger.kafka.level = info
logger.state.name = state.change.logger
logger.state.level = warn
logger.org.name = org.apache.kafka
logger.org.level = warn
"""


def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID in URL-safe base64 (22 characters).

    Never one that starts with "-": the storage tool would read it as an option
    (`-t -y0f…`: "expected one argument"), one format in 64.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _check_broker_count(p: Paths) -> None:
    stored = p.brokers_stored
    if p.brokers_requested not in (None, 1, 3):
        raise SystemExit(f"{BROKERS_ENV}/--brokers: 1 or 3, not {p.brokers_requested}")
    if stored is not None and p.brokers_requested is not None and stored != p.brokers_requested:
        raise SystemExit(
            f"the Kafka in {p.kafka_dir} has {stored} broker(s), not {p.brokers_requested}: "
            "`stack.py reset` first (it deletes the local data)"
        )


def node_running(node: KafkaNode) -> bool:
    return bool(pid_alive(node.pid_file)) and port_open(node.serves_port)


def kafka_up(p: Paths) -> None:
    """Every node of this stack's Kafka running (those that already run are left alone)."""
    _check_broker_count(p)
    nodes = p.kafka_nodes
    brokers = p.broker_nodes
    if all(node_running(n) for n in nodes):
        guarded = "BUS://" in brokers[0].config.read_text()
        if p.auth and not guarded:
            raise SystemExit(
                f"Kafka on {p.bootstrap} runs without auth: `stack.py down kafka`, then `up --auth`"
            )
        say(f"Kafka already running on {p.bootstrap}" + (" (guarded)" if guarded else ""))
        return
    for node in nodes:
        if not pid_alive(node.pid_file) and port_open(node.serves_port):
            raise SystemExit(
                f"port {node.serves_port} ({node.name}) is taken by another process; "
                "set SHOPTRAIL_KAFKA_PORT"
            )
    fetch_kafka_jars(p)
    p.kafka_dir.mkdir(parents=True, exist_ok=True)
    p.logs.mkdir(parents=True, exist_ok=True)
    operator_password = bus_credentials(p, [])[OPERATOR] if p.auth else None
    (p.kafka_dir / "log4j2.properties").write_text(LOG4J2)
    java = node_java(p)
    cluster_id = _cluster_id(nodes)
    formatting = []
    for node in nodes:
        node.folder.mkdir(parents=True, exist_ok=True)
        _write_private(node.config, kafka_properties(p, node, operator_password))
        if not (node.data / "meta.properties").exists():
            say(f"formatting KRaft storage ({node.name})")
            # The controller (or the single node) starts a quorum of one; brokers join it.
            standalone = ["--standalone"] if node.is_controller else []
            command = [*java, "kafka.tools.StorageTool", "format", *standalone,
                       "-t", cluster_id, "-c", str(node.config)]  # fmt: skip
            formatting.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))
    for formatter in formatting:  # side by side: each is a JVM's start-up
        if formatter.wait() != 0:
            raise subprocess.CalledProcessError(formatter.returncode, formatter.args)
    p.brokers_file.write_text(f"{p.brokers}\n")
    # Controllers first: a broker waits for its controller before it serves.
    started = [
        _start_node(p, node, java)
        for node in sorted(nodes, key=lambda n: not n.is_controller)
        if not node_running(node)
    ]
    for node, offset in started:
        wait_started(node, offset)
    if p.auth:
        apply_bus_access(p, java)


def node_java(p: Paths) -> list[str]:
    """`java` for a node: a cluster's four JVMs compile with C1 only, so a broker that
    comes back (start-broker) serves in about half the time on a busy two-core machine;
    the single node, which the benchmarks measure, keeps the full JIT."""
    java = java_command(p)
    if p.brokers > 1:
        java.insert(1, "-XX:TieredStopAtLevel=1")
    return java


def _cluster_id(nodes: list[KafkaNode]) -> str:
    """The id the nodes formatted so far share; a new one for a new cluster."""
    for node in nodes:
        meta = node.data / "meta.properties"
        if meta.exists():
            for line in meta.read_text().splitlines():
                if line.startswith("cluster.id="):
                    return line.split("=", 1)[1].strip()
    return new_cluster_id()


def _start_node(p: Paths, node: KafkaNode, java: list[str]) -> tuple[KafkaNode, int]:
    """Start one node's JVM; returns it and where its log stood (to find its "started")."""
    offset = node.log.stat().st_size if node.log.exists() else 0
    where = (
        f"127.0.0.1:{node.port}" if node.port else f"controller 127.0.0.1:{node.controller_port}"
    )
    say(f"starting Kafka {p.kafka_version} {node.name} on {where} (log: {node.log})")
    if node.roles == "controller":  # metadata only: a small heap is plenty
        java = [a.replace("-Xmx768m", "-Xmx256m") for a in java]
    with node.log.open("ab") as out:
        proc = subprocess.Popen(
            [*java, "kafka.Kafka", str(node.config)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    node.pid_file.write_text(str(proc.pid))
    return node, offset


STARTED = "Kafka Server started"
"""A node's log line once it serves: a broker says it once the controller has unfenced it."""


def wait_started(node: KafkaNode, offset: int, timeout: float = 120.0) -> None:
    """Until `node` logged that it started (after `offset`) and its port answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid_alive(node.pid_file) is None:
            break
        with node.log.open("rb") as log:
            log.seek(offset)
            if STARTED.encode() in log.read() and port_open(node.serves_port):
                return
        time.sleep(0.3)
    tail = node.log.read_text(errors="replace")[-3000:] if node.log.exists() else "(no log)"
    raise SystemExit(f"Kafka {node.name} did not start within {timeout:.0f}s. Log tail:\n{tail}")


def _still_there(node: KafkaNode) -> bool:
    """The node's process has not exited (reaped here if it was this process's child)."""
    pid = pid_alive(node.pid_file)
    if pid is None:
        return False
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    return True


def broker_node(p: Paths, number: int) -> KafkaNode:
    for node in p.broker_nodes:
        if node.node_id == number:
            return node
    raise SystemExit(f"no broker {number}: this Kafka has brokers 1..{p.brokers}")


def broker_stop(p: Paths, number: int, *, kill: bool = False) -> None:
    """Stop one broker (SIGTERM: a controlled shutdown; `kill`: SIGKILL, as a crash)."""
    node = broker_node(p, number)
    _stop_nodes([node], signal.SIGKILL if kill else signal.SIGTERM)


def broker_start(p: Paths, number: int) -> None:
    """Start one broker of a running cluster again, as it was configured."""
    node = broker_node(p, number)
    if node_running(node):
        say(f"{node.name} already running")
        return
    if not node.config.exists():
        raise SystemExit(f"{node.name} was never started: `stack.py up` first")
    started = _start_node(p, node, node_java(p))
    wait_started(*started)


def _stop_nodes(nodes: list[KafkaNode], how: signal.Signals = signal.SIGTERM) -> None:
    """Signal every running node at once, wait for all (SIGKILL after 30 s)."""
    pids = {node: pid for node in nodes if (pid := pid_alive(node.pid_file)) is not None}
    for node in nodes:
        if node not in pids:
            say(f"{node.name} not running")
    for pid in pids.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, how)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_still_there(n) for n in pids):
        time.sleep(0.3)
    for node, pid in pids.items():
        if _still_there(node):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _still_there(node):
                time.sleep(0.1)
        node.pid_file.unlink(missing_ok=True)
        say(f"{node.name} {'killed' if how == signal.SIGKILL else 'stopped'}")


# --- PostgreSQL ------------------------------------------------------------


def _reachable_by_postgres(folder: Path) -> bool:
    probe = folder
    while not probe.exists():
        probe = probe.parent
    result = subprocess.run(
        ["runuser", "-u", "postgres", "--", "test", "-x", str(probe)], check=False
    )
    return result.returncode == 0


def pg_bindir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda d: int(d.parent.name))
    if candidates:
        return candidates[-1]
    if shutil.which("pg_ctl"):
        return Path(shutil.which("pg_ctl") or "").parent
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("installing PostgreSQL from Debian's packages")
        subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], check=True)
        return pg_bindir()
    raise SystemExit("PostgreSQL binaries not found: apt-get install postgresql")


def _as_pg_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def postgres_up(p: Paths) -> None:
    data = p.pg_dir / "data"
    if (data / "postmaster.pid").exists() and port_open(p.pg_port):
        say(f"PostgreSQL already running on 127.0.0.1:{p.pg_port}")
        return
    if port_open(p.pg_port):
        raise SystemExit(f"port {p.pg_port} is taken by another process; set SHOPTRAIL_PG_PORT")
    bindir = pg_bindir()
    p.pg_dir.mkdir(parents=True, exist_ok=True)
    p.logs.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(p.pg_dir, "postgres", "postgres")
    fresh = not (data / "PG_VERSION").exists()
    if fresh:
        say(f"creating a PostgreSQL cluster in {data}")
        pwfile = p.pg_dir / "pwfile"
        pwfile.write_text(PG_PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres", "postgres")
        subprocess.run(
            _as_pg_user([str(bindir / "initdb"), "-D", str(data), "-U", PG_USER,
                         f"--pwfile={pwfile}", "--auth-host=scram-sha-256",
                         "--auth-local=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        pwfile.unlink()
    log = p.pg_dir / "postgres.log"
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={p.pg_port} -c unix_socket_directories={p.pg_dir} "
        "-c max_connections=300 -c shared_buffers=256MB "
        # The activity log is write-heavy: fewer forced checkpoints, less WAL
        # (PostgreSQL logs "checkpoints are occurring too frequently" at 1GB).
        "-c max_wal_size=4GB -c wal_compression=on"
    )
    say(f"starting PostgreSQL on 127.0.0.1:{p.pg_port} (log: {log})")
    subprocess.run(
        _as_pg_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                     "-w", "-t", "60", "start"]),
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    with contextlib.suppress(FileNotFoundError):
        (p.logs / "postgres.log").unlink()
    with contextlib.suppress(OSError):
        (p.logs / "postgres.log").symlink_to(log)
    if fresh:
        subprocess.run(
            _as_pg_user([str(bindir / "createdb"), "-h", str(p.pg_dir), "-p", str(p.pg_port),
                         "-U", PG_USER, PG_DATABASE]),
            check=True,
        )  # fmt: skip


def postgres_down(p: Paths) -> None:
    data = p.pg_dir / "data"
    if not (data / "postmaster.pid").exists():
        say("PostgreSQL not running")
        return
    subprocess.run(
        _as_pg_user([str(pg_bindir() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
        check=False,
        stdout=subprocess.DEVNULL,
    )
    say("PostgreSQL stopped")


def kafka_down(p: Paths) -> None:
    """Stop every node: the brokers first (a controlled shutdown needs the controller)."""
    nodes = p.kafka_nodes
    if not any(pid_alive(n.pid_file) for n in nodes):
        say("Kafka not running")
        return
    _stop_nodes([n for n in nodes if n.port is not None])
    _stop_nodes([n for n in nodes if n.port is None])


# --- commands --------------------------------------------------------------


def connection_info(p: Paths) -> dict[str, str]:
    info = {
        "SHOPTRAIL_KAFKA_BOOTSTRAP": p.bootstrap,
        "SHOPTRAIL_DATABASE_URL": p.database_url,
    }
    if p.auth and p.credentials_file.exists():
        passwords = json.loads(p.credentials_file.read_text())
        info |= {
            "SHOPTRAIL_KAFKA_USERNAME": OPERATOR,
            "SHOPTRAIL_KAFKA_PASSWORD": passwords[OPERATOR],
            "SHOPTRAIL_KAFKA_SASL_MECHANISM": "PLAIN",
        }
        for user, password in passwords.items():
            if user != OPERATOR:
                prefix = user.upper().replace("-", "_")
                info[f"{prefix}_KAFKA_USERNAME"] = user
                info[f"{prefix}_KAFKA_PASSWORD"] = password
    return info


def status(p: Paths) -> dict[str, object]:
    nodes = p.kafka_nodes
    kafka: dict[str, object] = {
        "running": all(node_running(n) for n in nodes),
        "bootstrap": p.bootstrap,
        "auth": "scram" if p.auth else "none",
        "brokers": p.brokers,
    }
    if len(nodes) == 1:
        kafka["log"] = str(nodes[0].log)
    else:
        kafka["nodes"] = [
            {
                "name": n.name,
                "node_id": n.node_id,
                "roles": n.roles,
                "port": n.port,
                "controller_port": n.controller_port,
                "running": node_running(n),
                "log": str(n.log),
                "data": str(n.data),
            }
            for n in nodes
        ]
    return {
        "kafka": kafka,
        "postgres": {
            "running": port_open(p.pg_port),
            "url": p.database_url,
            "log": str(p.pg_dir / "postgres.log"),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="stack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "command",
        choices=["up", "down", "status", "env", "reset", "stop-broker", "start-broker"],
        help="up: start (and print the settings); down: stop; status: report as JSON; "
        "env: print `export` lines; reset: stop and delete the local data; "
        "stop-broker N / start-broker N: one broker of a cluster",
    )
    parser.add_argument(
        "component",
        nargs="?",
        help="kafka or postgres: only this one (default: both); for stop-broker and "
        "start-broker the broker's number (1, 2, 3)",
    )
    parser.add_argument("--json", action="store_true", help="print connection info as JSON")
    parser.add_argument(
        "--auth",
        action="store_true",
        help=f"up: a guarded bus (SASL/SCRAM users and ACLs; same as {AUTH_ENV}=scram)",
    )
    parser.add_argument(
        "--brokers",
        type=int,
        choices=[1, 3],
        help=f"up: Kafka brokers (same as {BROKERS_ENV}; kept with the state until reset)",
    )
    parser.add_argument(
        "--kill", action="store_true", help="stop-broker: SIGKILL (a crash), not a clean stop"
    )
    args = parser.parse_args(argv)
    p = paths_from_env()
    if args.auth:
        p = dataclasses.replace(p, auth_requested=True)
    if args.brokers:
        p = dataclasses.replace(p, brokers_requested=args.brokers)

    if args.command in ("stop-broker", "start-broker"):
        if not (args.component or "").isdigit():
            parser.error(f"{args.command} needs the broker's number (1..{p.brokers})")
        if args.command == "stop-broker":
            broker_stop(p, int(args.component), kill=args.kill)
        else:
            broker_start(p, int(args.component))
        return 0
    if args.component not in (None, "kafka", "postgres"):
        parser.error(f"component: kafka or postgres, not {args.component!r}")
    wants = {args.component} if args.component else {"kafka", "postgres"}

    if args.command == "up":
        if "postgres" in wants:
            postgres_up(p)
        if "kafka" in wants:
            kafka_up(p)
    elif args.command in ("down", "reset"):
        if "kafka" in wants:
            kafka_down(p)
        if "postgres" in wants:
            postgres_down(p)
        if args.command == "reset":
            shutil.rmtree(p.kafka_dir, ignore_errors=True)
            shutil.rmtree(p.pg_dir, ignore_errors=True)
            say("local data deleted")
        return 0
    elif args.command == "status":
        print(json.dumps(status(p), indent=2))
        return 0

    info = connection_info(p)
    if args.json:
        print(json.dumps(info))
    else:
        for key, value in info.items():
            print(f"export {key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
