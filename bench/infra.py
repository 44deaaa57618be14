"""Real Kafka and PostgreSQL for benchmarks, obtained like the tests obtain them."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]


def connection_info() -> tuple[str, str]:
    """(kafka bootstrap, database URL): from the environment, else the local launcher."""
    bootstrap = os.environ.get("SHOPTRAIL_KAFKA_BOOTSTRAP")
    url = os.environ.get("SHOPTRAIL_DATABASE_URL")
    if bootstrap and url:
        return bootstrap, url
    out = subprocess.run(
        [sys.executable, str(REPO / "deploy/local/stack.py"), "up", "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    info = json.loads(out)
    return info["SHOPTRAIL_KAFKA_BOOTSTRAP"], info["SHOPTRAIL_DATABASE_URL"]


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def fresh_database(url: str, name: str) -> str:
    admin = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@contextlib.contextmanager
def service(command: list[str], env: dict[str, str], health_url: str | None) -> Iterator[int]:
    """Run a service process for the duration of a block."""
    proc = subprocess.Popen(
        command, env=os.environ | env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        if health_url:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(health_url, timeout=1).status_code == 200:
                        break
                time.sleep(0.2)
            else:
                raise RuntimeError(f"{command} did not become healthy")
        yield proc.pid
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[Any], timeout: float = 20) -> None:
    """SIGTERM, and SIGKILL if the process has not exited within `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def namespace() -> str:
    return f"bench{uuid.uuid4().hex[:8]}"


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU the processes have used so far (from /proc; gone ones count 0)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / _TICKS


async def backend_pids(dsn: str, database: str) -> list[int]:
    """The PostgreSQL server processes serving `database` now (the stack runs them here)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await conn.close()
    return [row["pid"] for row in rows]
