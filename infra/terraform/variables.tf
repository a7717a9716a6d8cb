variable "bootstrap_servers" {
  description = "Kafka bootstrap servers (host:port), e.g. [\"127.0.0.1:19092\"] for the local stack."
  type        = list(string)
  default     = ["127.0.0.1:19092"]
}

variable "tls_enabled" {
  description = "Connect to the brokers over TLS (the local stack is plaintext)."
  type        = bool
  default     = false
}

variable "partitions" {
  description = "Partitions per topic; records are keyed by trace id, so a trace stays on one partition."
  type        = number
  default     = 6
}

variable "replication_factor" {
  description = "Replicas per partition: 1 for a single broker, 3 in production."
  type        = number
  default     = 1
}

variable "min_insync_replicas" {
  description = "min.insync.replicas per topic; producers use acks=all, so this is the durability floor."
  type        = number
  default     = 1
}

variable "retention_ms" {
  description = "Retention of the data topics in milliseconds (replay over history needs it long enough). Default 7 days."
  type        = number
  default     = 604800000
}

variable "dlq_retention_ms" {
  description = "Retention of the dead-letter topic in milliseconds. Default 30 days."
  type        = number
  default     = 2592000000
}
