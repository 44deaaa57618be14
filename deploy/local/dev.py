"""`make dev`: the whole shop on this machine, without Docker.

In order: Kafka and PostgreSQL through the local launcher (stack.py); one
database per service and the event topics; every service's migrations; an
SMTP sink that keeps the emails (mailsink.py); the fake Printify/Printful API;
the fake Stripe API (line items and checkouts, which Stripe's webhooks leave out);
every service's processes (`serve`, and `worker` for fulfilment and notifier;
`--activity-replicas N` runs N activity `serve`s sharing one consumer group);
nginx in front of them on the public port (proxy.py: the admin, its live
WebSocket on any activity replica, the webhooks and unsubscribe links, all on
one origin); then the demo traffic generator (demo.py). Every process's output is prefixed
with its name, on the terminal and in <state>/logs/services.log. Ctrl-C stops
everything; a process that dies is reported and stops the rest.

Ports: SHOPTRAIL_PORT_BASE (default 8000) moves every HTTP/SMTP port together
(the proxy, where the admin is opened = base, ingest = base+1 …, admin-ui
itself base+10, the workers' health doors base+13 and base+14; see `Ports`),
so a second copy can run beside the first. Kafka and
PostgreSQL ports come from stack.py's settings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import asyncpg
import httpx
import stack
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from shoptrail.events import acl, topics
from shoptrail.events.kafka_access import KafkaAccess, kafka_client_options

HERE = Path(__file__).resolve().parent

# --- the one table of development settings --------------------------------
#
# Values every service must agree on. Each contains "dev-only" (the placeholder
# mark in shoptrail.kit.settings), so a service started with environment=prod
# refuses them. Adjust here; demo.py signs its webhooks with the same values.

DEV_SECRETS = {
    "stripe_webhook_secret": "whsec_dev-only-stripe",
    "stripe_api_key": "sk_test_dev-only",
    "printify_webhook_secret": "dev-only-printify-webhook",
    "printful_webhook_secret_key": "dev-only-printful-webhook",
    "email_webhook_secret": "whsec_dev-only-email-webhook",
    "ingest_token": "dev-only-ingest-token",
    "activity_token": "dev-only-activity-token",
    "fulfilment_token": "dev-only-fulfilment-token",
    "notifier_token": "dev-only-notifier-token",
    "admin_ui_token": "dev-only-admin-ui-token",
    "admin_ui_session_secret": "dev-only-admin-ui-session-secret",
    "activity_ws_secret": "dev-only-activity-ws-secret",
    "printify_api_token": "dev-only-printify-api-token",
    "printful_api_token": "dev-only-printful-api-token",
    "unsubscribe_secret": "dev-only-unsubscribe-secret",
}

ADMIN_LOGIN = ("admin", "dev-only-password")
"""The shop owner's dev account: admin-ui's built-in default, refused outside dev.

Real accounts go in ADMIN_UI_ADMINS as `name:<argon2 hash>` lines from
`shoptrail-admin-ui hash-password NAME`.
"""


@dataclass(frozen=True)
class Ports:
    """Every HTTP and SMTP port, as offsets from one base (SHOPTRAIL_PORT_BASE)."""

    base: int = 8000

    @property
    def public(self) -> int:
        """The proxy: the one origin browsers, webhooks and email links use."""
        return self.base

    @property
    def admin_ui(self) -> int:
        return self.base + 10

    @property
    def ingest(self) -> int:
        return self.base + 1

    @property
    def activity(self) -> int:
        return self.base + 2

    def activity_replica(self, n: int) -> int:
        """Replica `n` (from 1) of activity: the first on base+2, further ones from base+41."""
        assert 1 <= n <= MAX_ACTIVITY_REPLICAS, n
        return self.activity if n == 1 else self.base + 39 + n

    @property
    def fulfilment(self) -> int:
        return self.base + 3

    @property
    def notifier(self) -> int:
        return self.base + 4

    @property
    def fulfilment_worker(self) -> int:
        return self.base + 13

    @property
    def notifier_worker(self) -> int:
        return self.base + 14

    @property
    def smtp(self) -> int:
        return self.base + 24

    @property
    def mail_web(self) -> int:
        return self.base + 25

    @property
    def fake_provider(self) -> int:
        return self.base + 90

    @property
    def fake_stripe(self) -> int:
        return self.base + 91

    @staticmethod
    def from_env() -> Ports:
        return Ports(int(os.environ.get("SHOPTRAIL_PORT_BASE", "8000")))


MAX_ACTIVITY_REPLICAS = 9


def url(port: int, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port}"


def database_url(paths: stack.Paths, service: str) -> str:
    """The service's own database on the local cluster: shoptrail_<service>."""
    name = f"shoptrail_{service.replace('-', '_')}"
    return make_url(paths.database_url).set(database=name).render_as_string(hide_password=False)


