"""Pure fulfilment logic: order statuses and which transitions are real changes."""
