"""python -m services.linking: news.analysed → news.enriched, duplicates and stories decided.

It decides in submission order, whatever order enrichment's workers finish in: see order.py.

Scaling: run it as many times as you like, but only one linker works at a time: its input has
one partition, so the consumer group gives it to one member and the others stand by. Each
linker follows the `news.links` table all along, and when the partition is given to it (at
start, or when the active one dies), it first catches up with the table's end: it then decides
from the very memory its predecessor had. Decisions are recorded in the table *before* the
article is sent on, so a replayed article gets its recorded answer back.
"""

from services.linking.order import OrderedRuntime
from services.linking.sink import make_sink
from shared.contracts.topology import Stage, spec
from shared.runtime.stage import run_stage

if __name__ == "__main__":
    run_stage(spec(Stage.LINKING), make_sink, runtime_class=OrderedRuntime)
