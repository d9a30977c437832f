from services.extraction.worker import app, settings
from shared.language import warm_up
from shared.stage import run_stage

warm_up()
run_stage(app, settings)
