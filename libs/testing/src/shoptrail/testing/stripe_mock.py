"""Stripe's own mock API server (github.com/stripe/stripe-mock), run for a test.

stripe-mock answers every Stripe API route with Stripe's published fixture
objects and refuses requests its OpenAPI spec does not allow, so a client that
parses its answers parses Stripe's real shapes. deploy/local/stripe-mock.sh
builds it into the stack's cache (system-deps.sh runs that script).

    with running_stripe_mock(binary) as url:   # http://127.0.0.1:<port>
        ...

It is started on ports the kernel picks (`-http-addr 127.0.0.1:0`, and the
same for the HTTPS listener it opens anyway, so two suites never race for
one) and is ready when it has printed the address it listens on and answered
one request: no guessed waits.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx

VERSION = "v0.203.0"
"""The version deploy/local/stripe-mock.sh installs."""

_LISTENING = re.compile(r"Listening for HTTP at address: (\S+)")


def stripe_mock_binary() -> str | None:
    """Where stripe-mock is: $SHOPTRAIL_STRIPE_MOCK, the stack's cache, else PATH (or None)."""
    if explicit := os.environ.get("SHOPTRAIL_STRIPE_MOCK"):
        return explicit
    cache = Path(os.environ.get("SHOPTRAIL_CACHE_DIR", Path.home() / ".cache" / "shoptrail"))
    built = cache / f"stripe-mock-{VERSION}" / "stripe-mock"
    if built.is_file():
        return str(built)
    return shutil.which("stripe-mock")


class StripeMockError(RuntimeError):
    """stripe-mock did not start (its output says why)."""


@contextlib.contextmanager
def running_stripe_mock(binary: str, *, timeout: float = 60.0) -> Iterator[str]:
    """Start stripe-mock on a free port of 127.0.0.1; yield its base URL; stop it after."""
    process = subprocess.Popen(  # noqa: S603 (our own install of stripe-mock, fixed arguments)
        # HTTPS listens too unless told where: on its fixed default port two servers
        # would collide, so it gets a kernel-picked port as well (unused here).
        [binary, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        # Keeps reading after start-up too, so a chatty server never blocks on a full pipe.
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, name="stripe-mock-output", daemon=True)
    reader.start()
    try:
        address = _address(lines, timeout, output)
        url = f"http://{address}"
        # The listener is bound before the line is printed; one answered request proves
        # the routes are loaded too.
        httpx.get(f"{url}/v1/charges", headers={"Authorization": "Bearer sk_test_ready"})
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)


def _address(lines: queue.Queue[str | None], timeout: float, output: list[str]) -> str:
    """The `host:port` stripe-mock says it listens on (raises if it exits or stays silent)."""
    try:
        while (line := lines.get(timeout=timeout)) is not None:
            if match := _LISTENING.search(line):
                return match[1]
    except queue.Empty:
        raise StripeMockError(
            f"stripe-mock printed no address within {timeout} s:\n{''.join(output)}"
        ) from None
    raise StripeMockError(f"stripe-mock exited while starting:\n{''.join(output)}")