DATABASES = ("activity", "fulfilment", "notifier")
"""Services with state of their own (ingest and admin-ui keep none)."""


def service_environment(paths: stack.Paths, ports: Ports) -> dict[str, dict[str, str]]:
    """Every service's settings for `make dev`, by service (see each service's config.py)."""
    s = DEV_SECRETS
    common = {"ENVIRONMENT": "dev", "KAFKA_BOOTSTRAP": paths.bootstrap, "LOG_LEVEL": "INFO"}
    kafka_users = bus_users(paths)
    table: dict[str, dict[str, str]] = {
        "ingest": {
            "PORT": str(ports.ingest),
            "SERVICE_TOKEN": s["ingest_token"],
            "STRIPE_WEBHOOK_SECRETS": s["stripe_webhook_secret"],
            # Stripe's webhooks carry no line items: ingest reads them from this fake
            # Stripe API, which the demo tells about each checkout before its webhook.
            "STRIPE_API_BASE": url(ports.fake_stripe),
            "STRIPE_API_KEY": s["stripe_api_key"],
            "PRINTIFY_WEBHOOK_SECRET": s["printify_webhook_secret"],
            "PRINTFUL_WEBHOOK_SECRET_KEY": s["printful_webhook_secret_key"],
            "EMAIL_WEBHOOK_SECRETS": s["email_webhook_secret"],
        },
        "activity": {
            "PORT": str(ports.activity),
            "DATABASE_URL": database_url(paths, "activity"),
            "SERVICE_TOKEN": s["activity_token"],
            "METADATA_MAX_AGE_MS": "5000",
            # The admin's pages open the live WebSocket on their own origin: the proxy's /ws.
            "WS_ALLOWED_ORIGINS": f"{url(ports.public)},{url(ports.public, 'localhost')}",
            "WS_PUBLIC_URL": "/ws",
            "WS_TOKEN_SECRET": s["activity_ws_secret"],
        },
        "fulfilment": {
            "PORT": str(ports.fulfilment),
            "WORKER_PORT": str(ports.fulfilment_worker),
            "DATABASE_URL": database_url(paths, "fulfilment"),
            "SERVICE_TOKEN": s["fulfilment_token"],
            "PRINTIFY_BASE_URL": url(ports.fake_provider),
            "PRINTIFY_TOKEN": s["printify_api_token"],
            "PRINTIFY_SHOP_ID": "4242",
            "PRINTFUL_BASE_URL": url(ports.fake_provider),
            "PRINTFUL_TOKEN": s["printful_api_token"],
            # Short waits so a failed submission is retried while you watch.
            "RETRY_BACKOFF_S": "3",
            "RETRY_BACKOFF_MAX_S": "30",
            "JOB_POLL_INTERVAL_S": "1",
            "PROVIDER_TIMEOUT_S": "10",
        },
        "notifier": {
            "PORT": str(ports.notifier),
            "WORKER_PORT": str(ports.notifier_worker),
            "DATABASE_URL": database_url(paths, "notifier"),
            "SERVICE_TOKEN": s["notifier_token"],
            "PUBLIC_BASE_URL": url(ports.public),  # unsubscribe links, through the proxy
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(ports.smtp),
            "SMTP_SECURITY": "none",
            "UNSUBSCRIBE_SECRET": s["unsubscribe_secret"],
            # Recovery emails a few seconds (plus the minute tick) after a checkout expires.
            "RECOVERY_DELAY": "PT10S",
            "EMAIL_RETRY_WAIT_S": "1",
            # Alerts to the owner: activity says which entries are open; links go to the admin.
            "ACTIVITY_URL": url(ports.activity),
            "ACTIVITY_TOKEN": s["activity_token"],
            "ADMIN_URL": url(ports.public),
            "ALERT_SENDER": "alerts@samsprints.example",
        },
        "admin-ui": {
            "PORT": str(ports.admin_ui),
            "SERVICE_TOKEN": s["admin_ui_token"],
            "SESSION_SECRET": s["admin_ui_session_secret"],
            "ACTIVITY_URL": url(ports.activity),
            "ACTIVITY_TOKEN": s["activity_token"],
            "FULFILMENT_URL": url(ports.fulfilment),
            "FULFILMENT_TOKEN": s["fulfilment_token"],
            "NOTIFIER_URL": url(ports.notifier),
            "NOTIFIER_TOKEN": s["notifier_token"],
            "ACTIVITY_WS_ORIGIN": "self",
        },
    }
    prefixes = {name: name.upper().replace("-", "_") + "_" for name in table}
    return {
        name: {
            prefixes[name] + key: value
            for key, value in {**common, **kafka_users.get(name, {}), **settings}.items()
        }
        for name, settings in table.items()
    }


