"""`python -m shoptrail.admin_ui …` is the `shoptrail-admin-ui` command."""

import sys

from shoptrail.admin_ui.entrypoints.cli import main

sys.exit(main())
