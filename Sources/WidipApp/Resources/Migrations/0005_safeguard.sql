-- SAFEGUARD (PRD 3.2): approvals of L3+ actions. Phase 1 already writes `safeguard_approvals` in production (the
-- fields of the PRD's request JSON): like `users`, the table is adopted when it exists (missing columns added, nothing
-- dropped or rewritten) and created on an empty database.
CREATE TABLE IF NOT EXISTS safeguard_approvals (
    id BIGSERIAL PRIMARY KEY,
    approval_id VARCHAR(50),
    tool_name VARCHAR(128) NOT NULL,
    arguments JSONB NOT NULL DEFAULT '{}'::jsonb,
    security_level VARCHAR(2) NOT NULL DEFAULT 'L3',
    context JSONB NOT NULL DEFAULT '{}'::jsonb,
    status VARCHAR(20) NOT NULL DEFAULT 'pending',
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    expires_at TIMESTAMPTZ NOT NULL DEFAULT NOW() + INTERVAL '60 minutes'
);

-- Phase 1's own columns, for a table that lacks one of them.
ALTER TABLE safeguard_approvals ADD COLUMN IF NOT EXISTS approval_id VARCHAR(50);
ALTER TABLE safeguard_approvals ADD COLUMN IF NOT EXISTS arguments JSONB NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE safeguard_approvals ADD COLUMN IF NOT EXISTS security_level VARCHAR(2) NOT NULL DEFAULT 'L3';
ALTER TABLE safeguard_approvals ADD COLUMN IF NOT EXISTS context JSONB NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE safeguard_approvals ADD COLUMN IF NOT EXISTS status VARCHAR(20) NOT NULL DEFAULT 'pending';
ALTER TABLE safeguard_approvals ADD COLUMN IF NOT EXISTS created_at TIMESTAMPTZ NOT NULL DEFAULT NOW();
ALTER TABLE safeguard_approvals ADD COLUMN IF NOT EXISTS expires_at TIMESTAMPTZ NOT NULL DEFAULT NOW() + INTERVAL '60 minutes';

-- What Phase 2 adds. A constant default adds a column without rewriting the table.
ALTER TABLE safeguard_approvals
    -- Who asked: a workflow (by the name of its token) or a user (the assistant acting for them).
    ADD COLUMN IF NOT EXISTS requester_type VARCHAR(10) NOT NULL DEFAULT 'workflow',
    ADD COLUMN IF NOT EXISTS requester_name VARCHAR(100),
    ADD COLUMN IF NOT EXISTS requester_user_id INT REFERENCES users(id),
    -- The WIBOT conversation the request came from (no foreign key: that table belongs to another module).
    ADD COLUMN IF NOT EXISTS conversation_id BIGINT,
    ADD COLUMN IF NOT EXISTS idempotency_key VARCHAR(200),
    ADD COLUMN IF NOT EXISTS callback_url TEXT,
    -- 'platform': SAFEGUARD runs the approved action itself; 'requester': the requester runs it with the approval id.
    ADD COLUMN IF NOT EXISTS execution_mode VARCHAR(10) NOT NULL DEFAULT 'platform',
    -- Two for L4 (four eyes): two approvals from two different people.
    ADD COLUMN IF NOT EXISTS approvals_required SMALLINT NOT NULL DEFAULT 1,
    ADD COLUMN IF NOT EXISTS approvals_count SMALLINT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS postpone_count INT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS escalated_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS decided_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS decided_by INT REFERENCES users(id),
    ADD COLUMN IF NOT EXISTS decision_reason TEXT,
    ADD COLUMN IF NOT EXISTS execution_started_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS execution_attempts INT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS next_attempt_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS executed_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS result JSONB,
    ADD COLUMN IF NOT EXISTS error TEXT,
    -- The target's state read before the decision and after the execution (AD accounts), to show the impact.
    ADD COLUMN IF NOT EXISTS impact_before JSONB,
    ADD COLUMN IF NOT EXISTS impact_after JSONB,
    ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW();

-- Enforced on every row written from now on; Phase 1 rows are not re-checked (NOT VALID), so none is refused.
ALTER TABLE safeguard_approvals ADD CONSTRAINT safeguard_status_check
    CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'executing', 'executed', 'failed')) NOT VALID;
