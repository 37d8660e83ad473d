-- The minute's grant sweep deletes by expiry: with these indexes it reads what expired, not
-- every row of the token tables (a million live refresh tokens were scanned every minute).
CREATE INDEX flows_expiry ON flows (expires_at);
CREATE INDEX codes_expiry ON codes (expires_at);
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);
CREATE INDEX grants_expiry ON grants (expires_at);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
