-- Proofup on PostgreSQL, schema 1. Each record is the JSON document the embedded store keeps
-- (the same serde shapes), with the columns the port filters, orders, joins or updates on beside
-- it. One table per aggregate, named as in the port (store/mod.rs).

-- Directory
CREATE TABLE users (
    id               text PRIMARY KEY,
    username         text NOT NULL UNIQUE,
    role             text NOT NULL,
    enabled          boolean NOT NULL,
    emergency_access boolean NOT NULL,
    doc              jsonb NOT NULL
);
CREATE TABLE groups (
    id    text PRIMARY KEY,
    name  text NOT NULL UNIQUE,
    doc   jsonb NOT NULL
);
-- Direct memberships; kind is 'user' or 'group'. A change bumps directory_changes (below).
CREATE TABLE memberships (
    group_id  text NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    kind      text NOT NULL,
    member    text NOT NULL,
    PRIMARY KEY (group_id, kind, member)
);
CREATE INDEX memberships_member ON memberships (kind, member);
-- Every membership change, in order: nodes poll it to keep their membership index in step.
CREATE TABLE directory_changes (
    seq  bigserial PRIMARY KEY,
    at   timestamptz NOT NULL DEFAULT now()
);

-- Sign-in
CREATE TABLE passes (user_id text PRIMARY KEY, doc jsonb NOT NULL);
CREATE TABLE setup (id integer PRIMARY KEY CHECK (id = 1), token jsonb, done boolean NOT NULL DEFAULT false);
CREATE TABLE sessions (
    key          bytea PRIMARY KEY,
    user_id      text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    doc          jsonb NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE TABLE throttles (key text PRIMARY KEY, doc jsonb NOT NULL);
-- Ceremonies begun on one node and finished on another (TOTP set-up, passkeys).
CREATE TABLE ceremonies (
    key         text PRIMARY KEY,
    expires_at  timestamptz NOT NULL,
    doc         jsonb NOT NULL
);

-- Second factors
CREATE TABLE methods (
    user_id        text NOT NULL,
    id             text NOT NULL,
    kind           text NOT NULL,
    credential_id  text UNIQUE,
    last_step      bigint,
    doc            jsonb NOT NULL,
    PRIMARY KEY (user_id, id)
);
CREATE TABLE recovery_codes (user_id text PRIMARY KEY, doc jsonb NOT NULL);

-- Policy
CREATE TABLE policy_versions (version bigint PRIMARY KEY, doc jsonb NOT NULL);
CREATE TABLE registration_state (user_id text PRIMARY KEY, doc jsonb NOT NULL);

-- Logs (newest first by seq)
CREATE TABLE audit (
    seq       bigserial PRIMARY KEY,
    at        timestamptz NOT NULL,
    actor     text NOT NULL,
    action    text NOT NULL,
    target    text NOT NULL,
    doc       jsonb NOT NULL
);
CREATE INDEX audit_at ON audit (at);
CREATE TABLE sign_ins (
    seq          bigserial PRIMARY KEY,
    at           timestamptz NOT NULL,
    username     text NOT NULL,
    result       text NOT NULL,
    application  text,
    doc          jsonb NOT NULL
);
CREATE INDEX sign_ins_at ON sign_ins (at);
CREATE INDEX sign_ins_username ON sign_ins (username, seq);

-- Alerts and the webhook
CREATE TABLE alerts (seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE, acknowledged boolean NOT NULL, doc jsonb NOT NULL);
CREATE TABLE webhook (name text PRIMARY KEY, doc jsonb NOT NULL);
CREATE TABLE outbox (id text PRIMARY KEY, next_at timestamptz NOT NULL, given_up boolean NOT NULL, doc jsonb NOT NULL);
CREATE INDEX outbox_due ON outbox (next_at) WHERE NOT given_up;

-- The OpenID provider
CREATE TABLE applications (id text PRIMARY KEY, doc jsonb NOT NULL);
CREATE TABLE signing_keys (id integer PRIMARY KEY CHECK (id = 1), doc jsonb NOT NULL);
CREATE TABLE flows (id text PRIMARY KEY, expires_at timestamptz NOT NULL, doc jsonb NOT NULL);
CREATE TABLE codes (key bytea PRIMARY KEY, expires_at timestamptz NOT NULL, doc jsonb NOT NULL);
CREATE TABLE access_tokens (key bytea PRIMARY KEY, expires_at timestamptz NOT NULL, doc jsonb NOT NULL);
CREATE TABLE grants (
    user_id     text NOT NULL,
    id          text NOT NULL,
    sid         text NOT NULL,
    offline     boolean NOT NULL,
    expires_at  timestamptz NOT NULL,
    doc         jsonb NOT NULL,
    PRIMARY KEY (user_id, id)
);
CREATE TABLE refresh_tokens (key bytea PRIMARY KEY, expires_at timestamptz NOT NULL, spent boolean NOT NULL, doc jsonb NOT NULL);
