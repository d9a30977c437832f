"""Pinned versions of everything the local stack fetches. Change them here and nowhere else."""

KAFKA_VERSION = "4.4.0"
LOG4J_VERSION = "2.24.3"
SLF4J_VERSION = "2.0.17"
# Maven Central carries the server-core `integ-test-zip` distribution up to 8.19.x; the 9.x
# line is not published there. Our index and queries also run on 9.x (see README).
ELASTICSEARCH_VERSION = "8.19.21"
ELASTICSEARCH_ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch"
