"""`python -m shoptrail.fulfilment …` is the `shoptrail-fulfilment` command."""

from shoptrail.fulfilment.entrypoints.cli import main

main()
