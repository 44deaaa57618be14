"""`python -m shoptrail.ingest …` is the `shoptrail-ingest` command."""

import sys

from shoptrail.ingest.entrypoints.cli import main

sys.exit(main())
