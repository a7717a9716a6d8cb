CREATE TABLE "tombstones" (
	"org_id" text NOT NULL,
	"kind" text NOT NULL,
	"subject" text NOT NULL,
	"deleted_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tombstones_pkey" PRIMARY KEY("org_id","kind","subject")
);
