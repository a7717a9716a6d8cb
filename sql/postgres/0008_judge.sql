-- Tier 3, the LLM judge (topologies/tier3): each organization's judge provider (its API key sealed
-- with METRONIS_SECRETS_KEY), its spend per UTC day (the budget the judge reserves from before every
-- call), the judgments cached by content hash, and the traces whose judgment is pending after
-- transient provider failures (swept and retried by the tier 3 workers). Changes of the provider are
-- audited in audit_log.
CREATE TABLE IF NOT EXISTS "judge_providers" (
	"org_id" text PRIMARY KEY NOT NULL,
	"settings" jsonb NOT NULL,
	"secret" text NOT NULL,
	"version" integer NOT NULL DEFAULT 1,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "judge_usage" (
	"org_id" text NOT NULL,
	"day" date NOT NULL,
	"tokens" bigint NOT NULL DEFAULT 0,
	"cost_usd" double precision NOT NULL DEFAULT 0,
	"calls" integer NOT NULL DEFAULT 0,
	CONSTRAINT "judge_usage_pkey" PRIMARY KEY("org_id","day")
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "judge_cache" (
	"org_id" text NOT NULL,
	"key" text NOT NULL,
	"judgment" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "judge_cache_pkey" PRIMARY KEY("org_id","key")
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "judge_cache_created_idx" ON "judge_cache" USING btree ("created_at");
--> statement-breakpoint
-- escalation: the Escalation record as JSON (the trace and the earlier tiers' results), so a retry
-- needs nothing else. lease_until: a worker that claimed the row owns it until then.
CREATE TABLE IF NOT EXISTS "judge_pending" (
	"org_id" text NOT NULL,
	"trace_id" text NOT NULL,
	"escalation" jsonb NOT NULL,
	"attempts" integer NOT NULL DEFAULT 0,
	"last_error" text NOT NULL,
	"next_attempt_at" timestamp with time zone NOT NULL,
	"lease_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "judge_pending_pkey" PRIMARY KEY("org_id","trace_id")
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "judge_pending_due_idx" ON "judge_pending" USING btree ("next_attempt_at");
