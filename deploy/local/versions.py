"""Pinned versions of everything the local stack fetches. Change them here and nowhere else."""

KAFKA_VERSION = "4.4.0"
LOG4J_VERSION = "2.24.3"
SLF4J_VERSION = "2.0.17"
# Elasticsearch's server-core `integ-test-zip` distribution from Maven Central. Checked one by
# one (HTTP HEAD on repo.maven.apache.org, 2026-12-01): 9.2.4 and 9.2.0 are published, 9.2.5,
# 9.3.0 and 9.1.8 are not; 8.19.21 is. 9.x needs Java 21 or newer, 8.19 runs on Java 17: the
# stack runs 9.2.4 when it finds a full JDK 21+, else 8.19.21 (deploy/local/stack.py).
ELASTICSEARCH_VERSION = "9.2.4"
ELASTICSEARCH_FALLBACK_VERSION = "8.19.21"
ELASTICSEARCH_ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch"
# The Java feature release each line needs.
ELASTICSEARCH_JAVA = {ELASTICSEARCH_VERSION: 21, ELASTICSEARCH_FALLBACK_VERSION: 17}
