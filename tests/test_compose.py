"""docker-compose.yml, checked without a Docker engine.

The development machines have the `docker` client but no engine (and no
compose plugin), so the file is parsed with PyYAML and held to the rules
compose enforces that matter here; `docker compose config -q` runs too where
the plugin exists. It is also held to the local launcher: the same processes
with the same commands, and settings every service actually reads.
"""

from __future__ import annotations

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
    "depends_on", "healthcheck", "restart",
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
        assert {k for k in compose if not k.startswith("x-")} <= {"name", "services", "volumes"}
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
