CREATE TABLE "evaluations" (
	"org_id" text NOT NULL,
	"evaluation_id" text NOT NULL,
	"trace_id" text NOT NULL,
	"tier" smallint NOT NULL,
	"passed" boolean NOT NULL,
	"severity" text NOT NULL,
	"score" double precision NOT NULL,
	"evaluated_at" timestamp with time zone NOT NULL,
	"nul_escaped" boolean DEFAULT false NOT NULL,
	"record" jsonb NOT NULL,
	CONSTRAINT "evaluations_pkey" PRIMARY KEY("org_id","evaluation_id")
);
--> statement-breakpoint
CREATE TABLE "policies" (
	"org_id" text PRIMARY KEY NOT NULL,
	"document" jsonb NOT NULL,
	"version" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"nul_escaped" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE INDEX "evaluations_org_trace_idx" ON "evaluations" USING btree ("org_id","trace_id");