"""deploy/prometheus/alerts.yml: valid for promtool, and about metrics that really exist.

Every metric name a rule reads must be in the `/metrics` exposition of some
Shoptrail process, scraped here from the real apps and worker doors built in
this process (no lifespan: the names are registered when an app is built).
promtool comes from Debian's `prometheus` package (deploy/local/system-deps.sh);
the test is skipped without it only outside CI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from shoptrail.activity.bootstrap import create_app as activity_app
from shoptrail.activity.config import Settings as ActivitySettings
from shoptrail.admin_ui.bootstrap import create_app as admin_ui_app
from shoptrail.admin_ui.config import Settings as AdminUiSettings
from shoptrail.fulfilment.adapters.providers.metrics import ProviderMetrics
from shoptrail.fulfilment.bootstrap import create_app as fulfilment_app
from shoptrail.fulfilment.bootstrap import open_services
from shoptrail.fulfilment.bootstrap import worker_health_door as fulfilment_worker_door
from shoptrail.fulfilment.config import Settings as FulfilmentSettings
from shoptrail.ingest.bootstrap import create_app as ingest_app
from shoptrail.ingest.config import Settings as IngestSettings
from shoptrail.notifier.bootstrap import build_notifier
from shoptrail.notifier.bootstrap import create_app as notifier_app
from shoptrail.notifier.bootstrap import worker_health_door as notifier_worker_door
from shoptrail.notifier.config import Settings as NotifierSettings

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "deploy" / "prometheus" / "alerts.yml"
RULE_TESTS = REPO / "deploy" / "prometheus" / "alerts.test.yml"
README = REPO / "deploy" / "README.md"

PROMETHEUS_OWN = {"up"}
"""Series Prometheus makes itself for every target."""

SUFFIXES = ("", "_total", "_count", "_sum", "_bucket", "_created")
"""How a family's samples are named (`shoptrail_emails` → `shoptrail_emails_total`)."""


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing in CI: deploy/local/system-deps.sh installs it")
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    return found


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def processes(tmp_path: Path) -> dict[str, FastAPI]:
    """Every Shoptrail process's HTTP door, as its bootstrap builds it."""
    fulfilment = FulfilmentSettings(environment="test")
    registry = CollectorRegistry(auto_describe=True)
    fulfilment_worker, _ = fulfilment_worker_door(
        fulfilment, open_services(fulfilment, metrics=ProviderMetrics(registry)), registry
    )
    notifier = NotifierSettings(environment="test", state_dir=tmp_path)
    notifier_worker, _ = notifier_worker_door(build_notifier(notifier))
    return {
        "ingest": ingest_app(IngestSettings(environment="test")),
        "activity": activity_app(ActivitySettings(environment="test")),
        "fulfilment": fulfilment_app(fulfilment),
        "notifier": notifier_app(notifier),
        "admin-ui": admin_ui_app(AdminUiSettings(environment="test")),
        "fulfilment-worker": fulfilment_worker,
        "notifier-worker": notifier_worker,
    }


def exported_names(app: FastAPI) -> set[str]:
    client = TestClient(app)
    assert client.get("/healthz").status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200
    names: set[str] = set()
    for family in text_string_to_metric_families(response.text):
        names.update(family.name + suffix for suffix in SUFFIXES)
        names.update(sample.name for sample in family.samples)
    return names


class TestRules:
    def test_promtool_accepts_the_rules(self) -> None:
        result = subprocess.run(
            [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def test_the_rules_fire_as_their_unit_tests_say(self) -> None:
        result = subprocess.run(
            [promtool(), "test", "rules", RULE_TESTS.name],
            capture_output=True,
            text=True,
            cwd=RULE_TESTS.parent,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def test_every_rule_has_a_summary_a_description_and_a_runbook_section(self) -> None:
        anchors = {
            re.sub(r"[^a-z0-9 -]", "", line[4:].strip().lower()).replace(" ", "-")
            for line in README.read_text().splitlines()
            if line.startswith("### ")
        }
        for rule in rules():
            annotations = rule["annotations"]
            assert annotations["summary"] and annotations["description"], rule["alert"]
            path, _, anchor = annotations["runbook"].partition("#")
            assert path == "deploy/README.md", rule["alert"]
            assert anchor in anchors, f"{rule['alert']}: no section #{anchor} in {README.name}"


def test_every_metric_a_rule_reads_is_exported_by_some_process(tmp_path: Path) -> None:
    exported = set().union(*(exported_names(app) for app in processes(tmp_path).values()))
    for rule in rules():
        expression = re.sub(r'"[^"]*"', '""', rule["expr"])  # label values are not names
        read = set(re.findall(r"\b((?:shoptrail|ingest|activity)_[a-z0-9_]+|up)\b", expression))
        missing = read - exported - PROMETHEUS_OWN
        assert not missing, f"{rule['alert']} reads {missing}, which no process exports"


def test_every_process_answers_health_readiness_and_metrics(tmp_path: Path) -> None:
    for name, app in processes(tmp_path).items():
        client = TestClient(app)
        assert client.get("/healthz").status_code == 200, name
        assert client.get("/readyz").status_code in (200, 503), name  # nothing runs: 503
        metrics = client.get("/metrics")
        assert metrics.status_code == 200, name
        assert "shoptrail_http_requests_total" in metrics.text, name
