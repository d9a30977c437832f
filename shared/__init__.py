"""Code shared by every newsflow service: settings, stage contracts, topics, clients."""
