"""Lambda handlers that the constructs deploy as assets."""
