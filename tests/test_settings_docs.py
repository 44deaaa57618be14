"""The runbook's settings tables are the settings: generated, complete, current.

deploy/README.md holds one table per service, rendered from each service's
`Settings` class by `make docs` (shoptrail.kit.settings_docs). These tests
fail when a setting has no description, when the tables are stale, and when
a document names one of our variables that no service reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shoptrail.kit import settings_docs
from shoptrail.kit.settings import PLACEHOLDER_MARK, SigningSecret

REPO = Path(__file__).resolve().parents[1]


class Sample(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAMPLE_")

    port: int = Field(default=9000, description="Where it listens.")
    token: SecretStr = Field(
        default=SecretStr(f"{PLACEHOLDER_MARK}-token"), description="Its bearer token."
    )
    key: SigningSecret = Field(
        default=SecretStr(f"{PLACEHOLDER_MARK}-key"), description="Signs its cookies."
    )
    password: SecretStr | None = Field(default=None, description="Its mail password.")


class TestTheShopsDocuments:
    def test_every_service_announces_its_settings(self) -> None:
        folders = {p.parent.name for p in REPO.glob("services/*/pyproject.toml")}
        assert set(settings_docs.services()) == folders

    def test_deploy_readme_and_readme_tell_the_truth(self) -> None:
        assert settings_docs.problems(REPO, settings_docs.services()) == []

    def test_the_eleven_live_socket_settings_are_documented(self) -> None:
        text = (REPO / "deploy/README.md").read_text()
        ws = [v for v in settings_docs.variables(settings_docs.services()) if "_WS_" in v]
        assert len(ws) >= 11
        assert all(f"| `{v}` |" in text for v in ws)

    def test_no_secret_shows_a_value(self) -> None:
        section = settings_docs.render(settings_docs.services())
        defaults = [row.split(" | ")[1] for row in section.splitlines() if row.startswith("| `")]
        assert defaults
        assert not [d for d in defaults if PLACEHOLDER_MARK in d or "whsec_" in d]
        assert "shoptrail:shoptrail@" not in section  # database URLs without their password


class TestTheCheck:
    @pytest.fixture
    def root(self, tmp_path: Path) -> Path:
        (tmp_path / "deploy").mkdir()
        section = settings_docs.render({"sample": Sample})
        (tmp_path / "deploy/README.md").write_text(f"# Ops\n\n{section}\n\nSet SAMPLE_PORT.\n")
        (tmp_path / "README.md").write_text("# Shop\n")
        return tmp_path

    def test_a_current_document_passes(self, root: Path) -> None:
        assert settings_docs.problems(root, {"sample": Sample}) == []

    def test_secrets_are_marked_and_values_shown(self) -> None:
        section = settings_docs.render({"sample": Sample})
        assert "| `SAMPLE_PORT` | `9000` | Where it listens. |" in section
        assert "| `SAMPLE_TOKEN` | required in prod (secret) | Its bearer token. |" in section
        assert (
            "| `SAMPLE_KEY` | required in prod (signing secret) | Signs its cookies. |" in section
        )
        assert "| `SAMPLE_PASSWORD` | unset (secret) | Its mail password. |" in section
        assert PLACEHOLDER_MARK not in section

    def test_a_new_setting_makes_the_tables_stale(self, root: Path) -> None:
        class Grown(Sample):
            workers: int = Field(default=2, description="How many.")

        assert settings_docs.problems(root, {"sample": Grown}) == [
            "deploy/README.md: the settings tables are stale (run `make docs`)"
        ]

    def test_a_setting_without_a_description_is_refused(self, root: Path) -> None:
        class Terse(Sample):
            workers: int = 2

        assert "SAMPLE_WORKERS has no description (Field(description=…))" in (
            settings_docs.problems(root, {"sample": Terse})
        )

    def test_a_variable_no_service_reads_is_named(self, root: Path) -> None:
        (root / "README.md").write_text("Log in with SAMPLE_ADMIN_PASSWORD; `*_PORT` is fine.\n")
        assert settings_docs.problems(root, {"sample": Sample}) == [
            "README.md mentions SAMPLE_ADMIN_PASSWORD, which no service reads"
        ]

    def test_write_regenerates_the_section(self, root: Path) -> None:
        class Grown(Sample):
            workers: int = Field(default=2, description="How many.")

        readme = root / "deploy/README.md"
        settings_docs.write(root, {"sample": Grown})
        assert "| `SAMPLE_WORKERS` | `2` | How many. |" in readme.read_text()
        assert readme.read_text().endswith("Set SAMPLE_PORT.\n")
        assert settings_docs.problems(root, {"sample": Grown}) == []

    def test_what_compose_reads_from_env_is_listed_and_may_be_mentioned(self, root: Path) -> None:
        (root / "docker-compose.yml").write_text(
            "services:\n  sample:\n    image: sample:${SAMPLE_VERSION:-dev}\n"
            "    environment:\n      SAMPLE_TOKEN: ${SAMPLE_SECRET:-dev-only-token}\n"
        )
        readme = root / "deploy/README.md"
        readme.write_text(
            readme.read_text()
            + f"\n{settings_docs.COMPOSE_BEGIN}\n{settings_docs.COMPOSE_END}\n"
            + "Put SAMPLE_SECRET in `.env`.\n"
        )
        assert settings_docs.problems(root, {"sample": Sample}) == [
            "deploy/README.md: the settings tables are stale (run `make docs`)"
        ]

        settings_docs.write(root, {"sample": Sample})

        assert "| `SAMPLE_SECRET` | `SAMPLE_TOKEN` |" in readme.read_text()
        assert "| `SAMPLE_VERSION` | `image:` |" in readme.read_text()
        assert settings_docs.problems(root, {"sample": Sample}) == []
