"""`python -m shoptrail.admin_ui …` is the `shoptrail-admin-ui` command."""

from shoptrail.admin_ui.entrypoints.cli import main

main()
