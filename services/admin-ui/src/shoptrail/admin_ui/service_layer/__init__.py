"""What the admin does with the services behind it (use cases and the ports they need)."""
