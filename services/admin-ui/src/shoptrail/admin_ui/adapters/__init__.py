"""HTTP clients for the activity, fulfilment and notifier services."""
