-- WIBOT (PRD 3.1, 4.3): conversations and their messages. Phase 1's n8n WIBOT may already have both tables: like
-- `users`, they are adopted when they exist (missing columns added, nothing dropped or rewritten) and created on an
-- empty database.
CREATE TABLE IF NOT EXISTS conversations (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id INT REFERENCES users(id) ON DELETE CASCADE,
    title VARCHAR(255),
    mode VARCHAR(50) DEFAULT 'flash',
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
ALTER TABLE conversations ADD COLUMN IF NOT EXISTS title VARCHAR(255);
ALTER TABLE conversations ADD COLUMN IF NOT EXISTS mode VARCHAR(50) DEFAULT 'flash';
ALTER TABLE conversations ADD COLUMN IF NOT EXISTS created_at TIMESTAMPTZ NOT NULL DEFAULT NOW();
ALTER TABLE conversations ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW();
CREATE INDEX IF NOT EXISTS idx_conversations_user ON conversations (user_id, updated_at DESC);

CREATE TABLE IF NOT EXISTS messages (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    conversation_id UUID REFERENCES conversations(id) ON DELETE CASCADE,
    role VARCHAR(20) NOT NULL,
    content TEXT NOT NULL,
    tokens_used INT DEFAULT 0,
    mode VARCHAR(50),
    rag_used BOOLEAN DEFAULT FALSE,
    mcp_tools_used JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
ALTER TABLE messages ADD COLUMN IF NOT EXISTS tokens_used INT DEFAULT 0;
ALTER TABLE messages ADD COLUMN IF NOT EXISTS mode VARCHAR(50);
ALTER TABLE messages ADD COLUMN IF NOT EXISTS rag_used BOOLEAN DEFAULT FALSE;
ALTER TABLE messages ADD COLUMN IF NOT EXISTS mcp_tools_used JSONB;

-- What Phase 2 adds. Phase 1 rows are finished answers: 'complete' is right for them.
ALTER TABLE messages
    -- 'streaming' while an instance writes it; then how it ended.
    ADD COLUMN IF NOT EXISTS status VARCHAR(20) NOT NULL DEFAULT 'complete',
    ADD COLUMN IF NOT EXISTS provider VARCHAR(50),
    ADD COLUMN IF NOT EXISTS model VARCHAR(200),
    ADD COLUMN IF NOT EXISTS prompt_tokens INT,
    ADD COLUMN IF NOT EXISTS completion_tokens INT,
    -- The provider reported no usage: the counts are estimated from the text.
    ADD COLUMN IF NOT EXISTS tokens_estimated BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN IF NOT EXISTS error_message TEXT,
    ADD COLUMN IF NOT EXISTS feedback SMALLINT,
    ADD COLUMN IF NOT EXISTS feedback_comment TEXT,
    ADD COLUMN IF NOT EXISTS feedback_at TIMESTAMPTZ,
    -- The generating instance renews this while it writes; past it, the answer is orphaned (instance gone) and the
    -- maintenance marks it failed, keeping what was written.
    ADD COLUMN IF NOT EXISTS lease_until TIMESTAMPTZ,
    -- A stop asked on any instance; the generating one sees it through the notification below.
    ADD COLUMN IF NOT EXISTS stop_requested_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS finished_at TIMESTAMPTZ,
    -- Order within a conversation: a question and its answer are written in one transaction, so they share NOW().
    ADD COLUMN IF NOT EXISTS seq BIGSERIAL;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('streaming', 'complete', 'stopped', 'timed_out', 'failed')) NOT VALID;
ALTER TABLE messages ADD CONSTRAINT messages_feedback_check CHECK (feedback IN (-1, 1)) NOT VALID;
CREATE INDEX IF NOT EXISTS idx_messages_conversation ON messages (conversation_id, created_at, seq);
CREATE INDEX IF NOT EXISTS idx_messages_created ON messages (created_at DESC);
CREATE INDEX messages_streaming_idx ON messages (lease_until) WHERE status = 'streaming';

-- Search in one's own conversations (French stemming: « imprimantes » finds « imprimante »).
CREATE INDEX messages_content_fts ON messages USING GIN (to_tsvector('french', content));
CREATE INDEX conversations_title_fts ON conversations USING GIN (to_tsvector('french', COALESCE(title, '')));

-- An answer being written is announced on every write, stop request and end, so that a page attached on another
-- instance reads what is new (the row is the durable state; the notification carries only its id).
CREATE FUNCTION widip_chat_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('widip_chat', NEW.id::text);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER messages_chat_notify AFTER UPDATE ON messages
    FOR EACH ROW
    WHEN (OLD.status = 'streaming' AND (
        OLD.content IS DISTINCT FROM NEW.content OR OLD.status IS DISTINCT FROM NEW.status
        OR OLD.stop_requested_at IS DISTINCT FROM NEW.stop_requested_at))
    EXECUTE FUNCTION widip_chat_notify();

-- Token usage per answer, kept when its conversation is deleted (deleting conversations must not give tokens back).
-- An answer reserves its cap before the model is called, under the user's row lock, and settles to what the provider
-- reported at the end: two concurrent messages cannot both pass the quota by more than one answer's cap.
CREATE TABLE chat_token_usage (
    id BIGSERIAL PRIMARY KEY,
    user_id INT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    message_id UUID NOT NULL UNIQUE,
    mode VARCHAR(50) NOT NULL,
    provider VARCHAR(50) NOT NULL,
    model VARCHAR(200) NOT NULL,
    reserved_tokens INT NOT NULL,
    prompt_tokens INT NOT NULL DEFAULT 0,
    completion_tokens INT NOT NULL DEFAULT 0,
    estimated BOOLEAN NOT NULL DEFAULT FALSE,
    settled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX chat_token_usage_user_month ON chat_token_usage (user_id, created_at);

-- How the application reads them: times as epoch seconds, a message with its owner (through its conversation).
CREATE VIEW chat_message_rows AS
SELECT m.id, m.conversation_id, c.user_id, m.role, m.content, m.mode, m.status, m.provider, m.model,
       m.prompt_tokens, m.completion_tokens, COALESCE(m.tokens_used, 0) AS tokens_used, m.tokens_estimated, m.error_message,
       m.feedback, m.feedback_comment, COALESCE(m.rag_used, FALSE) AS rag_used, m.mcp_tools_used,
       EXTRACT(EPOCH FROM m.created_at)::float8 AS created_at, EXTRACT(EPOCH FROM m.finished_at)::float8 AS finished_at, m.seq
FROM messages m JOIN conversations c ON c.id = m.conversation_id;

CREATE VIEW chat_conversation_rows AS
SELECT c.id, c.user_id, COALESCE(c.title, 'Conversation') AS title, COALESCE(c.mode, 'flash') AS mode,
       EXTRACT(EPOCH FROM c.created_at)::float8 AS created_at, EXTRACT(EPOCH FROM c.updated_at)::float8 AS updated_at,
       (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)::int AS message_count
FROM conversations c;
