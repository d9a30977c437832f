"""Every ops config drawn from the topology table (shared/contracts/topology.py).

`python -m deploy.generate` writes them; `python -m deploy.generate --check` (and
tests/unit/deploy/test_generated.py) fails when a committed copy differs from what the table
gives. Each module renders one family: `prometheus` (the local and compose scrape configs and
the target rules), `kubernetes` (the Deployments, Services, scaling, monitors, topics and users),
`diagram` (the README's mermaid diagram).
"""
