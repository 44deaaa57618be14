"""`python -m shoptrail.activity …` is the `shoptrail-activity` command."""

import sys

from shoptrail.activity.entrypoints.cli import main

sys.exit(main())
