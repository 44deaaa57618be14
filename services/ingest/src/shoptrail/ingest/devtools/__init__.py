"""Tools for development, demos and tests (never used by the running service)."""
