-- Retention is keyed on when Metronis received a trace, and what it deleted stays deleted: each
-- organization remembers the latest cutoff a retention pass applied (hand-written).
ALTER TABLE "organizations" ADD COLUMN IF NOT EXISTS "retention_watermark" timestamp with time zone;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "traces_org_received_idx" ON "traces" USING btree ("org_id","received_at");
