-- Sign-ins in progress (login flows) apart from sessions: a session row exists only once a
-- sign-in completes. Ended with the user's sessions; swept once expired.
CREATE TABLE login_flows (
    key        bytea PRIMARY KEY,
    user_id    text NOT NULL,
    expires_at timestamptz NOT NULL,
    doc        jsonb NOT NULL
);
CREATE INDEX login_flows_user ON login_flows (user_id);
-- Sessions older versions kept part-way through signing in are not sessions: they go.
DELETE FROM sessions WHERE doc ? 'stage' AND doc->>'stage' <> 'full';
