"""`python -m shoptrail.notifier …` is the `shoptrail-notifier` command."""

import sys

from shoptrail.notifier.entrypoints.cli import main

sys.exit(main())
