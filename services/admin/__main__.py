from services.admin.cli import app

app()
