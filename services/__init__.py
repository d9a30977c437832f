"""newsflow's services, one folder each; each runs on its own with `python -m services.<name>`."""
