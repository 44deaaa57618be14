"""Stand-ins for tests and local runs: in-memory adapters."""
