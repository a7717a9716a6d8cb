-- Reverts 0003_tombstones: deleted records still in the log could be written again afterwards.
DROP TABLE IF EXISTS "tombstones";
