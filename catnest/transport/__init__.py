"""Wire transports: each authenticates, bounds, parses, calls the registry and encodes."""
