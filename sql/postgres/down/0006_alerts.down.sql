-- Reverts 0006_alerts: every alert rule, channel, silence, routing document, alert and delivery is lost.
DROP TABLE IF EXISTS "alert_delivery_attempts";
DROP TABLE IF EXISTS "alert_deliveries";
DROP TABLE IF EXISTS "alert_notification_log";
DROP TABLE IF EXISTS "alert_group_members";
DROP TABLE IF EXISTS "alert_groups";
DROP TABLE IF EXISTS "alerts";
DROP TABLE IF EXISTS "alert_events";
DROP TABLE IF EXISTS "alert_series";
DROP TABLE IF EXISTS "alert_observations";
DROP TABLE IF EXISTS "alert_routing";
DROP TABLE IF EXISTS "alert_silences";
DROP TABLE IF EXISTS "alert_channels";
DROP TABLE IF EXISTS "alert_rules";
