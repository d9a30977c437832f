from services.extraction.worker import app, settings
from shared.stage import run_stage

run_stage(app, settings)
