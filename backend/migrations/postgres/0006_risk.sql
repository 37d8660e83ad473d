-- Risk: each user's sign-in profile, and the detections about users (newest first by time).
CREATE TABLE risk_profiles (
    user_id text PRIMARY KEY,
    doc     jsonb NOT NULL
);
CREATE TABLE detections (
    seq     bigserial PRIMARY KEY,
    at      timestamptz NOT NULL,
    user_id text NOT NULL,
    doc     jsonb NOT NULL
);
CREATE INDEX detections_at ON detections (at, seq);
CREATE INDEX detections_user ON detections (user_id);