ALTER TABLE safeguard_approvals ADD CONSTRAINT safeguard_execution_mode_check
    CHECK (execution_mode IN ('platform', 'requester')) NOT VALID;
ALTER TABLE safeguard_approvals ADD CONSTRAINT safeguard_requester_type_check
    CHECK (requester_type IN ('workflow', 'user')) NOT VALID;

-- Readable ids, sequential per year: APR-2026-001. The counter row of the year is locked until the creating
-- transaction ends, so concurrent writers get consecutive numbers and a rolled-back one leaves no gap; a number that
-- a writer already used for its own id is skipped.
CREATE TABLE safeguard_approval_numbers (
    year INT PRIMARY KEY,
    last_number INT NOT NULL
);

CREATE FUNCTION widip_safeguard_next_id(for_year INT) RETURNS TEXT AS $$
DECLARE
    number INT;
    candidate TEXT;
BEGIN
    INSERT INTO safeguard_approval_numbers AS counter (year, last_number) VALUES (for_year, 1)
    ON CONFLICT (year) DO UPDATE SET last_number = counter.last_number + 1
    RETURNING last_number INTO number;
    LOOP
        candidate := 'APR-' || for_year || '-' || lpad(number::text, 3, '0');
        EXIT WHEN NOT EXISTS (SELECT 1 FROM safeguard_approvals WHERE approval_id = candidate);
        number := number + 1;
    END LOOP;
    UPDATE safeguard_approval_numbers SET last_number = number WHERE year = for_year;
    RETURN candidate;
END
$$ LANGUAGE plpgsql;

-- Phase 1 rows without an id get one, so they can be read and decided like the others.
DO $$
DECLARE
    row_key BIGINT;
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'safeguard_approvals' AND column_name = 'id') THEN
        FOR row_key IN SELECT id FROM safeguard_approvals WHERE approval_id IS NULL ORDER BY created_at LOOP
            UPDATE safeguard_approvals
            SET approval_id = widip_safeguard_next_id(extract(year FROM created_at AT TIME ZONE 'UTC')::int)
            WHERE id = row_key;
        END LOOP;
    END IF;
END $$;

DO $$
DECLARE
    duplicates TEXT;
BEGIN
    SELECT string_agg(approval_id, ', ') INTO duplicates
    FROM (SELECT approval_id FROM safeguard_approvals WHERE approval_id IS NOT NULL GROUP BY approval_id HAVING count(*) > 1) AS twice;
    IF duplicates IS NOT NULL THEN
        RAISE EXCEPTION 'Identifiants d''approbation en double à corriger avant la migration : %', duplicates;
    END IF;
