"""Service plumbing every Shoptrail service shares (never business logic)."""
