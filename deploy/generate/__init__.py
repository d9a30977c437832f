"""Every ops config drawn from the topology table (shared/contracts/topology.py), and the
docs drawn from the table and the settings model.

`python -m deploy.generate` writes them; `python -m deploy.generate --check` (and
tests/unit/deploy/test_generated.py) fails when a committed copy differs from what the table
gives. Each module renders one family: `prometheus` (the local and compose scrape configs and
the target rules), `kubernetes` (the Deployments, Services, scaling, monitors, topics and users),
`diagram` (the mermaid diagram in the README and the docs, the table on the architecture
page); beside them `configuration`, the configuration page, from the settings model.
"""
