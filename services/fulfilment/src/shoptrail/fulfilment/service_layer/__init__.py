"""Use cases: each takes its ports (unit of work, providers) as keyword arguments."""
