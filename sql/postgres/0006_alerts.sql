-- Alerts (topologies/alerts): configuration (rules, channels, silences, routing), durable state of
-- aggregate windows and of the notifier (alert instances, aggregation groups, the notification log),
-- and history (deliveries and each attempt). Configuration changes are audited in audit_log.
CREATE TABLE IF NOT EXISTS "alert_rules" (
	"org_id" text NOT NULL,
	"id" text NOT NULL,
	"document" jsonb NOT NULL,
	"version" integer NOT NULL DEFAULT 1,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "alert_rules_pkey" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
-- settings: the channel's non-secret settings; secret: its secrets sealed with METRONIS_SECRETS_KEY.
CREATE TABLE IF NOT EXISTS "alert_channels" (
	"org_id" text NOT NULL,
	"id" text NOT NULL,
	"name" text NOT NULL,
	"type" text NOT NULL,
	"settings" jsonb NOT NULL,
	"secret" text NOT NULL,
	"secret_fields" text[] NOT NULL DEFAULT '{}'::text[],
	"version" integer NOT NULL DEFAULT 1,
	"disabled_at" timestamp with time zone,
	"disabled_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "alert_channels_pkey" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "alert_silences" (
	"org_id" text NOT NULL,
	"id" text NOT NULL,
	"matchers" jsonb NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"comment" text NOT NULL DEFAULT '',
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "alert_silences_pkey" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "alert_silences_org_ends_idx" ON "alert_silences" ("org_id","ends_at");
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "alert_routing" (
	"org_id" text PRIMARY KEY NOT NULL,
	"document" jsonb NOT NULL,
	"version" integer NOT NULL DEFAULT 1,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- One row per observation of an aggregate rule (a verdict or tier result in its window), keyed by the
-- record so that a redelivered record counts once. measure: a hash of what the rule measures, so a
-- rule edited to measure something else starts a fresh window.
CREATE TABLE IF NOT EXISTS "alert_observations" (
	"org_id" text NOT NULL,
	"rule_id" text NOT NULL,
	"measure" text NOT NULL,
	"series" text NOT NULL,
	"record_id" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"failing" boolean NOT NULL,
	"score" double precision,
	CONSTRAINT "alert_observations_pkey" PRIMARY KEY("org_id","rule_id","measure","series","record_id")
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "alert_observations_window_idx" ON "alert_observations" ("org_id","rule_id","measure","series","at");
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "alert_observations_at_idx" ON "alert_observations" ("at");
--> statement-breakpoint
-- The state of each aggregate series (firing or ok), so that recovery is seen after a restart.
CREATE TABLE IF NOT EXISTS "alert_series" (
	"org_id" text NOT NULL,
	"rule_id" text NOT NULL,
	"series" text NOT NULL,
	"labels" jsonb NOT NULL,
	"state" text NOT NULL,
	"since" timestamp with time zone NOT NULL,
	"asserted_at" timestamp with time zone NOT NULL,
	CONSTRAINT "alert_series_pkey" PRIMARY KEY("org_id","rule_id","series")
);
--> statement-breakpoint
-- Alert events applied by the notifier (deduplication of redelivered records); pruned after a day.
CREATE TABLE IF NOT EXISTS "alert_events" (
	"org_id" text NOT NULL,
	"alert_id" text NOT NULL,
	"applied_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "alert_events_pkey" PRIMARY KEY("org_id","alert_id")
);
--> statement-breakpoint
-- Alert instances: one per fingerprint from first firing to resolution (the history GET /v1/alerts lists).
CREATE TABLE IF NOT EXISTS "alerts" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"fingerprint" text NOT NULL,
	"rule_id" text NOT NULL,
	"kind" text NOT NULL,
	"severity" text NOT NULL,
	"labels" jsonb NOT NULL,
	"annotations" jsonb NOT NULL,
	"status" text NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"resolved_at" timestamp with time zone,
	"occurrences" integer NOT NULL DEFAULT 1,
	"trace_ids" text[] NOT NULL DEFAULT '{}'::text[],
	"value" double precision,
	"threshold" double precision,
	"volume" bigint,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "alerts_open_fingerprint_idx" ON "alerts" ("org_id","fingerprint") WHERE "status" = 'firing';
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "alerts_org_starts_idx" ON "alerts" ("org_id","starts_at" DESC, "id");
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "alerts_firing_ends_idx" ON "alerts" ("ends_at") WHERE "status" = 'firing';
--> statement-breakpoint
-- Aggregation groups (Alertmanager's): one per route and group-by values; flushed at next_flush_at.
CREATE TABLE IF NOT EXISTS "alert_groups" (
	"org_id" text NOT NULL,
	"group_key" text NOT NULL,
	"route_id" text NOT NULL,
	"group_labels" jsonb NOT NULL,
	"channel_ids" text[] NOT NULL,
	"timing" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"next_flush_at" timestamp with time zone NOT NULL,
	"flushed_at" timestamp with time zone,
	CONSTRAINT "alert_groups_pkey" PRIMARY KEY("org_id","group_key")
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "alert_groups_due_idx" ON "alert_groups" ("next_flush_at");
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "alert_group_members" (
	"org_id" text NOT NULL,
	"group_key" text NOT NULL,
	"alert_id" text NOT NULL,
	CONSTRAINT "alert_group_members_pkey" PRIMARY KEY("org_id","group_key","alert_id")
);
--> statement-breakpoint
-- The notification log (Alertmanager's nflog): what each channel of a group was last told.
CREATE TABLE IF NOT EXISTS "alert_notification_log" (
	"org_id" text NOT NULL,
	"group_key" text NOT NULL,
	"channel_id" text NOT NULL,
	"firing" text[] NOT NULL,
	"resolved" text[] NOT NULL,
	"sequence" integer NOT NULL,
	"notified_at" timestamp with time zone NOT NULL,
	CONSTRAINT "alert_notification_log_pkey" PRIMARY KEY("org_id","group_key","channel_id")
);
--> statement-breakpoint
-- Deliveries: one notification to one channel, queued in the same transaction as the decision to
-- send it, then attempted (and retried) until delivered, refused or abandoned. notification_id is the
-- far end's idempotency key (webhook-id, Message-ID); dedup_key is PagerDuty's.
CREATE TABLE IF NOT EXISTS "alert_deliveries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"notification_id" text NOT NULL,
	"group_key" text,
	"channel_id" text NOT NULL,
	"channel_type" text NOT NULL,
	"kind" text NOT NULL,
	"dedup_key" text NOT NULL,
	"payload" jsonb NOT NULL,
	"status" text NOT NULL,
	"attempts" integer NOT NULL DEFAULT 0,
	"next_attempt_at" timestamp with time zone NOT NULL,
	"lease_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone,
	"last_error" text,
	CONSTRAINT "alert_deliveries_notification_unique" UNIQUE("org_id","notification_id")
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "alert_deliveries_due_idx" ON "alert_deliveries" ("next_attempt_at") WHERE "status" IN ('pending','retrying','sending');
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "alert_deliveries_org_created_idx" ON "alert_deliveries" ("org_id","created_at" DESC, "id" DESC);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "alert_delivery_attempts" (
	"delivery_id" bigint NOT NULL,
	"attempt" integer NOT NULL,
	"org_id" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"outcome" text NOT NULL,
	"status_code" integer,
	"response" text,
	"error" text,
	"latency_ms" double precision NOT NULL,
	CONSTRAINT "alert_delivery_attempts_pkey" PRIMARY KEY("delivery_id","attempt")
);
