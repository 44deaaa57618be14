"""`python -m shoptrail.notifier …` is the `shoptrail-notifier` command."""

from shoptrail.notifier.entrypoints.cli import main

main()