def bus_users(paths: stack.Paths) -> dict[str, dict[str, str]]:
    """On a guarded bus (`stack.py up --auth`), each service's own Kafka user and password.

    The users are those `shoptrail.events.acl` defines (admin-ui never talks
    to Kafka, so has none); the passwords are the stack's, made on first use.
    """
    if not paths.auth:
        return {}
    passwords = stack.bus_credentials(paths, acl.bus_users())
    return {
        user: {"KAFKA_USERNAME": user, "KAFKA_PASSWORD": passwords[user]}
        for user in acl.bus_users()
    }


def operator_access(paths: stack.Paths) -> KafkaAccess:
    """The operator's way onto the local bus: topic creation, `shoptrail-dlq`, test harnesses."""
    if not paths.auth:
        return KafkaAccess(paths.bootstrap)
    password = stack.bus_credentials(paths, [])[stack.OPERATOR]
    return KafkaAccess(paths.bootstrap, stack.OPERATOR, SecretStr(password), mechanism="PLAIN")


# --- the processes ----------------------------------------------------------


@dataclass(frozen=True)
class Process:
    """One long-running child: its log prefix, command, settings and health URL."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    health: str | None = None
    nice: int = 0
    """Scheduling priority (`nice`): background work yields the CPU to the webhook door
    and to what the owner reads (see BACKGROUND)."""

    @property
    def service(self) -> str | None:
        """The Shoptrail service this runs (None for dev-only helpers)."""
        program = self.argv[0]
        return program.removeprefix("shoptrail-") if program.startswith("shoptrail-") else None


BACKGROUND = 10
"""The niceness of work that may fall behind and catch up (job workers, the consumers that
submit orders and send mail, the local stand-ins for the provider and the mail server).
On one machine at a burst they would otherwise take the CPU from ingest, whose answers
must stay fast (the providers retry a slow answer), and from the admin."""


def migrations(paths: stack.Paths, ports: Ports) -> list[Process]:
    """One `migrate` per service with a database, run to completion before anything serves."""
    env = service_environment(paths, ports)
    return [
        Process(f"{name}-migrate", (f"shoptrail-{name}", "migrate"), env[name])
        for name in DATABASES
    ]


def activity_replicas(paths: stack.Paths, ports: Ports, replicas: int) -> list[Process]:
    """`activity serve` × `replicas`, one consumer group: Kafka shares the partitions out."""
    env = service_environment(paths, ports)["activity"]
    return [
        Process(
            "activity" if n == 1 else f"activity-{n}",
            ("shoptrail-activity", "serve"),
            {**env, "ACTIVITY_PORT": str(ports.activity_replica(n))},
            f"{url(ports.activity_replica(n))}/readyz",
        )
        for n in range(1, replicas + 1)
    ]


def proxy_process(paths: stack.Paths, ports: Ports, replicas: int) -> Process:
    """nginx on the public port (proxy.py writes its config into the state folder)."""
    upstreams = {
        "admin-ui": [ports.admin_ui],
        "activity": [ports.activity_replica(n) for n in range(1, replicas + 1)],
        "ingest": [ports.ingest],
        "notifier": [ports.notifier],
    }
    return Process(
        "proxy",
        (
            "python",
            str(HERE / "proxy.py"),
            "--listen",
            str(ports.public),
            "--state",
            str(paths.state / "proxy"),
            *(
                arg
                for name, served in upstreams.items()
                for port in served
                for arg in (f"--{name}", f"127.0.0.1:{port}")
            ),
        ),
        health=f"{url(ports.public)}/_proxy/healthz",
    )


def processes(paths: stack.Paths, ports: Ports, activity: int = 1) -> list[Process]:
    """Everything `make dev` keeps running (the demo is added separately)."""
    env = service_environment(paths, ports)
    mail_dir = paths.state / "mail"
    python = "python"
    return [
        Process(
            "mail",
            (
                python,
                str(HERE / "mailsink.py"),
                "--smtp-port",
                str(ports.smtp),
                "--http-port",
                str(ports.mail_web),
                "--dir",
                str(mail_dir),
            ),
            health=f"{url(ports.mail_web)}/healthz",
            nice=BACKGROUND,
        ),
        Process(
            "fake-provider",
            ("shoptrail-fulfilment", "fake-provider", "--port", str(ports.fake_provider)),
            health=f"{url(ports.fake_provider)}/_fake/orders",
            nice=BACKGROUND,
        ),
        Process(
            "fake-stripe",
            ("shoptrail-ingest", "fake-stripe", "--port", str(ports.fake_stripe)),
            health=f"{url(ports.fake_stripe)}/healthz",
            nice=BACKGROUND,
        ),
        Process(
            "ingest", ("shoptrail-ingest", "serve"), env["ingest"], f"{url(ports.ingest)}/healthz"
        ),
        *activity_replicas(paths, ports, activity),
        Process(
            "fulfilment",
            ("shoptrail-fulfilment", "serve"),
            env["fulfilment"],
            f"{url(ports.fulfilment)}/healthz",
            nice=BACKGROUND,
        ),
        Process(
            "fulfilment-worker",
            ("shoptrail-fulfilment", "worker"),
            env["fulfilment"],
            f"{url(ports.fulfilment_worker)}/readyz",
            nice=BACKGROUND,
        ),
        Process(
            "notifier",
            ("shoptrail-notifier", "serve"),
            env["notifier"],
            f"{url(ports.notifier)}/healthz",
            nice=BACKGROUND,
        ),
        Process(
            "notifier-worker",
            ("shoptrail-notifier", "worker"),
            env["notifier"],
            f"{url(ports.notifier_worker)}/readyz",
            nice=BACKGROUND,
        ),
        Process(
            "admin-ui",
            ("shoptrail-admin-ui", "serve"),
            env["admin-ui"],
            f"{url(ports.admin_ui)}/healthz",
        ),
        proxy_process(paths, ports, activity),
    ]


def demo_process(ports: Ports, demo_args: Sequence[str]) -> Process:
    return Process("demo", ("python", str(HERE / "demo.py"), *demo_args))


# --- infrastructure the services expect -----------------------------------


async def create_databases(paths: stack.Paths) -> None:
    """CREATE DATABASE shoptrail_<service> for each service that keeps state (idempotent)."""
    dsn = make_url(paths.database_url).set(drivername="postgresql")
    admin = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        for service in DATABASES:
            name = make_url(database_url(paths, service)).database
            exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await admin.execute(f'CREATE DATABASE "{name}"')
                say(f"created database {name}")
    finally:
        await admin.close()


EVENT_TOPICS = topics.EVENT_TOPICS


async def create_topics(kafka: KafkaAccess | str, partitions: int = topics.PARTITIONS) -> None:
    """The event topics and their dead-letter topics, before any consumer subscribes.

    As the operator: on a guarded bus no service may create topics. Replicated as
    the cluster allows (`topics.replication_for` the brokers it reports): one copy
    on one broker; on three, three copies with `min.insync.replicas=2`.
    """
    admin = AIOKafkaAdminClient(**kafka_client_options(kafka))
    await admin.start()
    try:
        brokers = len((await admin.describe_cluster())["brokers"])
        replicas, config = topics.replication_for(brokers)
        existing = set(await admin.list_topics())
        wanted = [
            t
            for base in EVENT_TOPICS
            for t in (base, topics.dead_letter_topic(base))
            if t not in existing
        ]
        if wanted:
            new = [NewTopic(t, partitions, replicas, topic_configs=config) for t in wanted]
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
            say(f"created topics {', '.join(wanted)} ({replicas} replica(s) each)")
    finally:
        await admin.close()


# --- running ----------------------------------------------------------------


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


COLOURS = ("36", "35", "33", "32", "34", "31", "96", "95", "93", "92")


class Supervisor:
    """Starts children, prefixes their output, and stops them all."""

    def __init__(self, sink: TextIO, width: int) -> None:
        self.sink = sink
        self.width = width
        self.tty = sys.stdout.isatty()
        self.children: dict[str, asyncio.subprocess.Process] = {}
        self.pumps: list[asyncio.Task[None]] = []
        self.bin_dir = Path(sys.executable).parent

    def _argv(self, process: Process) -> list[str]:
        program = (
            sys.executable if process.argv[0] == "python" else str(self.bin_dir / process.argv[0])
        )
        return [program, *process.argv[1:]]

    async def start(self, process: Process) -> asyncio.subprocess.Process:
        child = await asyncio.create_subprocess_exec(
            *self._argv(process),
            env={**os.environ, **process.env, "PYTHONUNBUFFERED": "1"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        if process.nice:
            os.setpriority(os.PRIO_PROCESS, child.pid, process.nice)
        self.children[process.name] = child
        assert child.stdout is not None
        colour = COLOURS[len(self.children) % len(COLOURS)]
        self.pumps.append(asyncio.create_task(self._pump(process.name, colour, child.stdout)))
        return child

    async def run_to_end(self, process: Process) -> int:
        child = await self.start(process)
        code = await child.wait()
        del self.children[process.name]
        return code

    async def _pump(self, name: str, colour: str, stream: asyncio.StreamReader) -> None:
        """Copy a child's output line by line, prefixed with its name."""
        while line := await stream.readline():
            text = line.decode(errors="replace").rstrip()
            self.sink.write(f"{name:>{self.width}} | {text}\n")
            self.sink.flush()
            prefix = (
                f"\x1b[{colour}m{name:>{self.width}}\x1b[0m"
                if self.tty
                else f"{name:>{self.width}}"
            )
            print(f"{prefix} | {text}", flush=True)

    async def stop_all(self, timeout: float = 15.0) -> None:
        """SIGTERM every child's process group, then SIGKILL whatever is left."""
        running = {n: c for n, c in self.children.items() if c.returncode is None}
        for child in running.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
        waits = [asyncio.create_task(c.wait()) for c in running.values()]
        if waits:
            _, pending = await asyncio.wait(waits, timeout=timeout)
            for name, child in running.items():
                if child.returncode is None:
                    say(f"{name} did not stop within {timeout:.0f}s; killing it")
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(child.pid, signal.SIGKILL)
            if pending:
                await asyncio.wait(pending, timeout=5)
        await asyncio.gather(*self.pumps, return_exceptions=True)


