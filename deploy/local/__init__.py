"""The local stack: Kafka and Elasticsearch from Maven Central, plus newsflow's services."""
