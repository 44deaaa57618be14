"""`python -m shoptrail.events`: list the taxonomy, or (re)generate the schema documents."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shoptrail.events import schema
from shoptrail.events.catalog import SHOP_TAXONOMY
from shoptrail.events.registry import REGISTRY

DEFAULT_OUT = Path(__file__).resolve().parents[3]  # libs/events


def _list() -> int:
    rank = {type_: i for i, type_ in enumerate(SHOP_TAXONOMY)}
    ordered = sorted(REGISTRY, key=lambda c: (rank.get(c.TYPE, len(rank)), c.TYPE))
    for cls in ordered:
        print(f"{cls.TYPE:32} {cls.LEVEL.value:8} {cls.CATEGORY.value:11} {cls.example().render()}")
    return 0


def _schemas(out: Path, check: bool) -> int:
    if check:
        stale = schema.stale_files(out)
        if stale:
            print("Generated schema documents are out of date:", *stale, sep="\n  ")
            print("Run: uv run python -m shoptrail.events schemas")
            return 1
        print(f"Schema documents in {out} are current.")
        return 0
    for path in schema.write_all(out):
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m shoptrail.events", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every event type with its level, category and example message")
    gen = sub.add_parser("schemas", help="write JSON Schema + AsyncAPI documents from the models")
    gen.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder (default: libs/events)")
    gen.add_argument("--check", action="store_true", help="fail if the documents are stale")
    args = parser.parse_args(argv)
    if args.command == "list":
        return _list()
    return _schemas(args.out, args.check)


if __name__ == "__main__":
    sys.exit(main())
