-- Deltas accepted by a streaming draft. In cluster mode a draft's text lives in its row (any
-- node may take the next delta), and this count numbers the deltas across nodes.
ALTER TABLE messages ADD COLUMN stream_deltas BIGINT NOT NULL DEFAULT 0;
