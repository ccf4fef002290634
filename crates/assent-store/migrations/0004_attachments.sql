-- Files. A row exists only once its bytes are complete in the blob store (uploads write the
-- object first), so a crash mid-upload leaves no visible attachment; objects with no row are
-- removed by the file sweep. `message_id` is NULL while the file is stored but not yet sent.
-- Deleting a message deletes its rows here (and the job deletes their objects).
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    message_id TEXT REFERENCES messages(id) ON DELETE CASCADE,
    position BIGINT NOT NULL DEFAULT 0,
    filename TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    storage_key TEXT NOT NULL,
    sniffed TEXT,
    text_content TEXT,
    uploaded_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX idx_attachments_channel ON attachments(channel_id, created_at);
CREATE INDEX idx_attachments_message ON attachments(message_id) WHERE message_id IS NOT NULL;
CREATE INDEX idx_attachments_unlinked ON attachments(created_at) WHERE message_id IS NULL;
-- Objects to delete once due: those whose rows are gone (message, file, agent or user
-- deleted; due at once) and uploads in progress (due hours later; the row that completes the
-- upload removes the entry, so only a crashed or abandoned upload is ever swept).
CREATE TABLE doomed_files (
    storage_key TEXT PRIMARY KEY,
    due_at BIGINT NOT NULL
);
CREATE INDEX idx_doomed_files_due ON doomed_files(due_at);
ALTER TABLE messages ADD COLUMN attachment_count BIGINT NOT NULL DEFAULT 0;
