"""What the admin shows, as plain data and pure functions (no I/O)."""
