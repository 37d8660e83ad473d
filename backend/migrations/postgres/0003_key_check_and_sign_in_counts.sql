-- The secret key check (a MAC of a fixed label under the nodes' secret key, never the key): a node
-- started with another key is refused before it serves.
CREATE TABLE settings (name text PRIMARY KEY, value text NOT NULL);
-- Refused sign-ins that name no known user are counted in one row per source, outcome and minute
-- (its key), so a flood of them cannot push real sign-ins out of the log.
ALTER TABLE sign_ins ADD COLUMN agg_key text;
CREATE UNIQUE INDEX sign_ins_agg ON sign_ins (agg_key);
