-- Assent schema v1 (SQLite and PostgreSQL: one dialect). Times are milliseconds since the Unix epoch (BIGINT);
-- booleans are BIGINT 0/1 so that both backends decode them the same way.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    must_change_password BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX idx_sessions_user ON sessions(user_id);
CREATE TABLE ws_tickets (
    ticket_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    principal_kind TEXT NOT NULL,
    principal_ref TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX idx_ws_tickets_expiry ON ws_tickets(expires_at);
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    key_prefix TEXT NOT NULL,
    last_used_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX idx_api_keys_user ON api_keys(user_id);
CREATE TABLE channels (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    avatar_url TEXT,
    webhook_url TEXT,
    webhook_headers TEXT,
    webhook_auth TEXT,
    status TEXT NOT NULL DEFAULT 'offline',
    status_message TEXT,
    status_since BIGINT,
    last_active_at BIGINT,
    commands TEXT,
    tag TEXT,
    is_subagent BIGINT NOT NULL DEFAULT 0,
    parent_agent_id TEXT REFERENCES channels(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    head_seq BIGINT NOT NULL DEFAULT 0,
    last_event_at BIGINT
);
CREATE INDEX idx_channels_owner ON channels(owner_id);
CREATE INDEX idx_channels_presence ON channels(last_active_at) WHERE status <> 'offline';
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    sender_type TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    text TEXT,
    status TEXT,
    review TEXT,
    metadata TEXT,
    client_id TEXT,
    stream_id TEXT,
    stream_state TEXT,
    delivery_status TEXT NOT NULL DEFAULT 'sent',
    iteration_group_id TEXT,
    iteration BIGINT,
    review_status TEXT,
    review_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX uq_messages_channel_seq ON messages(channel_id, seq);
CREATE UNIQUE INDEX uq_messages_client ON messages(channel_id, sender_type, client_id) WHERE client_id IS NOT NULL;
CREATE UNIQUE INDEX uq_messages_stream ON messages(channel_id, stream_id) WHERE stream_id IS NOT NULL;
CREATE INDEX idx_messages_review_due ON messages(review_expires_at) WHERE review_status = 'pending';
CREATE TABLE events (
    channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, seq)
);
CREATE TABLE channel_reads (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    last_read_seq BIGINT NOT NULL,
    PRIMARY KEY (user_id, channel_id)
);
CREATE TABLE agent_status_history (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    message TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX idx_agent_status_history ON agent_status_history(agent_id, created_at);
