from services.enrichment.enrich import nlp
from services.enrichment.worker import app, settings
from shared.stage import run_stage

nlp()  # load the model before joining the consumer group, not on the first message
run_stage(app, settings)