async def healthy(process: Process, timeout: float = 90.0) -> bool:
    assert process.health is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while loop.time() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(process.health)).status_code == 200:
                    return True
            await asyncio.sleep(0.3)
    return False


def banner(paths: stack.Paths, ports: Ports, log_path: Path, replicas: int = 1) -> str:
    user, password = ADMIN_LOGIN
    return "\n".join(
        [
            "",
            "=" * 72,
            f"  Shoptrail is up.  Admin UI: {url(ports.public)}   login: {user} / {password}",
            "  (the dev account is ADMIN_LOGIN in deploy/local/dev.py; nginx serves the admin,",
            "  its live WebSocket, the webhooks and unsubscribe links there: deploy/proxy/)",
            f"  Emails kept:  {url(ports.mail_web)}   (files in {paths.state / 'mail'})",
            f"  Activity API: {url(ports.activity)}/docs  token: {DEV_SECRETS['activity_token']}"
            + (f"   ({replicas} replicas behind the proxy)" if replicas > 1 else ""),
            f"  Webhooks:     {url(ports.ingest)}/webhooks/…   fake provider: "
            f"{url(ports.fake_provider)}/docs   fake Stripe API: {url(ports.fake_stripe)}/docs",
            f"  Kafka: {paths.bootstrap}   PostgreSQL: {paths.database_url}",
            f"  All logs: {log_path}   Ctrl-C stops everything.",
            "=" * 72,
            "",
        ]
    )


