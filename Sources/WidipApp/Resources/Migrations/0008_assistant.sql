-- The Assistant WIDIP (PRD 3.1.2): an answer keeps the tool calls it made (`mcp_tools_used`, Phase 1's column) and the
-- knowledge-base sources it was given (`sources`), a conversation may be kept to one client, and the L3 actions it
-- asked SAFEGUARD for come back into the conversation when they are decided.
ALTER TABLE messages ADD COLUMN IF NOT EXISTS sources JSONB;
-- The client a conversation is about: retrieval and tool results then stay within that client's data.
ALTER TABLE conversations ADD COLUMN IF NOT EXISTS client_scope TEXT;

-- Conversations have UUID ids (PRD 4.3); 0005 gave SAFEGUARD's link to them the wrong type. Nothing wrote it yet, but
-- a value that is there is kept in the request's context rather than dropped.
DROP VIEW safeguard_requests;
UPDATE safeguard_approvals SET context = context || jsonb_build_object('earlier_conversation_id', conversation_id)
WHERE conversation_id IS NOT NULL;
ALTER TABLE safeguard_approvals ALTER COLUMN conversation_id TYPE UUID USING NULL;
CREATE INDEX safeguard_approvals_conversation_idx ON safeguard_approvals (conversation_id) WHERE conversation_id IS NOT NULL;

CREATE VIEW safeguard_requests AS
SELECT
    a.approval_id, a.tool_name, a.arguments, a.security_level, a.context, a.status,
    a.requester_type, a.requester_name, a.requester_user_id, a.conversation_id, a.idempotency_key, a.callback_url,
    a.execution_mode, a.approvals_required, a.approvals_count, a.postpone_count,
    extract(epoch FROM a.created_at)::float8 AS created_at,
    extract(epoch FROM a.expires_at)::float8 AS expires_at,
    extract(epoch FROM a.escalated_at)::float8 AS escalated_at,
    extract(epoch FROM a.decided_at)::float8 AS decided_at,
    decider.username AS decided_by, a.decision_reason,
    extract(epoch FROM a.execution_started_at)::float8 AS execution_started_at,
    extract(epoch FROM a.executed_at)::float8 AS executed_at,
    a.execution_attempts, a.result, a.error, a.impact_before, a.impact_after
FROM safeguard_approvals a
LEFT JOIN users decider ON decider.id = a.decided_by;

-- An action the assistant asked for ends (executed, failed, rejected, expired): its outcome becomes a message of the
-- conversation, in the same transaction as the decision, whichever instance or job decided it. The conversation is
-- told through `widip_chat` (its id as payload), where its open pages wait. Role 'action': written by the platform,
-- neither the user nor the model.
CREATE FUNCTION widip_assistant_action_outcome() RETURNS trigger AS $$
DECLARE
    decider TEXT;
    summary TEXT;
BEGIN
    SELECT username INTO decider FROM users WHERE id = NEW.decided_by;
    summary := CASE NEW.status
        WHEN 'executed' THEN 'Action « ' || NEW.tool_name || ' » approuvée' || COALESCE(' par ' || decider, '') || ' et exécutée.'
        WHEN 'failed' THEN 'Action « ' || NEW.tool_name || ' » approuvée' || COALESCE(' par ' || decider, '') || ', mais son exécution a échoué : '
            || COALESCE(NEW.error, 'erreur inconnue') || '.'
        WHEN 'rejected' THEN 'Action « ' || NEW.tool_name || ' » rejetée' || COALESCE(' par ' || decider, '') || ' : '
            || COALESCE(NEW.decision_reason, 'sans motif') || '.'
        ELSE 'Action « ' || NEW.tool_name || ' » expirée sans décision : elle n''a pas été exécutée.'
    END;
    INSERT INTO messages (conversation_id, role, content, mode, status, mcp_tools_used)
    SELECT NEW.conversation_id, 'action', summary, 'assistant', 'complete',
           jsonb_build_array(jsonb_build_object(
               'approval_id', NEW.approval_id, 'tool', NEW.tool_name, 'level', NEW.security_level, 'status', NEW.status,
               'decided_by', decider, 'reason', NEW.decision_reason, 'error', NEW.error, 'result', NEW.result))
    WHERE EXISTS (SELECT 1 FROM conversations WHERE id = NEW.conversation_id);
    UPDATE conversations SET updated_at = NOW() WHERE id = NEW.conversation_id;
    PERFORM pg_notify('widip_chat', NEW.conversation_id::text);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER safeguard_assistant_outcome AFTER UPDATE OF status ON safeguard_approvals
    FOR EACH ROW
    WHEN (NEW.conversation_id IS NOT NULL AND OLD.status IS DISTINCT FROM NEW.status
          AND NEW.status IN ('executed', 'failed', 'rejected', 'expired'))
    EXECUTE FUNCTION widip_assistant_action_outcome();

-- Sources a technician found out of date (« signaler comme obsolète »), for ENRICHISSEUR to review and SUPERVISION to
-- count. The chunk may since have been re-imported or deleted: its title and document are copied.
CREATE TABLE knowledge_feedback (
    id BIGSERIAL PRIMARY KEY,
    knowledge_id BIGINT,
    source_key TEXT,
    title TEXT NOT NULL,
    message_id UUID,
    user_id INT REFERENCES users(id) ON DELETE SET NULL,
    comment TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    resolved_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX knowledge_feedback_once ON knowledge_feedback (knowledge_id, user_id) WHERE resolved_at IS NULL;

-- chat_message_rows gains the sources; chat_conversation_rows the client scope.
DROP VIEW chat_message_rows;
CREATE VIEW chat_message_rows AS
SELECT m.id, m.conversation_id, c.user_id, m.role, m.content, m.mode, m.status, m.provider, m.model,
       m.prompt_tokens, m.completion_tokens, COALESCE(m.tokens_used, 0) AS tokens_used, m.tokens_estimated, m.error_message,
       m.feedback, m.feedback_comment, COALESCE(m.rag_used, FALSE) AS rag_used, m.mcp_tools_used, m.sources,
       EXTRACT(EPOCH FROM m.created_at)::float8 AS created_at, EXTRACT(EPOCH FROM m.finished_at)::float8 AS finished_at, m.seq
FROM messages m JOIN conversations c ON c.id = m.conversation_id;

DROP VIEW chat_conversation_rows;
CREATE VIEW chat_conversation_rows AS
SELECT c.id, c.user_id, COALESCE(c.title, 'Conversation') AS title, COALESCE(c.mode, 'flash') AS mode, c.client_scope,
       EXTRACT(EPOCH FROM c.created_at)::float8 AS created_at, EXTRACT(EPOCH FROM c.updated_at)::float8 AS updated_at,
       (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)::int AS message_count
FROM conversations c;
