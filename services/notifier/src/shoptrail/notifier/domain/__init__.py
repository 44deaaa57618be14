"""Pure rules of the notifier: no I/O, no framework."""
