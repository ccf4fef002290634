-- The webhook outbox. A delivery row is written in the same transaction as the event that
-- causes it; workers claim due rows under a lease (lease_until/lease_owner), so a crash
-- mid-delivery only delays it. Its id is the Standard Webhooks `webhook-id`.
ALTER TABLE channels ADD COLUMN webhook_secret TEXT;
ALTER TABLE channels ADD COLUMN webhook_secret_shown BIGINT NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN webhook_disabled_at BIGINT;
ALTER TABLE channels ADD COLUMN webhook_disabled_reason TEXT;
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    event TEXT NOT NULL,
    seq BIGINT NOT NULL,
    target TEXT NOT NULL,
    url TEXT NOT NULL,
    method TEXT NOT NULL,
    extra_headers TEXT,
    body TEXT NOT NULL,
    tracks_status BIGINT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    lease_owner TEXT,
    last_status BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX idx_webhook_due ON webhook_deliveries(next_attempt_at) WHERE state = 'pending';
CREATE INDEX idx_webhook_message ON webhook_deliveries(message_id);
CREATE INDEX idx_webhook_channel ON webhook_deliveries(channel_id, created_at);
CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    status_code BIGINT,
    error TEXT,
    PRIMARY KEY (delivery_id, attempt)
);
