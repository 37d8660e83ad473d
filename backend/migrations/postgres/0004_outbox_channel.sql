-- One outbox for every notification channel (the webhook today, e-mail next): each message
-- names its channel, and each channel's sender claims only its own.
ALTER TABLE outbox ADD COLUMN channel text NOT NULL DEFAULT 'webhook';
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (channel, next_at) WHERE NOT given_up;
