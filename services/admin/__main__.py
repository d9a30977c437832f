"""python -m services.admin: the `newsflow` command."""

from services.admin.cli import app

if __name__ == "__main__":
    app()
