CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"key_hash" text NOT NULL,
	"prefix" text NOT NULL,
	"scopes" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_keys_key_hash_unique" UNIQUE("key_hash")
);
--> statement-breakpoint
CREATE TABLE "organizations" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "traces" (
	"org_id" text NOT NULL,
	"trace_id" text NOT NULL,
	"timestamp" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"application" text,
	"environment" text,
	"model_provider" text,
	"model_name" text,
	"user_id" text,
	"session_id" text,
	"nul_escaped" boolean DEFAULT false NOT NULL,
	"record" jsonb NOT NULL,
	CONSTRAINT "traces_pkey" PRIMARY KEY("org_id","trace_id")
);
--> statement-breakpoint
CREATE TABLE "verdicts" (
	"org_id" text NOT NULL,
	"trace_id" text NOT NULL,
	"tier" smallint NOT NULL,
	"passed" boolean NOT NULL,
	"severity" text NOT NULL,
	"score" double precision NOT NULL,
	"decided_at" timestamp with time zone NOT NULL,
	"nul_escaped" boolean DEFAULT false NOT NULL,
	"record" jsonb NOT NULL,
	CONSTRAINT "verdicts_pkey" PRIMARY KEY("org_id","trace_id")
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_keys_org_id_idx" ON "api_keys" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "traces_org_timestamp_idx" ON "traces" USING btree ("org_id","timestamp" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "traces_org_application_timestamp_idx" ON "traces" USING btree ("org_id","application","timestamp" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "traces_org_model_idx" ON "traces" USING btree ("org_id","model_provider","model_name");--> statement-breakpoint
CREATE INDEX "traces_org_user_idx" ON "traces" USING btree ("org_id","user_id");--> statement-breakpoint
CREATE INDEX "traces_org_session_idx" ON "traces" USING btree ("org_id","session_id");--> statement-breakpoint
CREATE INDEX "verdicts_org_decided_idx" ON "verdicts" USING btree ("org_id","decided_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "verdicts_org_failed_idx" ON "verdicts" USING btree ("org_id","passed","severity");