"""`python -m shoptrail.ingest …` is the `shoptrail-ingest` command."""

from shoptrail.ingest.entrypoints.cli import main

main()
