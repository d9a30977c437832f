"""Deployment helpers: the local stack (deploy/local) and container files."""