async def run(args: argparse.Namespace) -> int:
    paths = stack.paths_from_env()
    ports = Ports.from_env()
    stack.postgres_up(paths)
    stack.kafka_up(paths)
    await create_databases(paths)
    await create_topics(operator_access(paths))

    paths.logs.mkdir(parents=True, exist_ok=True)
    log_path = paths.logs / "services.log"
    long_running = processes(paths, ports, args.activity_replicas)
    width = max(len(p.name) for p in [*long_running, *migrations(paths, ports)])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    with log_path.open("a") as sink:
        supervisor = Supervisor(sink, width)
        try:
            return await _supervise(supervisor, args, paths, ports, long_running, stop, log_path)
        finally:
            say("stopping…")
            await supervisor.stop_all()
            if not args.keep_infra:
                stack.kafka_down(paths)
                stack.postgres_down(paths)
            say("stopped")


async def _supervise(
    supervisor: Supervisor,
    args: argparse.Namespace,
    paths: stack.Paths,
    ports: Ports,
    long_running: list[Process],
    stop: asyncio.Event,
    log_path: Path,
) -> int:
    for migration in migrations(paths, ports):
        if code := await supervisor.run_to_end(migration):
            say(f"{migration.name} failed (exit {code}); see its lines above")
            return 1
        if stop.is_set():
            return 0

    for process in long_running:
        await supervisor.start(process)
    if not await _all_healthy(supervisor, [p for p in long_running if p.health], stop):
        return 1

    demo_args = ["--prepare-only"] if args.no_demo else list(args.demo_args)
    demo = demo_process(ports, demo_args)
    await supervisor.start(demo)
    print(banner(paths, ports, log_path, args.activity_replicas), flush=True)

    watched = {
        asyncio.create_task(child.wait()): name for name, child in supervisor.children.items()
    }
    stopper = asyncio.create_task(stop.wait())
    while True:
        done, _ = await asyncio.wait([stopper, *watched], return_when=asyncio.FIRST_COMPLETED)
        if stopper in done:
            return 0
        for task in done:
            name = watched.pop(task)
            code = task.result()
            if name == "demo" and code == 0:
                say("demo traffic finished; the shop keeps running (Ctrl-C stops)")
                continue
            say(f"!!! {name} exited with code {code} — stopping everything (log: {log_path})")
            stopper.cancel()
            return 1


