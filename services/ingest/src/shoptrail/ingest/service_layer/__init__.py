"""Use cases: verify, translate, publish. They take their ports as keyword arguments."""
