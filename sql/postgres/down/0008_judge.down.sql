-- Reverts 0008_judge: every judge provider (and its sealed key), the day's spend, the cache and the pending judgments are lost.
DROP TABLE IF EXISTS "judge_pending";
DROP TABLE IF EXISTS "judge_cache";
DROP TABLE IF EXISTS "judge_usage";
DROP TABLE IF EXISTS "judge_providers";
