"""docker-compose.yml, checked without a Docker engine.

The development machines have the `docker` client but no engine (and no
compose plugin), so the file is parsed with PyYAML and held to the rules
compose enforces that matter here; `docker compose config -q` runs too where
the plugin exists. It is also held to the local launcher: the same processes
with the same commands, and settings every service actually reads.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from shoptrail.activity.config import Settings as ActivitySettings
from shoptrail.admin_ui.config import Settings as AdminUiSettings
from shoptrail.events import topics
from shoptrail.events.acl import (
    COMPOSE_SCRIPT,
    OPERATOR_USER,
    bus_users,
    compose_script,
    password_variable,
)
from shoptrail.fulfilment.config import Settings as FulfilmentSettings
from shoptrail.ingest.config import Settings as IngestSettings
from shoptrail.notifier.config import Settings as NotifierSettings

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker-compose.yml"
DEV = REPO / "deploy" / "local" / "dev.py"
PROXY_DIR = REPO / "deploy" / "proxy"
LOCATIONS = PROXY_DIR / "locations.conf"
LOCAL_PROXY = REPO / "deploy" / "local" / "proxy.py"

SETTINGS: dict[str, type[BaseSettings]] = {
    "INGEST_": IngestSettings,
    "ACTIVITY_": ActivitySettings,
    "FULFILMENT_": FulfilmentSettings,
    "NOTIFIER_": NotifierSettings,
    "ADMIN_UI_": AdminUiSettings,
}
ADMIN_UI_AGREED = {
    f"ADMIN_UI_{name}"
    for name in (
        "ACTIVITY_URL", "ACTIVITY_TOKEN", "FULFILMENT_URL", "FULFILMENT_TOKEN", "NOTIFIER_URL",
        "NOTIFIER_TOKEN", "SESSION_SECRET",
    )
}  # fmt: skip
"""Settings admin-ui is being given (its engineer reads these names from dev.py's table)."""

SERVICE_KEYS = {
    "image", "build", "command", "entrypoint", "environment", "ports", "volumes",
    "depends_on", "healthcheck", "restart", "networks",
}  # fmt: skip
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?::-(?P<default>[^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


@pytest.fixture(scope="module")
def launcher() -> list[dict[str, Any]]:
    """What `make dev` runs (`dev.py --plan`)."""
    planned = subprocess.run(
        [sys.executable, str(DEV), "--plan"], capture_output=True, check=True, text=True
    )
    processes: list[dict[str, Any]] = json.loads(planned.stdout)["processes"]
    return processes


def _interpolated(value: str) -> str:
    """A value as compose would see it with no variables set (defaults applied)."""
    return INTERPOLATION.sub(lambda m: m["default"] or "", value)


class TestTheFileIsWellFormed:
    def test_only_known_top_level_and_service_keys(
        self, compose: dict[str, Any], services: dict[str, dict[str, Any]]
    ) -> None:
        assert {k for k in compose if not k.startswith("x-")} <= {
            "name",
            "services",
            "volumes",
            "networks",
        }
        for name, service in services.items():
            assert set(service) <= SERVICE_KEYS, name
            assert "image" in service, name

    def test_commands_are_argument_lists(self, services: dict[str, dict[str, Any]]) -> None:
        for name, service in services.items():
            command = service.get("command", [])
            assert isinstance(command, list), name
            assert all(isinstance(arg, str) for arg in command), name

    def test_dependencies_exist_and_their_conditions_can_be_met(
        self, services: dict[str, dict[str, Any]]
    ) -> None:
        for name, service in services.items():
            for target, rule in service.get("depends_on", {}).items():
                assert target in services, f"{name} depends on unknown {target}"
                assert rule["condition"] in CONDITIONS
                if rule["condition"] == "service_healthy":
                    assert "healthcheck" in services[target], f"{target} has no healthcheck"
                if rule["condition"] == "service_completed_successfully":
                    assert services[target].get("restart") == "no", f"{target} must run once"

    def test_the_dependency_graph_has_no_cycle(self, services: dict[str, dict[str, Any]]) -> None:
        done: set[str] = set()

        def visit(name: str, path: tuple[str, ...]) -> None:
            assert name not in path, f"cycle: {' → '.join((*path, name))}"
            if name in done:
                return
            for target in services[name].get("depends_on", {}):
                visit(target, (*path, name))
            done.add(name)

        for name in services:
            visit(name, ())

    def test_healthchecks_environment_ports_and_volumes_are_valid(
        self, compose: dict[str, Any], services: dict[str, dict[str, Any]]
    ) -> None:
        declared_volumes = set(compose.get("volumes") or {})
        for name, service in services.items():
            if check := service.get("healthcheck"):
                assert check["test"][0] in ("CMD", "CMD-SHELL"), name
                assert {"interval", "timeout", "retries"} <= set(check), name
            for key, value in service.get("environment", {}).items():
                assert re.fullmatch(r"[A-Z][A-Z0-9_]*", key), f"{name}: {key}"
                assert isinstance(value, str), f"{name}: {key} must be quoted"
            for port in service.get("ports", []):
                assert re.fullmatch(r"\d+:\d+", port), f"{name}: {port}"
            for volume in service.get("volumes", []):
                source = volume.split(":", 1)[0]
                if source.startswith("."):
                    assert (REPO / source).exists(), f"{name} mounts missing {source}"
                else:
                    assert source in declared_volumes, f"{name} uses undeclared {source}"

    def test_every_long_running_service_restarts_and_migrations_run_first(
        self, services: dict[str, dict[str, Any]]
    ) -> None:
        for name, service in services.items():
            command = service.get("command", [])
            if command[1:2] == ["serve"] or command[1:2] == ["worker"]:
                assert service["restart"] == "unless-stopped", name
                program = command[0].removeprefix("shoptrail-")
                if f"{program}-migrate" in services:
                    rule = service["depends_on"][f"{program}-migrate"]
                    assert rule["condition"] == "service_completed_successfully", name

    def test_a_compose_client_accepts_it(self) -> None:
        """`docker compose config` (plugin) or Debian's `docker-compose config`: no engine needed.

        .ci/run installs Debian's docker-compose, so this runs in CI.
        """
        plugin = (
            shutil.which("docker")
            and subprocess.run(
                ["docker", "compose", "version"], capture_output=True, check=False
            ).returncode
            == 0
        )
        if plugin:
            command = ["docker", "compose", "-f", str(COMPOSE), "config", "-q"]
        elif shutil.which("docker-compose"):
            command = ["docker-compose", "-f", str(COMPOSE), "config", "-q"]
        else:
            pytest.fail("no compose client: apt-get install docker-compose")
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr


class TestItRunsWhatTheLauncherRuns:
    def test_each_launcher_process_is_a_compose_service_with_the_same_command(
        self, services: dict[str, dict[str, Any]], launcher: list[dict[str, Any]]
    ) -> None:
        for process in launcher:
            if process["service"] is None:
                continue  # dev-only helpers (the mail sink): Mailpit stands in
            service = services[process["name"]]
            assert service["command"][:2] == process["argv"][:2], process["name"]

    def test_every_shoptrail_command_in_compose_is_one_the_launcher_runs(
        self, services: dict[str, dict[str, Any]], launcher: list[dict[str, Any]]
    ) -> None:
        launched = {tuple(p["argv"][:2]) for p in launcher}
        for name, service in services.items():
            command = service.get("command", [])
            if command and command[0].startswith("shoptrail-"):
                assert tuple(command[:2]) in launched, name

    def test_secrets_shared_with_the_launcher_have_the_same_dev_defaults(
        self, services: dict[str, dict[str, Any]], launcher: list[dict[str, Any]]
    ) -> None:
        """So the demo, which signs with dev.py's secrets, works against compose as well."""
        compose_env = {
            key: _interpolated(value)
            for service in services.values()
            for key, value in service.get("environment", {}).items()
        }
        for process in launcher:
            for key, value in process["env"].items():
                if "dev-only" in value:
                    assert compose_env.get(key) == value, key


class TestSettingsAreOnesTheServicesRead:
    @staticmethod
    def _known(key: str) -> bool:
        for prefix, settings in SETTINGS.items():
            if key.startswith(prefix):
                field = key.removeprefix(prefix).lower()
                return field in settings.model_fields or key in ADMIN_UI_AGREED
        return False

    def test_compose_sets_no_setting_a_service_ignores(
        self, services: dict[str, dict[str, Any]]
    ) -> None:
        for name, service in services.items():
            for key in service.get("environment", {}):
                if any(key.startswith(prefix) for prefix in SETTINGS):
                    assert self._known(key), f"{name}: {key} is read by no service"

    def test_the_launcher_sets_no_setting_a_service_ignores(
        self, launcher: list[dict[str, Any]]
    ) -> None:
        for process in launcher:
            for key in process["env"]:
                assert self._known(key), f"{process['name']}: {key} is read by no service"


class TestProductionIsTheDefault:
    """A deployment that forgets `*_ENVIRONMENT` starts as prod (weak secrets refused), not dev."""

    def test_the_image_says_prod_for_every_service(self) -> None:
        dockerfile = (REPO / "Dockerfile").read_text()
        for prefix in SETTINGS:
            assert re.search(rf"\b{prefix}ENVIRONMENT=prod\b", dockerfile), prefix

    def test_compose_means_prod_unless_told_dev(self, services: dict[str, dict[str, Any]]) -> None:
        seen = set()
        for service in services.values():
            for key, value in service.get("environment", {}).items():
                if key.endswith("_ENVIRONMENT"):
                    assert _interpolated(str(value)) == "prod", key
                    seen.add(key)
        assert seen == {f"{prefix}ENVIRONMENT" for prefix in SETTINGS}

    def test_the_launcher_chooses_dev_explicitly(self, launcher: list[dict[str, Any]]) -> None:
        for process in launcher:
            if any(key.startswith(tuple(SETTINGS)) for key in process["env"]):
                assert any(
                    key.endswith("_ENVIRONMENT") and value == "dev"
                    for key, value in process["env"].items()
                ), process["name"]


def test_compose_creates_the_topics_with_the_contracts_settings(
    services: dict[str, dict[str, Any]],
) -> None:
    """The AsyncAPI document's topic bindings come from `topics`; compose must agree."""
    command = "\n".join(services["kafka-topics"]["command"])
    assert dict(re.findall(r"--config ([\w.]+)=(\S+)", command)) == topics.TOPIC_CONFIG
    loop = re.search(r"for topic in ([^;]+);", command)
    assert loop is not None and loop[1].split() == list(topics.EVENT_TOPICS)
    assert f'--partitions "${{SHOPTRAIL_PARTITIONS:-{topics.PARTITIONS}}}"' in command
    assert f"--replication-factor {topics.REPLICATION_FACTOR}" in command


class TestTheGuardedBus:
    """Compose's Kafka users and ACLs are the code's (shoptrail.events.acl), not a second list."""

    def test_the_init_script_is_generated_from_the_plan(self) -> None:
        assert (REPO / COMPOSE_SCRIPT).read_text() == compose_script(), (
            "run: python -m shoptrail.events.acl compose --write"
        )

    def test_every_grant_of_the_plan_is_in_the_init_script(self) -> None:
        script = (REPO / COMPOSE_SCRIPT).read_text()
        for user, grants in bus_users().items():
            assert f'scram_user {user} "${{{password_variable(user)}:?}}"' in script
            for grant in grants:
                assert f"allow {user} {grant.kafka_acls_args()}\n" in script

    def test_the_init_step_runs_the_script_with_every_users_password(
        self, services: dict[str, dict[str, Any]]
    ) -> None:
        init = services["kafka-topics"]
        assert any(COMPOSE_SCRIPT in volume for volume in init["volumes"])
        assert "kafka-acls.sh" in init["command"][0]
        assert set(init["environment"]) == {
            password_variable(user) for user in (OPERATOR_USER, *bus_users())
        }

    def test_the_broker_refuses_what_no_acl_allows(
        self, services: dict[str, dict[str, Any]]
    ) -> None:
        env = services["kafka"]["environment"]
        assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
        assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
        assert env["KAFKA_SUPER_USERS"] == f"User:{OPERATOR_USER}"
        assert "PLAINTEXT:" not in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].replace("SASL_", "")

    def test_each_kafka_client_signs_in_as_its_own_service(
        self, services: dict[str, dict[str, Any]]
    ) -> None:
        users = bus_users()
        for name, service in services.items():
            command = service.get("command") or []
            program = command[0] if command else ""
            if not program.startswith("shoptrail-") or command[1] in {
                "migrate",
                "fake-provider",
                "fake-stripe",
            }:
                continue
            owner = program.removeprefix("shoptrail-")
            prefix = owner.upper().replace("-", "_") + "_KAFKA_"
            env = service.get("environment", {})
            if owner not in users:
                assert prefix + "USERNAME" not in env, f"{name} has a Kafka user but no grants"
                continue
            assert env[prefix + "USERNAME"] == owner, name
            password = INTERPOLATION.fullmatch(env[prefix + "PASSWORD"])
            assert password and password["name"] == password_variable(owner), name


class TestOnePublicOrigin:
    """The proxy is the only public door of what scales; its config routes as documented.

    Without a Docker engine nothing here resolves a name or opens a socket in a
    container: the file and the nginx config are read, and the config is parsed
    by the real nginx binary (`nginx -t`), which checks every directive and the
    include but looks no upstream name up (they are variables, resolved per request).
    """

    PROXY = "proxy"
    DEV_ONLY = frozenset({"mailpit", "fake-provider", "fake-stripe"})
    """Stand-ins that never run more than once, published for the developer to look at."""

    def test_no_service_that_scales_publishes_a_host_port(
        self, services: dict[str, dict[str, Any]]
    ) -> None:
        for name, service in services.items():
            if service.get("ports"):
                assert name in {self.PROXY, *self.DEV_ONLY}, (
                    f"{name} publishes {service['ports']}: `--scale {name}=3` would collide"
                )
        assert services[self.PROXY]["ports"] == ["8000:8000"]

    def test_the_proxy_mounts_the_routing_the_local_proxy_uses(
        self, services: dict[str, dict[str, Any]]
    ) -> None:
        proxy = services[self.PROXY]
        assert proxy["image"].startswith("nginx:")
        mounts = dict(v.removesuffix(":ro").split(":", 1) for v in proxy["volumes"])
        here = f"./{PROXY_DIR.relative_to(REPO)}"
        assert mounts == {
            f"{here}/compose.conf": "/etc/nginx/conf.d/default.conf",
            f"{here}/locations.conf": "/etc/nginx/shoptrail/locations.conf",
        }
        assert "include shoptrail/locations.conf;" in (PROXY_DIR / "compose.conf").read_text()

    def test_each_upstream_is_a_service_on_the_port_it_serves(
        self, services: dict[str, dict[str, Any]]
    ) -> None:
        conf = (PROXY_DIR / "compose.conf").read_text()
        assert re.search(r"^resolver 127\.0\.0\.11 valid=\d+s", conf, re.MULTILINE), (
            "names are looked up in Docker's DNS per request, so new replicas are seen"
        )
        upstreams = dict(re.findall(r"set \$(\w+)_upstream ([\w.-]+:\d+);", conf))
        assert set(upstreams) == {"activity", "admin_ui", "ingest", "notifier"}
        for variable, address in upstreams.items():
            host, port = address.split(":")
            assert host in services and "ports" not in services[host], address
            settings = SETTINGS[variable.upper() + "_"]
            assert settings.model_fields["port"].default == int(port), address
            assert f"proxy_pass http://${variable}_upstream;" in LOCATIONS.read_text()

    def test_the_websocket_is_upgraded_and_may_stay_quiet(self) -> None:
        block = _location(LOCATIONS.read_text(), "= /ws")
        assert "proxy_pass http://$activity_upstream;" in block
        assert "proxy_http_version 1.1;" in LOCATIONS.read_text()
        assert "proxy_set_header Upgrade $http_upgrade;" in block
        assert "proxy_set_header Connection $connection_upgrade;" in block
        read = re.search(r"proxy_read_timeout (\d+)([smh]);", block)
        assert read and int(read[1]) * {"s": 1, "m": 60, "h": 3600}[read[2]] >= 3600
        for conf in (PROXY_DIR / "compose.conf", LOCAL_PROXY):
            assert "map $http_upgrade $connection_upgrade" in conf.read_text(), conf

    def test_forwarded_headers_are_set_by_the_proxy_and_believed_from_it_alone(
        self, compose: dict[str, Any], services: dict[str, dict[str, Any]]
    ) -> None:
        # A location with its own proxy_set_header inherits none: /ws repeats them.
        for block in (
            LOCATIONS.read_text().split("location")[0],
            _location(LOCATIONS.read_text(), "= /ws"),
        ):
            assert "proxy_set_header X-Forwarded-For $remote_addr;" in block
            assert "proxy_set_header X-Forwarded-Proto $scheme;" in block
            assert "proxy_set_header Host $http_host;" in block
        address = services[self.PROXY]["networks"]["default"]["ipv4_address"]
        subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
        assert ipaddress.ip_address(address) in ipaddress.ip_network(subnet)
        for name, prefix in (("admin-ui", "ADMIN_UI_"), ("activity", "ACTIVITY_")):
            assert services[name]["environment"][f"{prefix}TRUSTED_PROXIES"] == address, name

    def test_the_browser_opens_the_socket_on_the_admins_origin(
        self, services: dict[str, dict[str, Any]]
    ) -> None:
        activity = services["activity"]["environment"]
        admin_ui = services["admin-ui"]["environment"]
        published = "http://localhost:" + services[self.PROXY]["ports"][0].split(":")[0]
        assert activity["ACTIVITY_WS_PUBLIC_URL"] == "/ws"
        assert _interpolated(activity["ACTIVITY_WS_ALLOWED_ORIGINS"]) == published
        assert admin_ui["ADMIN_UI_ACTIVITY_WS_ORIGIN"] == "self"
        assert AdminUiSettings(activity_ws_origin="self").ws_origin == ""

    @pytest.mark.parametrize("config", ["compose", "local"])
    def test_nginx_accepts_the_config(self, config: str, tmp_path: Path) -> None:
        """`nginx -t` on compose's config inside a stand-in for the image's `http {}`, and on
        the one `make dev` writes (two activity replicas), with a private prefix."""
        if config == "compose":
            (tmp_path / "shoptrail").mkdir()
            shutil.copy(LOCATIONS, tmp_path / "shoptrail" / "locations.conf")
            shutil.copy(PROXY_DIR / "compose.conf", tmp_path / "compose.conf")
            main = tmp_path / "nginx.conf"
            main.write_text(
                f"pid {tmp_path}/nginx.pid;\nevents {{}}\n"
                f"http {{\n    access_log off;\n    include compose.conf;\n}}\n"
            )
        else:
            sys.path.append(str(LOCAL_PROXY.parent))
            import proxy

            main = proxy.write_config(
                listen="127.0.0.1:8000",
                state=tmp_path,
                upstreams={
                    "activity": ["127.0.0.1:8002", "127.0.0.1:8041"],
                    "admin_ui": ["127.0.0.1:8010"],
                    "ingest": ["127.0.0.1:8001"],
                    "notifier": ["127.0.0.1:8004"],
                },
            )
        nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
        assert nginx, "apt-get install nginx (deploy/local/system-deps.sh)"
        checked = subprocess.run(
            [nginx, "-t", "-p", str(tmp_path), "-c", str(main), "-e", "stderr"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stderr
        assert "test is successful" in checked.stderr


def _location(conf: str, match: str) -> str:
    """The body of `location <match> { … }` (no nested blocks in ours)."""
    found = re.search(rf"location {re.escape(match)} \{{(.*?)\n\}}", conf, re.DOTALL)
    assert found, f"no location {match}"
    return found[1]