async def _all_healthy(supervisor: Supervisor, checked: list[Process], stop: asyncio.Event) -> bool:
    """Every process answers its health check; False as soon as one exits or never answers."""

    async def check_all() -> list[bool]:
        return list(await asyncio.gather(*(healthy(p) for p in checked)))

    checks = asyncio.create_task(check_all())
    exits = {asyncio.create_task(c.wait()): n for n, c in supervisor.children.items()}
    stopper = asyncio.create_task(stop.wait())
    waiting: list[asyncio.Task[Any]] = [checks, stopper, *exits]
    try:
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        for task, name in exits.items():
            if task.done():
                say(f"!!! {name} exited with code {task.result()} while starting (see its lines)")
                return False
        if stopper.done():
            return False
        for process, ok in zip(checked, checks.result(), strict=True):
            if not ok:
                say(f"{process.name} is NOT ANSWERING at {process.health} (see its lines)")
        return all(checks.result())
    finally:
        for task in waiting:
            task.cancel()


def plan(paths: stack.Paths, ports: Ports, activity_replicas: int = 1) -> dict[str, object]:
    """What `make dev` would run and where, for tests and the curious.

    `urls["admin-ui"]` is where the admin is opened: the proxy."""
    return {
        "processes": [
            {
                "name": p.name,
                "argv": list(p.argv),
                "service": p.service,
                "phase": phase,
                "env": p.env,
                "nice": p.nice,
                "health": p.health,
            }
            for phase, group in (
                ("migrate", migrations(paths, ports)),
                ("run", processes(paths, ports, activity_replicas)),
            )
            for p in group
        ],
        "urls": {
            "admin-ui": url(ports.public),
            "proxy": url(ports.public),
            "ingest": url(ports.ingest),
            "activity": url(ports.activity),
            "fulfilment": url(ports.fulfilment),
            "notifier": url(ports.notifier),
            "fulfilment-worker": url(ports.fulfilment_worker),
            "notifier-worker": url(ports.notifier_worker),
            "mail": url(ports.mail_web),
            "fake-provider": url(ports.fake_provider),
            "fake-stripe": url(ports.fake_stripe),
        },
        "smtp": f"127.0.0.1:{ports.smtp}",
        "kafka": paths.bootstrap,
        "postgres": paths.database_url,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make dev", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--keep-infra", action="store_true", help="leave Kafka and PostgreSQL running on exit"
    )
    parser.add_argument(
        "--no-demo", action="store_true", help="configure the shop but send no demo traffic"
    )
    parser.add_argument(
        "--activity-replicas",
        type=int,
        default=1,
        choices=range(1, MAX_ACTIVITY_REPLICAS + 1),
        metavar="N",
        help="activity `serve` processes behind the proxy, sharing one consumer group (1)",
    )
    parser.add_argument(
        "--plan", action="store_true", help="print the processes as JSON and exit (starts nothing)"
    )
    parser.add_argument(
        "demo_args",
        nargs=argparse.REMAINDER,
        help="after --: arguments for demo.py (e.g. -- --rate 6 --duration 10m)",
    )
    args = parser.parse_args(argv)
    if args.demo_args[:1] == ["--"]:
        args.demo_args = args.demo_args[1:]
    if args.plan:
        planned = plan(stack.paths_from_env(), Ports.from_env(), args.activity_replicas)
        print(json.dumps(planned, indent=2))
        return 0
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
