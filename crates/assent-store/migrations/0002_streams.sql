-- Status steps of streamed replies (Placet's message_status_events). No FK to messages:
-- a step may precede the draft.
CREATE TABLE message_status_events (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    stream_id TEXT NOT NULL,
    idx BIGINT NOT NULL,
    text TEXT NOT NULL,
    tool_hint BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX uq_status_events_stream ON message_status_events(channel_id, stream_id, idx);
CREATE INDEX idx_messages_drafts ON messages(updated_at) WHERE stream_state = 'streaming';
