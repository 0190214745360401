"""Console pages: thin adapters that authorise, call a selector or service, and render."""
