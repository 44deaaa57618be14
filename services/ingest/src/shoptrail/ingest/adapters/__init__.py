"""Adapters to the outside world: Kafka and the Stripe API."""
