"""`make dev`: Kafka, PostgreSQL and every Shoptrail service on this machine.

Starts the infrastructure through the local launcher, then each service's own
command, prefixes every log line with the service's name (on the terminal and
in .local/logs/services.log), waits until all answer their health checks and
prints where they are. Ctrl-C stops the services, then the infrastructure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import httpx
import stack


@dataclass(frozen=True)
class Service:
    name: str
    env_prefix: str
    port: int


SERVICES = (
    Service("ingest", "INGEST_", 8001),
    Service("activity", "ACTIVITY_", 8002),
    Service("fulfilment", "FULFILMENT_", 8003),
    Service("notifier", "NOTIFIER_", 8004),
    Service("admin-ui", "ADMIN_UI_", 8000),
)
COLOURS = ("36", "35", "33", "32", "34")


def service_env(service: Service, paths: stack.Paths) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            f"{service.env_prefix}ENVIRONMENT": "dev",
            f"{service.env_prefix}KAFKA_BOOTSTRAP": paths.bootstrap,
            f"{service.env_prefix}DATABASE_URL": paths.database_url,
            f"{service.env_prefix}PORT": str(service.port),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


async def pump(
    name: str, colour: str, stream: asyncio.StreamReader, sink: TextIO, tty: bool
) -> None:
    """Copy a child's output line by line, prefixed with its name."""
    width = max(len(s.name) for s in SERVICES)
    while line := await stream.readline():
        text = line.decode(errors="replace").rstrip()
        sink.write(f"{name:>{width}} | {text}\n")
        sink.flush()
        prefix = f"\x1b[{colour}m{name:>{width}}\x1b[0m" if tty else f"{name:>{width}}"
        print(f"{prefix} | {text}", flush=True)


async def wait_healthy(service: Service, timeout: float = 60.0) -> bool:
    url = f"http://127.0.0.1:{service.port}/healthz"
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(int(timeout / 0.25)):
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return True
            await asyncio.sleep(0.25)
    return False


async def run(keep_infra: bool) -> int:
    paths = stack.paths_from_env()
    stack.postgres_up(paths)
    stack.kafka_up(paths)
    bin_dir = Path(sys.executable).parent
    paths.logs.mkdir(parents=True, exist_ok=True)
    log_path = paths.logs / "services.log"
    tty = sys.stdout.isatty()
    children: list[asyncio.subprocess.Process] = []
    pumps: list[asyncio.Task[None]] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    with log_path.open("a") as sink:
        for service, colour in zip(SERVICES, COLOURS, strict=True):
            proc = await asyncio.create_subprocess_exec(
                str(bin_dir / f"shoptrail-{service.name}"),
                "serve",
                env=service_env(service, paths),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
            children.append(proc)
            assert proc.stdout is not None
            pumps.append(asyncio.create_task(pump(service.name, colour, proc.stdout, sink, tty)))

        healthy = await asyncio.gather(*(wait_healthy(s) for s in SERVICES))
        for service, ok in zip(SERVICES, healthy, strict=True):
            state = "up" if ok else "NOT ANSWERING (see its log lines above)"
            print(f"[dev] {service.name:<10} http://127.0.0.1:{service.port}  {state}", flush=True)
        print(
            f"[dev] admin UI: http://127.0.0.1:8000   Kafka: {paths.bootstrap}   "
            f"PostgreSQL: {paths.database_url}\n[dev] all logs: {log_path}   Ctrl-C stops.",
            flush=True,
        )

        exited = [asyncio.create_task(child.wait()) for child in children]
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait([stopper, *exited], return_when=asyncio.FIRST_COMPLETED)
        print("[dev] stopping services…", flush=True)
        for child in children:
            if child.returncode is None:
                child.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*exited), timeout=15)
        for child in children:
            if child.returncode is None:
                child.kill()
        await asyncio.gather(*pumps, return_exceptions=True)
        stopper.cancel()

    if not keep_infra:
        stack.kafka_down(paths)
        stack.postgres_down(paths)
    return 0 if stop.is_set() else 1


def main() -> int:
    parser = argparse.ArgumentParser(prog="make dev", description=__doc__)
    parser.add_argument(
        "--keep-infra", action="store_true", help="leave Kafka and PostgreSQL running on exit"
    )
    args = parser.parse_args()
    return asyncio.run(run(args.keep_infra))


if __name__ == "__main__":
    sys.exit(main())
