"""Every command says what each of its arguments is for, and runs as `python -m`.

One entry point per service: `shoptrail-<service>` and `python -m
shoptrail.<service>` are the same command (the image and `make dev` use the
first; a checkout without installed scripts can use the second).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable

import pytest

from shoptrail.activity.entrypoints import cli as activity_cli
from shoptrail.admin_ui.entrypoints import cli as admin_ui_cli
from shoptrail.events import dlq
from shoptrail.fulfilment.entrypoints import cli as fulfilment_cli
from shoptrail.ingest.entrypoints import cli as ingest_cli
from shoptrail.kit import settings_docs
from shoptrail.notifier.entrypoints import cli as notifier_cli

PARSERS: dict[str, Callable[[], argparse.ArgumentParser]] = {
    "shoptrail-ingest": ingest_cli.build_parser,
    "shoptrail-activity": activity_cli.build_parser,
    "shoptrail-fulfilment": fulfilment_cli.build_parser,
    "shoptrail-notifier": notifier_cli.build_parser,
    "shoptrail-admin-ui": admin_ui_cli.build_parser,
    "shoptrail-dlq": dlq.build_parser,
    "settings_docs": settings_docs.build_parser,
}
MODULES = {
    "ingest": "shoptrail-ingest",
    "activity": "shoptrail-activity",
    "fulfilment": "shoptrail-fulfilment",
    "notifier": "shoptrail-notifier",
    "admin_ui": "shoptrail-admin-ui",
}


def undocumented(parser: argparse.ArgumentParser, path: str) -> list[str]:
    """Every argument and subcommand of `parser` (nested ones included) without help text."""
    found: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                if not (helps.get(name) or "").strip():
                    found.append(f"{path}: subcommand {name}")
                found += undocumented(sub, f"{path} {name}")
        elif not (action.help or "").strip() or action.help == argparse.SUPPRESS:
            found.append(f"{path}: {'/'.join(action.option_strings) or action.dest}")
    return found


@pytest.mark.parametrize("prog", sorted(PARSERS))
def test_every_argument_and_subcommand_has_help(prog: str) -> None:
    assert undocumented(PARSERS[prog](), prog) == []


def test_the_walk_finds_an_argument_without_help() -> None:
    parser = argparse.ArgumentParser(prog="tool")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("quiet").add_argument("--loud")
    sub.add_parser("bare")
    assert undocumented(parser, "tool") == [
        "tool: subcommand quiet",
        "tool quiet: --loud",
        "tool: subcommand bare",
    ]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_python_dash_m_is_the_same_command(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", f"shoptrail.{module}", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {MODULES[module]} ")


def test_the_dead_letter_tool_is_an_installed_command() -> None:
    tool = f"{sys.prefix}/bin/shoptrail-dlq"
    done = subprocess.run([tool, "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "republish" in done.stdout