END $$;
CREATE UNIQUE INDEX safeguard_approvals_approval_id_key ON safeguard_approvals (approval_id);
CREATE INDEX safeguard_approvals_pending_idx ON safeguard_approvals (expires_at) WHERE status = 'pending';
CREATE INDEX safeguard_approvals_created_idx ON safeguard_approvals (created_at);
CREATE INDEX safeguard_approvals_work_idx ON safeguard_approvals (status) WHERE status IN ('approved', 'executing');
-- A workflow retrying a POST with the same key gets the request it already made.
CREATE UNIQUE INDEX safeguard_approvals_idempotency_key ON safeguard_approvals (requester_name, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE FUNCTION widip_safeguard_assign_id() RETURNS trigger AS $$
BEGIN
    IF NEW.approval_id IS NULL THEN
        NEW.approval_id := widip_safeguard_next_id(extract(year FROM COALESCE(NEW.created_at, NOW()) AT TIME ZONE 'UTC')::int);
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER safeguard_approvals_assign_id BEFORE INSERT ON safeguard_approvals
    FOR EACH ROW EXECUTE FUNCTION widip_safeguard_assign_id();

-- Everything that happened to a request, in order: created, approval added (first of two), approved, rejected,
-- postponed, escalated, expired, executing, executed, failed, execution interrupted. Decisions are kept here with who,
-- when, why and from where.
CREATE TABLE safeguard_timeline (
    id BIGSERIAL PRIMARY KEY,
    approval_id VARCHAR(50) NOT NULL REFERENCES safeguard_approvals (approval_id),
    kind VARCHAR(30) NOT NULL,
    actor_user_id INT REFERENCES users(id),
    actor_name VARCHAR(100),
    reason TEXT,
    details JSONB,
    ip_address VARCHAR(45),
    at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX safeguard_timeline_approval_idx ON safeguard_timeline (approval_id, id);

-- Every creation, whoever writes the row (the API, the assistant, or Phase 1 code inserting it directly), starts the
-- timeline, and so publishes `safeguard:new_request`.
CREATE FUNCTION widip_safeguard_created() RETURNS trigger AS $$
BEGIN
    INSERT INTO safeguard_timeline (approval_id, kind, actor_name, at)
    VALUES (NEW.approval_id, 'created', COALESCE(NEW.requester_name, 'Phase 1'), NEW.created_at);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER safeguard_approvals_created AFTER INSERT ON safeguard_approvals
    FOR EACH ROW EXECUTE FUNCTION widip_safeguard_created();

-- Outcomes owed to a requester that gave a `callback_url`, delivered (and retried) by SAFEGUARD's callback sender.
CREATE TABLE safeguard_callbacks (
    id BIGSERIAL PRIMARY KEY,
    approval_id VARCHAR(50) NOT NULL REFERENCES safeguard_approvals (approval_id),
    url TEXT NOT NULL,
    payload JSONB NOT NULL,
    attempts INT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    delivered_at TIMESTAMPTZ,
    abandoned_at TIMESTAMPTZ,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX safeguard_callbacks_due_idx ON safeguard_callbacks (next_attempt_at) WHERE delivered_at IS NULL AND abandoned_at IS NULL;

-- Each timeline step is an event on the `safeguard` channel (`safeguard:new_request`, `safeguard:request_<step>`),
-- committed with the change it reports. The events lock is taken first, so the pending count in the event is read
-- after every earlier event's transaction has committed: the last event always carries the right count.
-- A final outcome is also queued for the requester's callback.
CREATE FUNCTION widip_safeguard_step() RETURNS trigger AS $$
DECLARE
    request safeguard_approvals%ROWTYPE;
    summary JSONB;
BEGIN
    PERFORM pg_advisory_xact_lock(5749444950455654);
    SELECT * INTO request FROM safeguard_approvals WHERE approval_id = NEW.approval_id;
    summary := jsonb_build_object(
        'approval_id', request.approval_id, 'tool_name', request.tool_name, 'security_level', request.security_level,
        'status', request.status, 'step', NEW.kind, 'actor', NEW.actor_name, 'reason', NEW.reason,
        'client_name', request.context->>'client_name', 'ticket_title', request.context->>'ticket_title',
        'expires_at', to_char(request.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'approvals_count', request.approvals_count, 'approvals_required', request.approvals_required,
        'requester_user_id', request.requester_user_id,
        'pending_count', (SELECT count(*) FROM safeguard_approvals WHERE status = 'pending')
    );
    INSERT INTO events (channel, type, min_level, data)
    VALUES ('safeguard', 'safeguard:' || CASE NEW.kind WHEN 'created' THEN 'new_request' ELSE 'request_' || NEW.kind END, 'N1', summary);

    IF request.callback_url IS NOT NULL AND (
        NEW.kind IN ('rejected', 'expired', 'executed', 'failed')
        OR (NEW.kind = 'approved' AND request.execution_mode = 'requester')
    ) THEN
        INSERT INTO safeguard_callbacks (approval_id, url, payload) VALUES (
            request.approval_id, request.callback_url,
            jsonb_build_object(
                'approval_id', request.approval_id, 'status', request.status, 'tool_name', request.tool_name,
                'arguments', request.arguments, 'decided_by', (SELECT username FROM users WHERE id = request.decided_by),
                'decided_at', to_char(request.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                'reason', request.decision_reason, 'result', request.result, 'error', request.error,
                'executed_at', to_char(request.executed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            )
        );
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER safeguard_timeline_step AFTER INSERT ON safeguard_timeline
    FOR EACH ROW EXECUTE FUNCTION widip_safeguard_step();

-- One request as the platform reads it: times as epoch seconds and the decider's name, in one JSON document per row
-- (`to_jsonb`), whatever column types an adopted Phase 1 table has.
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
