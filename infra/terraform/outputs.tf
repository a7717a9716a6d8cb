output "topics" {
  description = "Names of the topics this configuration manages."
  value       = concat(sort([for t in kafka_topic.data : t.name]), [kafka_topic.dlq.name])
}
