"""Use cases: each takes its ports as keyword arguments, so tests can pass fakes."""
