# The Metronis topics (see schemas/ and streams/src/topics.ts): versioned names, keyed by trace id.
provider "kafka" {
  bootstrap_servers = var.bootstrap_servers
  tls_enabled       = var.tls_enabled
}

locals {
  data_topics = toset([
    "metronis.traces.v1",
    "metronis.evaluations.v1",
    "metronis.escalations.tier2.v1",
    "metronis.escalations.tier3.v1",
    "metronis.verdicts.v1",
  ])
}

resource "kafka_topic" "data" {
  for_each = local.data_topics

  name               = each.value
  partitions         = var.partitions
  replication_factor = var.replication_factor

  config = {
    "cleanup.policy"      = "delete"
    "retention.ms"        = tostring(var.retention_ms)
    "min.insync.replicas" = tostring(var.min_insync_replicas)
  }
}

# Records that could not be processed, with headers saying which stage failed and why.
resource "kafka_topic" "dlq" {
  name               = "metronis.dlq.v1"
  partitions         = var.partitions
  replication_factor = var.replication_factor

  config = {
    "cleanup.policy"      = "delete"
    "retention.ms"        = tostring(var.dlq_retention_ms)
    "min.insync.replicas" = tostring(var.min_insync_replicas)
  }
}
