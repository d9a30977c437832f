"""Feed poller: follows RSS/Atom feeds and publishes each new item's page to the raw topic."""
