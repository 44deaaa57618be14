"""The local stack's public door: Debian's nginx in front of admin-ui and every activity replica.

`make dev` runs this as one of its processes (dev.py's plan names it `proxy`):
it writes an nginx configuration into `--state` (pid file, temp folders and
access log there too, so nginx runs as an ordinary user) and then becomes
`nginx -g 'daemon off;'`, which SIGTERM stops. Which path goes where is
deploy/proxy/locations.conf, the same file compose's proxy includes.

    python deploy/local/proxy.py --listen 8000 --state .local/proxy \
        --admin-ui 127.0.0.1:8010 --activity 127.0.0.1:8002 --activity 127.0.0.1:8041 \
        --ingest 127.0.0.1:8001 --notifier 127.0.0.1:8004
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCATIONS = REPO / "deploy" / "proxy" / "locations.conf"
UPSTREAMS = ("activity", "admin_ui", "ingest", "notifier")
"""The upstream groups locations.conf sends to (as `$<name>_upstream`)."""


def nginx_binary() -> str:
    """Debian's nginx (in /usr/sbin, which an ordinary user's PATH often lacks)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise SystemExit("nginx is not installed: bash deploy/local/system-deps.sh (as root)")
    return found


def render(*, listen: str, state: Path, upstreams: dict[str, Sequence[str]]) -> str:
    """nginx.conf for a proxy on `listen` (`host:port`) to `upstreams` (group → `host:port`s)."""
    assert set(upstreams) == set(UPSTREAMS), sorted(upstreams)
    temp = state / "temp"
    groups = "\n".join(
        f"    upstream {name} {{\n"
        + "".join(f"        server {address} max_fails=1 fail_timeout=5s;\n" for address in servers)
        + "    }"
        for name, servers in upstreams.items()
    )
    variables = "\n".join(f"        set ${name}_upstream {name};" for name in upstreams)
    return f"""\
# Written by deploy/local/proxy.py for `make dev`; rewritten on every start.
worker_processes 1;
# A live socket holds two descriptors (browser, replica): room for a few thousand.
worker_rlimit_nofile 10000;
pid {state / "nginx.pid"};
error_log stderr warn;

events {{
    worker_connections 4096;
}}

http {{
    access_log {state / "access.log"};
    client_body_temp_path {temp / "client_body"};
    proxy_temp_path {temp / "proxy"};
    fastcgi_temp_path {temp / "fastcgi"};
    uwsgi_temp_path {temp / "uwsgi"};
    scgi_temp_path {temp / "scgi"};
    # Bodies and answers stay in memory: nginx never needs its temp folders.
    client_body_buffer_size 1m;
    proxy_max_temp_file_size 0;
    server_tokens off;

    map $http_upgrade $connection_upgrade {{
        default upgrade;
        "" close;
    }}

    # Round robin over the replicas; one that refuses a connection is skipped for 5 s.
{groups}

    server {{
        listen {listen};
{variables}
        include {LOCATIONS};
    }}
}}
"""


def write_config(*, listen: str, state: Path, upstreams: dict[str, Sequence[str]]) -> Path:
    """`state`/nginx.conf (and the folders it names); its path."""
    (state / "temp").mkdir(parents=True, exist_ok=True)
    config = state / "nginx.conf"
    config.write_text(render(listen=listen, state=state, upstreams=upstreams))
    return config


def nginx_command(config: Path) -> list[str]:
    """nginx in the foreground on `config`, with its prefix (pid, logs) beside it."""
    # `-e stderr`: the compiled-in error log (/var/log/nginx) is not ours to write.
    nginx = nginx_binary()
    return [nginx, "-p", str(config.parent), "-c", str(config), "-e", "stderr", "-g", "daemon off;"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--listen", required=True, help="port, or host:port (default host 127.0.0.1)"
    )
    parser.add_argument("--state", required=True, type=Path, help="folder for config, pid, logs")
    for name in UPSTREAMS:
        parser.add_argument(
            f"--{name.replace('_', '-')}", action="append", required=True, metavar="HOST:PORT"
        )
    args = parser.parse_args(argv)
    listen = args.listen if ":" in args.listen else f"127.0.0.1:{args.listen}"
    upstreams = {name: getattr(args, name) for name in UPSTREAMS}
    config = write_config(listen=listen, state=args.state.resolve(), upstreams=upstreams)
    command = nginx_command(config)
    sys.stdout.flush()
    os.execv(command[0], command)  # noqa: S606 - nginx takes this process's place: SIGTERM reaches it


if __name__ == "__main__":
    main()
