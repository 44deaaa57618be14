"""Pure translation of outside payloads into Shoptrail facts: no I/O here."""
