"""Starting the whole shop from the launcher's plan, one process at a time.

`deploy/local/dev.py --plan` prints what `make dev` runs: every process with
its command and environment, and every URL. `launch()` does what dev.py does,
in dev.py's order and with dev.py's own functions — `stack.py up` (Kafka and
PostgreSQL), the databases and topics, every migration, every process, then
the demo's one-off preparation — on private ports and a private state folder,
so it runs beside the shared stack and beside `tests/test_whole_shop.py`.
`urls["admin-ui"]` is the plan's: the proxy (nginx), so a browser opens the
admin and its live WebSocket on one origin, as the owner does.

The bus is guarded (`stack.py up --auth`): every service signs in to Kafka
with its own user and the ACLs of `shoptrail.events.acl`, so these suites
prove each service can do its whole job with no more than it is granted.
The tests' own Kafka clients use `shop.kafka` (the operator) or
`shop.kafka_as(service)`.

Unlike dev.py it holds each process itself, so a test can stop and restart one
service (activity, around a replay) without the launcher taking that for a
crash and stopping everything. Each process's output goes to
`<state>/logs/<name>.log`.

Needs `deploy/local` on `sys.path` (tests/e2e/conftest.py puts it there).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import demo_doors
import dev
import httpx
import pytest
import stack
from pydantic import SecretStr

from shoptrail.events.kafka_access import KafkaAccess
from shoptrail.testing import free_port_block

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / "deploy" / "local"


@dataclass
class PlannedProcess:
    """One entry of `dev.py --plan`."""

    name: str
    argv: list[str]
    env: dict[str, str]
    phase: str
    nice: int = 0
    health: str | None = None
    """Where it says it is ready (dev.py's health check)."""

    def command(self, *args: str) -> list[str]:
        """The argv with the program resolved as dev.py's Supervisor does; `args` replace
        the plan's arguments (e.g. `activity` → `shoptrail-activity replay`)."""
        program = self.argv[0]
        executable = (
            sys.executable if program == "python" else str(Path(sys.executable).parent / program)
        )
        return [executable, *(args or self.argv[1:])]


@dataclass(frozen=True)
class Finished:
    """A program run to completion: its exit code and output."""

    code: int
    stdout: str
    stderr: str


@dataclass
class LaunchedShop:
    """Every process of `make dev`, each startable and stoppable on its own."""

    state: Path
    env: dict[str, str]
    """The launcher's settings (SHOPTRAIL_LOCAL_DIR, ports); the services' are in `planned`."""
    urls: dict[str, str]
    planned: dict[str, PlannedProcess]
    paths: stack.Paths
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def bootstrap(self) -> str:
        """The shop's own Kafka (every broker, comma-separated, on a cluster)."""
        return self.paths.bootstrap

    @property
    def kafka(self) -> KafkaAccess:
        """The shop's Kafka as the operator (super user on a guarded bus): set-up, inspection."""
        return dev.operator_access(self.paths)

    def kafka_as(self, service: str) -> KafkaAccess:
        """The shop's Kafka as `service`'s own user, with only its grants (when guarded)."""
        env = self.planned[service].env
        prefix = service.upper().replace("-", "_") + "_KAFKA_"
        password = env.get(prefix + "PASSWORD")
        return KafkaAccess(
            self.bootstrap,
            username=env.get(prefix + "USERNAME"),
            password=SecretStr(password) if password else None,
        )

    def service_env(self, name: str) -> dict[str, str]:
        return {**os.environ, **self.planned[name].env, "PYTHONUNBUFFERED": "1"}

    async def run(self, name: str, *args: str, timeout: float = 120) -> Finished:
        """Run `name`'s program (with `args` instead of the plan's) to completion, with its
        planned environment: `run("activity", "replay")`."""
        process = await asyncio.create_subprocess_exec(
            *self.planned[name].command(*args),
            env=self.service_env(name),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
            cwd=REPO,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        assert process.returncode is not None
        return Finished(
            process.returncode, out.decode(errors="replace"), err.decode("utf-8", "replace")
        )

    def start(self, name: str) -> None:
        assert name not in self.running or self.running[name].poll() is not None, name
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{name}.log").open("ab") as out:
            self.running[name] = subprocess.Popen(
                self.planned[name].command(),
                env=self.service_env(name),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=REPO,
                start_new_session=True,
            )
        if nice := self.planned[name].nice:
            os.setpriority(os.PRIO_PROCESS, self.running[name].pid, nice)

    async def stop(self, name: str, timeout: float = 15) -> int:
        """SIGTERM to the process group (as dev.py does), SIGKILL after `timeout`; exit code."""
        process = self.running.pop(name)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await asyncio.to_thread(process.wait)
        return process.returncode

    def ready_url(self, name: str) -> str | None:
        return self.planned[name].health

    async def wait_ready(self, names: list[str], timeout: float = 120) -> None:
        """Every named process answers its ready check (and none has exited)."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            for name in names:
                url = self.ready_url(name)
                while True:
                    if (code := self.running[name].poll()) is not None:
                        pytest.fail(f"{name} exited with {code}:\n{self.log_tail(name)}")
                    if url is None:
                        break
                    try:
                        if (await http.get(url)).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        pytest.fail(f"{name} not ready at {url}:\n{self.log_tail(name)}")
                    await asyncio.sleep(0.3)

    def log_tail(self, name: str, chars: int = 3000) -> str:
        log = self.logs / f"{name}.log"
        return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"

    def doors(self) -> demo_doors.ShopUrls:
        """The public doors, as the demo traffic generator uses them."""
        return demo_doors.ShopUrls(
            ingest=self.urls["ingest"],
            activity=self.urls["activity"],
            fulfilment=self.urls["fulfilment"],
            notifier=self.urls["notifier"],
            fake_provider=self.urls["fake-provider"],
            fake_stripe=self.urls["fake-stripe"],
            secrets=dict(dev.DEV_SECRETS),
        )

    async def stop_all(self) -> None:
        for name in reversed(list(self.running)):
            await self.stop(name)


def _plan(env: dict[str, str], activity_replicas: int = 1) -> dict[str, Any]:
    planned = subprocess.run(
        [
            sys.executable,
            str(LOCAL / "dev.py"),
            "--plan",
            f"--activity-replicas={activity_replicas}",
        ],
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    plan: dict[str, Any] = json.loads(planned.stdout)
    return plan


@asynccontextmanager
async def launch(
    state: Path,
    *,
    settings: dict[str, dict[str, str]] | None = None,
    everywhere: dict[str, str] | None = None,
    guarded: bool = True,
    activity_replicas: int = 1,
    brokers: int = 1,
) -> AsyncIterator[LaunchedShop]:
    """`make dev --no-demo` on private ports, Kafka, PostgreSQL and `state`; all stopped
    (and the private Kafka and PostgreSQL data deleted) on the way out.

    `settings` adds environment variables to named processes' planned settings
    (`{"fulfilment": {"FULFILMENT_X": "1"}}`), as an operator would set them;
    `everywhere` adds them to every process (`OTEL_EXPORTER_OTLP_ENDPOINT`);
    `guarded` starts Kafka with SASL users and ACLs (`stack.py up --auth`);
    `activity_replicas` runs that many activity `serve`s behind the proxy (`activity`,
    `activity-2`, …), as `dev.py --activity-replicas` does;
    `brokers=3` a three-broker cluster (`stack.py up --brokers 3`), on which
    dev.py's topics get three replicas and `min.insync.replicas=2`.

    Ports, in free_port_block's hundred: the services' from base (dev.Ports, up
    to base+91), PostgreSQL base+99; Kafka base+97 (+98 its controller) for one
    broker, and for three the brokers on base+92, +94, +96, their controller +93."""
    base = free_port_block()
    kafka_port = base + 97 if brokers == 1 else base + 92
    env = {
        **os.environ,
        "SHOPTRAIL_LOCAL_DIR": str(state),
        "SHOPTRAIL_PORT_BASE": str(base),
        "SHOPTRAIL_KAFKA_PORT": str(kafka_port),
        "SHOPTRAIL_PG_PORT": str(base + 99),
        stack.AUTH_ENV: "scram" if guarded else "none",
        stack.BROKERS_ENV: str(brokers),
    }
    paths = dataclasses.replace(
        stack.paths_from_env(),
        state=state,
        kafka_port=kafka_port,
        pg_port=base + 99,
        auth_requested=guarded,
        brokers_requested=brokers,
    )
    plan = await asyncio.to_thread(_plan, env, activity_replicas)
    shop = LaunchedShop(
        state=state,
        env=env,
        urls=plan["urls"],
        planned={
            p["name"]: PlannedProcess(
                p["name"],
                p["argv"],
                {**p["env"], **(everywhere or {}), **(settings or {}).get(p["name"], {})},
                p["phase"],
                p.get("nice", 0),
                p.get("health"),
            )
            for p in plan["processes"]
        },
        paths=paths,
    )
    try:
        infra = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, str(LOCAL / "stack.py"), "up"],
            env=env,
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert infra.returncode == 0, f"stack.py up failed:\n{infra.stdout}\n{infra.stderr}"
        assert paths.bootstrap == plan["kafka"] and paths.database_url == plan["postgres"]
        await dev.create_databases(paths)
        await dev.create_topics(shop.kafka)
        for migration in (p for p in shop.planned.values() if p.phase == "migrate"):
            done = await shop.run(migration.name)
            assert done.code == 0, f"{migration.name}:\n{done.stdout}\n{done.stderr}"
        long_running = [p.name for p in shop.planned.values() if p.phase == "run"]
        for name in long_running:
            shop.start(name)
        await shop.wait_ready(long_running)
        async with demo_doors.Shop(shop.doors()) as doors:
            await doors.prepare()  # what `dev.py --no-demo` runs: demo.py --prepare-only
        yield shop
    finally:
        await shop.stop_all()
        # Stops the private Kafka and PostgreSQL and deletes their data.
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, str(LOCAL / "stack.py"), "reset"],
            env=env,
            check=False,
            capture_output=True,
            timeout=120,
        )
        # As root, PostgreSQL's data lives in /var/tmp/shoptrail-<hash>/postgres; reset
        # deletes `postgres` but leaves its (now empty) folder.
        if paths.pg_dir.parent.name.startswith("shoptrail-"):
            with contextlib.suppress(OSError):
                paths.pg_dir.parent.rmdir()
