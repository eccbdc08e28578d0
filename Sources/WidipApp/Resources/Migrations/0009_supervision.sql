-- SUPERVISION (PRD 3.3): what the Phase 1 workflows did, read by five dashboards. Phase 1 already writes
-- `widip_agent_logs` (SUPPORT) and `incident_logs` (SENTINEL) in production: like `safeguard_approvals`, they are
-- adopted when they exist (missing columns added, nothing dropped or rewritten) and created on an empty database.
-- The columns a workflow must fill are the README's "Contrat des workflows".

CREATE TABLE IF NOT EXISTS widip_agent_logs (
    id BIGSERIAL PRIMARY KEY,
    ticket_id VARCHAR(50),
    category VARCHAR(20),
    status VARCHAR(20),
    auto_resolved BOOLEAN,
    client_name VARCHAR(200),
    action TEXT,
    error TEXT,
    duration_ms INT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
ALTER TABLE widip_agent_logs
    ADD COLUMN IF NOT EXISTS ticket_id VARCHAR(50),
    ADD COLUMN IF NOT EXISTS category VARCHAR(20),
    ADD COLUMN IF NOT EXISTS status VARCHAR(20),
    ADD COLUMN IF NOT EXISTS auto_resolved BOOLEAN,
    ADD COLUMN IF NOT EXISTS client_name VARCHAR(200),
    ADD COLUMN IF NOT EXISTS action TEXT,
    ADD COLUMN IF NOT EXISTS error TEXT,
    ADD COLUMN IF NOT EXISTS duration_ms INT,
    ADD COLUMN IF NOT EXISTS created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    -- Phase 2: which workflow wrote the row and the thread (alert → ticket → actions → approval) it belongs to.
    ADD COLUMN IF NOT EXISTS workflow VARCHAR(50) NOT NULL DEFAULT 'SUPPORT',
    ADD COLUMN IF NOT EXISTS correlation_id VARCHAR(100);
-- Enforced on rows written from now on; Phase 1 rows are not re-checked (NOT VALID), so none is refused. Rows with
-- another value are still counted, under "AUTRE" and "en cours".
ALTER TABLE widip_agent_logs ADD CONSTRAINT widip_agent_logs_category_check
    CHECK (category IN ('RESET_MDP', 'DEBLOCAGE', '#DIAG', 'AUTRE')) NOT VALID;
ALTER TABLE widip_agent_logs ADD CONSTRAINT widip_agent_logs_status_check
    CHECK (status IN ('resolu', 'en_cours', 'escalade')) NOT VALID;
-- Every dashboard figure is "rows of a period": the time leads the indexes, the grouped columns follow so that the
-- counts are read from the index alone.
CREATE INDEX IF NOT EXISTS widip_agent_logs_created_idx ON widip_agent_logs (created_at, category, status, auto_resolved);
CREATE INDEX IF NOT EXISTS widip_agent_logs_ticket_idx ON widip_agent_logs (ticket_id);
CREATE INDEX IF NOT EXISTS widip_agent_logs_correlation_idx ON widip_agent_logs (correlation_id) WHERE correlation_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS widip_agent_logs_errors_idx ON widip_agent_logs (created_at) WHERE error IS NOT NULL;

CREATE TABLE IF NOT EXISTS incident_logs (
    id BIGSERIAL PRIMARY KEY,
    alert_id VARCHAR(100),
    device_name VARCHAR(200),
    client_name VARCHAR(200),
    status VARCHAR(20),
    responsibility VARCHAR(20),
    confidence SMALLINT,
    ticket_id VARCHAR(50),
    timeline JSONB NOT NULL DEFAULT '[]'::jsonb,
    detected_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    resolved_at TIMESTAMPTZ
);
ALTER TABLE incident_logs
    ADD COLUMN IF NOT EXISTS alert_id VARCHAR(100),
    ADD COLUMN IF NOT EXISTS device_name VARCHAR(200),
    ADD COLUMN IF NOT EXISTS client_name VARCHAR(200),
    ADD COLUMN IF NOT EXISTS status VARCHAR(20),
    ADD COLUMN IF NOT EXISTS responsibility VARCHAR(20),
    ADD COLUMN IF NOT EXISTS confidence SMALLINT,
    ADD COLUMN IF NOT EXISTS ticket_id VARCHAR(50),
    -- Steps as the workflow took them: [{"at": RFC 3339, "text": "Ticket #4567 créé"}], oldest first.
    ADD COLUMN IF NOT EXISTS timeline JSONB NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN IF NOT EXISTS detected_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    ADD COLUMN IF NOT EXISTS resolved_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS correlation_id VARCHAR(100),
    ADD COLUMN IF NOT EXISTS message TEXT,
    ADD COLUMN IF NOT EXISTS severity VARCHAR(20),
    ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW();
ALTER TABLE incident_logs ADD CONSTRAINT incident_logs_status_check
    CHECK (status IN ('open', 'diagnosing', 'resolved')) NOT VALID;
ALTER TABLE incident_logs ADD CONSTRAINT incident_logs_responsibility_check
    CHECK (responsibility IN ('FAI', 'Local', 'WIDIP', 'Indéterminé')) NOT VALID;
ALTER TABLE incident_logs ADD CONSTRAINT incident_logs_confidence_check CHECK (confidence BETWEEN 0 AND 100) NOT VALID;
CREATE INDEX IF NOT EXISTS incident_logs_detected_idx ON incident_logs (detected_at, responsibility, status);
CREATE INDEX IF NOT EXISTS incident_logs_alert_idx ON incident_logs (alert_id, detected_at);
CREATE INDEX IF NOT EXISTS incident_logs_open_idx ON incident_logs (client_name) WHERE resolved_at IS NULL;
CREATE INDEX IF NOT EXISTS incident_logs_resolved_idx ON incident_logs (resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS incident_logs_ticket_idx ON incident_logs (ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS incident_logs_correlation_idx ON incident_logs (correlation_id) WHERE correlation_id IS NOT NULL;

-- Errors a workflow reports (`workflow:error`): a timeout, a GLPI 500 retried, a tool that failed.
CREATE TABLE workflow_errors (
    id BIGSERIAL PRIMARY KEY,
    workflow VARCHAR(50) NOT NULL,
    message TEXT NOT NULL,
    tool VARCHAR(128),
    ticket_id VARCHAR(50),
    alert_id VARCHAR(100),
    attempts INT,
    recovered BOOLEAN NOT NULL DEFAULT FALSE,
    correlation_id VARCHAR(100),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX workflow_errors_created_idx ON workflow_errors (created_at);
CREATE INDEX workflow_errors_correlation_idx ON workflow_errors (correlation_id) WHERE correlation_id IS NOT NULL;

-- ENRICHISSEUR's ingestion runs (`workflow:ingestion_run`): what each run added to the knowledge base.
CREATE TABLE ingestion_runs (
    id BIGSERIAL PRIMARY KEY,
    workflow VARCHAR(50) NOT NULL,
    run_id VARCHAR(200) NOT NULL,
    source VARCHAR(100) NOT NULL,
    status VARCHAR(20) NOT NULL CHECK (status IN ('success', 'partial', 'failed')),
    documents_added INT NOT NULL DEFAULT 0 CHECK (documents_added >= 0),
    documents_updated INT NOT NULL DEFAULT 0 CHECK (documents_updated >= 0),
    documents_removed INT NOT NULL DEFAULT 0 CHECK (documents_removed >= 0),
    error TEXT,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    UNIQUE (workflow, run_id)
);
CREATE INDEX ingestion_runs_finished_idx ON ingestion_runs (finished_at);

-- Health of each dependency: every check is kept (`health_checks`, pruned after 30 days), the current state and since
-- when in `health_status`. A check that changes a dependency's state, and only such a check, becomes a
-- `workflow:health_change` event, whoever wrote it: the monitor of any instance or a workflow.
CREATE TABLE health_checks (
    id BIGSERIAL PRIMARY KEY,
    dependency VARCHAR(50) NOT NULL,
    status VARCHAR(10) NOT NULL CHECK (status IN ('ok', 'degraded', 'down', 'unknown')),
    latency_ms INT,
    detail TEXT,
    source VARCHAR(50) NOT NULL,
    checked_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX health_checks_dependency_idx ON health_checks (dependency, checked_at);
CREATE INDEX health_checks_checked_idx ON health_checks (checked_at);

CREATE TABLE health_status (
    dependency VARCHAR(50) PRIMARY KEY,
    status VARCHAR(10) NOT NULL,
    since TIMESTAMPTZ NOT NULL,
    latency_ms INT,
    detail TEXT,
    checked_at TIMESTAMPTZ NOT NULL
);

CREATE FUNCTION widip_health_check_recorded() RETURNS trigger AS $$
DECLARE
    previous TEXT;
    previous_at TIMESTAMPTZ;
BEGIN
    -- Concurrent checks of one dependency take turns, so two writers cannot both see "no change" (or both see the
    -- first state as new: a row lock would not exist yet to order them).
    PERFORM pg_advisory_xact_lock(hashtext('widip-health:' || NEW.dependency));
    SELECT status, checked_at INTO previous, previous_at FROM health_status WHERE dependency = NEW.dependency;
    -- A check older than the current state (a workflow reporting late) is history, not news.
    IF previous_at IS NOT NULL AND NEW.checked_at < previous_at THEN
        RETURN NULL;
    END IF;
    INSERT INTO health_status AS current (dependency, status, since, latency_ms, detail, checked_at)
    VALUES (NEW.dependency, NEW.status, NEW.checked_at, NEW.latency_ms, NEW.detail, NEW.checked_at)
    ON CONFLICT (dependency) DO UPDATE SET
        since = CASE WHEN current.status = EXCLUDED.status THEN current.since ELSE EXCLUDED.since END,
        status = EXCLUDED.status, latency_ms = EXCLUDED.latency_ms, detail = EXCLUDED.detail, checked_at = EXCLUDED.checked_at;
    IF previous IS DISTINCT FROM NEW.status THEN
        INSERT INTO events (channel, type, min_level, data) VALUES ('supervision', 'workflow:health_change', 'N3',
            jsonb_build_object('dependency', NEW.dependency, 'status', NEW.status, 'previous', previous,
                               'latency_ms', NEW.latency_ms, 'detail', NEW.detail, 'source', NEW.source,
                               'at', to_char(NEW.checked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')));
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER health_checks_recorded AFTER INSERT ON health_checks
    FOR EACH ROW EXECUTE FUNCTION widip_health_check_recorded();

-- Whatever writes a row (this platform's ingestion or a Phase 1 workflow writing the table directly), the dashboards
-- hear of it the same way: an event on the supervision channel, committed with the row.
CREATE FUNCTION widip_ticket_processed_event() RETURNS trigger AS $$
BEGIN
    INSERT INTO events (channel, type, min_level, data) VALUES ('supervision', 'workflow:ticket_processed', 'N3',
        jsonb_build_object('id', NEW.id, 'workflow', NEW.workflow, 'ticket_id', NEW.ticket_id, 'category', NEW.category,
                           'status', NEW.status, 'auto_resolved', NEW.auto_resolved, 'client', NEW.client_name,
                           'action', NEW.action, 'error', NEW.error, 'correlation_id', NEW.correlation_id,
                           'at', to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')));
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER widip_agent_logs_event AFTER INSERT ON widip_agent_logs
    FOR EACH ROW EXECUTE FUNCTION widip_ticket_processed_event();

-- An incident opened is `workflow:alert_detected`; one that changes afterwards (diagnosis, responsibility, ticket,
-- recovery) is `workflow:alert_updated`, with its state.
CREATE FUNCTION widip_incident_event() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NOT (
        OLD.status IS DISTINCT FROM NEW.status OR OLD.responsibility IS DISTINCT FROM NEW.responsibility
        OR OLD.confidence IS DISTINCT FROM NEW.confidence OR OLD.ticket_id IS DISTINCT FROM NEW.ticket_id
        OR OLD.resolved_at IS DISTINCT FROM NEW.resolved_at OR OLD.timeline IS DISTINCT FROM NEW.timeline
    ) THEN
        RETURN NULL;
    END IF;
    INSERT INTO events (channel, type, min_level, data) VALUES ('supervision',
        CASE TG_OP WHEN 'INSERT' THEN 'workflow:alert_detected' ELSE 'workflow:alert_updated' END, 'N3',
        jsonb_build_object('id', NEW.id, 'alert_id', NEW.alert_id, 'device', NEW.device_name, 'client', NEW.client_name,
                           'status', NEW.status, 'responsibility', NEW.responsibility, 'confidence', NEW.confidence,
                           'ticket_id', NEW.ticket_id, 'correlation_id', NEW.correlation_id,
                           'detected_at', to_char(NEW.detected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                           'resolved_at', to_char(NEW.resolved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')));
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER incident_logs_event AFTER INSERT OR UPDATE ON incident_logs
    FOR EACH ROW EXECUTE FUNCTION widip_incident_event();

CREATE FUNCTION widip_workflow_error_event() RETURNS trigger AS $$
BEGIN
    INSERT INTO events (channel, type, min_level, data) VALUES ('supervision', 'workflow:error', 'N3',
        jsonb_build_object('id', NEW.id, 'workflow', NEW.workflow, 'message', NEW.message, 'tool', NEW.tool,
                           'ticket_id', NEW.ticket_id, 'alert_id', NEW.alert_id, 'attempts', NEW.attempts,
                           'recovered', NEW.recovered, 'correlation_id', NEW.correlation_id,
                           'at', to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')));
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER workflow_errors_event AFTER INSERT ON workflow_errors
    FOR EACH ROW EXECUTE FUNCTION widip_workflow_error_event();

CREATE FUNCTION widip_ingestion_run_event() RETURNS trigger AS $$
BEGIN
    INSERT INTO events (channel, type, min_level, data) VALUES ('supervision', 'workflow:ingestion_run', 'N3',
        jsonb_build_object('id', NEW.id, 'workflow', NEW.workflow, 'run_id', NEW.run_id, 'source', NEW.source,
                           'status', NEW.status, 'added', NEW.documents_added, 'updated', NEW.documents_updated,
                           'removed', NEW.documents_removed, 'error', NEW.error,
                           'at', to_char(NEW.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')));
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER ingestion_runs_event AFTER INSERT ON ingestion_runs
    FOR EACH ROW EXECUTE FUNCTION widip_ingestion_run_event();

-- What was already received, so that a retried POST or a repeated webhook changes nothing: the workflow's own event
-- id for `/api/workflows/events`, (ALERT_ID, state, time) for Observium.
CREATE TABLE workflow_event_receipts (
    workflow VARCHAR(50) NOT NULL,
    event_id VARCHAR(200) NOT NULL,
    type VARCHAR(50) NOT NULL,
    -- What the first delivery produced, returned again to a retry.
    outcome JSONB NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (workflow, event_id)
);
CREATE INDEX workflow_event_receipts_received_idx ON workflow_event_receipts (received_at);

-- The health monitor runs on one instance at a time: the holder renews its lease, another takes it once it lapses.
CREATE TABLE supervision_leases (
    name VARCHAR(50) PRIMARY KEY,
    holder VARCHAR(100) NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- A request made for a ticket or an alert carries its thread in its context (`correlation_id`, `ticket_id`), so the
-- timeline finds it.
CREATE INDEX safeguard_approvals_correlation_idx ON safeguard_approvals ((context->>'correlation_id'));
CREATE INDEX safeguard_approvals_ticket_idx ON safeguard_approvals ((context->>'ticket_id'));
CREATE INDEX workflow_errors_ticket_idx ON workflow_errors (ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX workflow_errors_alert_idx ON workflow_errors (alert_id) WHERE alert_id IS NOT NULL;

-- A time written by another system (an incident's steps), or nothing when it cannot be read.
CREATE FUNCTION widip_try_timestamptz(text TEXT) RETURNS TIMESTAMPTZ AS $$
BEGIN
    RETURN text::timestamptz;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$$ LANGUAGE plpgsql STABLE;
CREATE INDEX safeguard_approvals_decided_idx ON safeguard_approvals (decided_at) WHERE decided_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS widip_knowledge_base_created_idx ON widip_knowledge_base (created_at);

-- How a dashboard reads a value, the same for a figure and for the rows behind it: Phase 1 rows written before the
-- checks above may hold other values, counted under AUTRE, "en cours" and Indéterminé rather than lost.
CREATE FUNCTION widip_ticket_category(category TEXT) RETURNS TEXT AS $$
    SELECT CASE WHEN category IN ('RESET_MDP', 'DEBLOCAGE', '#DIAG') THEN category ELSE 'AUTRE' END
$$ LANGUAGE sql IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION widip_ticket_outcome(status TEXT) RETURNS TEXT AS $$
    SELECT CASE WHEN status IN ('resolu', 'escalade') THEN status ELSE 'en_cours' END
$$ LANGUAGE sql IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION widip_responsibility(responsibility TEXT) RETURNS TEXT AS $$
    SELECT CASE WHEN responsibility IN ('FAI', 'Local', 'WIDIP') THEN responsibility ELSE 'Indéterminé' END
$$ LANGUAGE sql IMMUTABLE PARALLEL SAFE;

-- The resolution time decides: an incident without one is still open, whatever its status says.
CREATE FUNCTION widip_incident_state(status TEXT, resolved_at TIMESTAMPTZ) RETURNS TEXT AS $$
    SELECT CASE WHEN resolved_at IS NOT NULL THEN 'resolved' WHEN status = 'diagnosing' THEN 'diagnosing' ELSE 'open' END
$$ LANGUAGE sql IMMUTABLE PARALLEL SAFE;

-- An approved request stays approved once executing, executed or failed.
CREATE FUNCTION widip_approval_outcome(status TEXT) RETURNS TEXT AS $$
    SELECT CASE WHEN status IN ('approved', 'executing', 'executed', 'failed') THEN 'approved' ELSE status END
$$ LANGUAGE sql IMMUTABLE PARALLEL SAFE;

-- Every error a workflow reported, whichever way: its own event, or the `error` column of a SUPPORT log.
CREATE VIEW widip_workflow_error_feed AS
    SELECT 'E' || id AS key, workflow, created_at, message, tool, ticket_id, alert_id, attempts, recovered, correlation_id
    FROM workflow_errors
    UNION ALL
    SELECT 'L' || id, workflow, created_at, error, NULL, ticket_id, NULL, NULL, FALSE, correlation_id
    FROM widip_agent_logs WHERE error IS NOT NULL;

-- Hourly counts behind the dashboards' figures, kept by triggers on the tables they count (whoever writes them), so
-- that a figure over 30 days reads about 720 rows per value instead of every row. A period rarely starts or ends on
-- the hour: its partial first and last hours are counted from the rows themselves (`widip_*_counts`), so a figure
-- is exact to the second and equals the rows its drill-down lists. Hours are UTC hours: for Europe/Paris (whole-hour
-- offsets) they are the display's hours too.
CREATE TABLE supervision_ticket_hours (
    hour TIMESTAMPTZ NOT NULL,
    category TEXT NOT NULL,
    outcome TEXT NOT NULL,
    auto_resolved BOOLEAN NOT NULL,
    tickets INT NOT NULL,
    PRIMARY KEY (hour, category, outcome, auto_resolved)
);

CREATE TABLE supervision_incident_hours (
    hour TIMESTAMPTZ NOT NULL,
    responsibility TEXT NOT NULL,
    state TEXT NOT NULL,
    alerts INT NOT NULL,
    PRIMARY KEY (hour, responsibility, state)
);

CREATE TABLE supervision_approval_hours (
    hour TIMESTAMPTZ NOT NULL,
    tool TEXT NOT NULL,
    outcome TEXT NOT NULL,
    approvals INT NOT NULL,
    PRIMARY KEY (hour, tool, outcome)
);

CREATE FUNCTION widip_supervision_hours_maintain() RETURNS trigger AS $$
DECLARE
    -- Whether the row was there before, and is there after (OLD and NEW are read only then).
    had BOOLEAN := TG_OP IN ('UPDATE', 'DELETE');
    has BOOLEAN := TG_OP IN ('UPDATE', 'INSERT');
BEGIN
    IF TG_TABLE_NAME = 'widip_agent_logs' THEN
        IF had THEN IF OLD.created_at IS NOT NULL THEN
            INSERT INTO supervision_ticket_hours AS h VALUES (date_trunc('hour', OLD.created_at, 'UTC'),
                widip_ticket_category(OLD.category), widip_ticket_outcome(OLD.status), OLD.auto_resolved IS TRUE, -1)
            ON CONFLICT (hour, category, outcome, auto_resolved) DO UPDATE SET tickets = h.tickets - 1;
        END IF; END IF;
        IF has THEN IF NEW.created_at IS NOT NULL THEN
            INSERT INTO supervision_ticket_hours AS h VALUES (date_trunc('hour', NEW.created_at, 'UTC'),
                widip_ticket_category(NEW.category), widip_ticket_outcome(NEW.status), NEW.auto_resolved IS TRUE, 1)
            ON CONFLICT (hour, category, outcome, auto_resolved) DO UPDATE SET tickets = h.tickets + 1;
        END IF; END IF;
    ELSIF TG_TABLE_NAME = 'incident_logs' THEN
        IF had THEN IF OLD.detected_at IS NOT NULL THEN
            INSERT INTO supervision_incident_hours AS h VALUES (date_trunc('hour', OLD.detected_at, 'UTC'),
                widip_responsibility(OLD.responsibility), widip_incident_state(OLD.status, OLD.resolved_at), -1)
            ON CONFLICT (hour, responsibility, state) DO UPDATE SET alerts = h.alerts - 1;
        END IF; END IF;
        IF has THEN IF NEW.detected_at IS NOT NULL THEN
            INSERT INTO supervision_incident_hours AS h VALUES (date_trunc('hour', NEW.detected_at, 'UTC'),
                widip_responsibility(NEW.responsibility), widip_incident_state(NEW.status, NEW.resolved_at), 1)
            ON CONFLICT (hour, responsibility, state) DO UPDATE SET alerts = h.alerts + 1;
        END IF; END IF;
    ELSE
        IF had THEN IF OLD.created_at IS NOT NULL THEN
            INSERT INTO supervision_approval_hours AS h VALUES (date_trunc('hour', OLD.created_at, 'UTC'),
                OLD.tool_name, widip_approval_outcome(OLD.status), -1)
            ON CONFLICT (hour, tool, outcome) DO UPDATE SET approvals = h.approvals - 1;
        END IF; END IF;
        IF has THEN IF NEW.created_at IS NOT NULL THEN
            INSERT INTO supervision_approval_hours AS h VALUES (date_trunc('hour', NEW.created_at, 'UTC'),
                NEW.tool_name, widip_approval_outcome(NEW.status), 1)
            ON CONFLICT (hour, tool, outcome) DO UPDATE SET approvals = h.approvals + 1;
        END IF; END IF;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER widip_agent_logs_hours AFTER INSERT OR DELETE OR UPDATE OF created_at, category, status, auto_resolved
    ON widip_agent_logs FOR EACH ROW EXECUTE FUNCTION widip_supervision_hours_maintain();
CREATE TRIGGER incident_logs_hours AFTER INSERT OR DELETE OR UPDATE OF detected_at, responsibility, status, resolved_at
    ON incident_logs FOR EACH ROW EXECUTE FUNCTION widip_supervision_hours_maintain();
CREATE TRIGGER safeguard_approvals_hours AFTER INSERT OR DELETE OR UPDATE OF created_at, tool_name, status
    ON safeguard_approvals FOR EACH ROW EXECUTE FUNCTION widip_supervision_hours_maintain();

-- Counts them all again from the rows: for the tables adopted from Phase 1 now, and after a bulk load that ran with
-- the triggers off.
CREATE FUNCTION widip_rebuild_supervision_hours() RETURNS void AS $$
    DELETE FROM supervision_ticket_hours;
    INSERT INTO supervision_ticket_hours
    SELECT date_trunc('hour', created_at, 'UTC'), widip_ticket_category(category), widip_ticket_outcome(status), auto_resolved IS TRUE, count(*)
    FROM widip_agent_logs WHERE created_at IS NOT NULL GROUP BY 1, 2, 3, 4;
    DELETE FROM supervision_incident_hours;
    INSERT INTO supervision_incident_hours
    SELECT date_trunc('hour', detected_at, 'UTC'), widip_responsibility(responsibility), widip_incident_state(status, resolved_at), count(*)
    FROM incident_logs WHERE detected_at IS NOT NULL GROUP BY 1, 2, 3;
    DELETE FROM supervision_approval_hours;
    INSERT INTO supervision_approval_hours
    SELECT date_trunc('hour', created_at, 'UTC'), tool_name, widip_approval_outcome(status), count(*)
    FROM safeguard_approvals WHERE created_at IS NOT NULL GROUP BY 1, 2, 3;
$$ LANGUAGE sql;

SELECT widip_rebuild_supervision_hours();

-- The first whole hour at or after `from_at`, and the hour `to_at` falls in: the hours between come from the counts,
-- the minutes before and after from the rows.
CREATE FUNCTION widip_first_hour(from_at TIMESTAMPTZ) RETURNS TIMESTAMPTZ AS $$
    SELECT CASE WHEN date_trunc('hour', from_at, 'UTC') = from_at THEN from_at ELSE date_trunc('hour', from_at, 'UTC') + INTERVAL '1 hour' END
$$ LANGUAGE sql IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION widip_ticket_counts(from_at TIMESTAMPTZ, to_at TIMESTAMPTZ)
RETURNS TABLE (hour TIMESTAMPTZ, category TEXT, outcome TEXT, auto_resolved BOOLEAN, tickets BIGINT) AS $$
    SELECT h.hour, h.category, h.outcome, h.auto_resolved, h.tickets::bigint FROM supervision_ticket_hours h
    WHERE h.hour >= widip_first_hour(from_at) AND h.hour < date_trunc('hour', to_at, 'UTC')
    UNION ALL
    SELECT date_trunc('hour', l.created_at, 'UTC'), widip_ticket_category(l.category), widip_ticket_outcome(l.status), l.auto_resolved IS TRUE, 1
    FROM widip_agent_logs l WHERE l.created_at >= from_at AND l.created_at < LEAST(widip_first_hour(from_at), to_at)
    UNION ALL
    SELECT date_trunc('hour', l.created_at, 'UTC'), widip_ticket_category(l.category), widip_ticket_outcome(l.status), l.auto_resolved IS TRUE, 1
    FROM widip_agent_logs l
    WHERE l.created_at >= GREATEST(date_trunc('hour', to_at, 'UTC'), widip_first_hour(from_at), from_at) AND l.created_at < to_at
$$ LANGUAGE sql STABLE;

CREATE FUNCTION widip_incident_counts(from_at TIMESTAMPTZ, to_at TIMESTAMPTZ)
RETURNS TABLE (hour TIMESTAMPTZ, responsibility TEXT, state TEXT, alerts BIGINT) AS $$
    SELECT h.hour, h.responsibility, h.state, h.alerts::bigint FROM supervision_incident_hours h
    WHERE h.hour >= widip_first_hour(from_at) AND h.hour < date_trunc('hour', to_at, 'UTC')
    UNION ALL
    SELECT date_trunc('hour', i.detected_at, 'UTC'), widip_responsibility(i.responsibility), widip_incident_state(i.status, i.resolved_at), 1
    FROM incident_logs i WHERE i.detected_at >= from_at AND i.detected_at < LEAST(widip_first_hour(from_at), to_at)
    UNION ALL
    SELECT date_trunc('hour', i.detected_at, 'UTC'), widip_responsibility(i.responsibility), widip_incident_state(i.status, i.resolved_at), 1
    FROM incident_logs i
    WHERE i.detected_at >= GREATEST(date_trunc('hour', to_at, 'UTC'), widip_first_hour(from_at), from_at) AND i.detected_at < to_at
$$ LANGUAGE sql STABLE;

CREATE FUNCTION widip_approval_counts(from_at TIMESTAMPTZ, to_at TIMESTAMPTZ)
RETURNS TABLE (hour TIMESTAMPTZ, tool TEXT, outcome TEXT, approvals BIGINT) AS $$
    SELECT h.hour, h.tool, h.outcome, h.approvals::bigint FROM supervision_approval_hours h
    WHERE h.hour >= widip_first_hour(from_at) AND h.hour < date_trunc('hour', to_at, 'UTC')
    UNION ALL
    SELECT date_trunc('hour', a.created_at, 'UTC'), a.tool_name, widip_approval_outcome(a.status), 1
    FROM safeguard_approvals a WHERE a.created_at >= from_at AND a.created_at < LEAST(widip_first_hour(from_at), to_at)
    UNION ALL
    SELECT date_trunc('hour', a.created_at, 'UTC'), a.tool_name, widip_approval_outcome(a.status), 1
    FROM safeguard_approvals a
    WHERE a.created_at >= GREATEST(date_trunc('hour', to_at, 'UTC'), widip_first_hour(from_at), from_at) AND a.created_at < to_at
$$ LANGUAGE sql STABLE;

CREATE FUNCTION widip_supervision_hours_truncated() RETURNS trigger AS $$
BEGIN
    IF TG_TABLE_NAME = 'widip_agent_logs' THEN
        DELETE FROM supervision_ticket_hours;
    ELSIF TG_TABLE_NAME = 'incident_logs' THEN
        DELETE FROM supervision_incident_hours;
    ELSE
        DELETE FROM supervision_approval_hours;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER widip_agent_logs_hours_truncated AFTER TRUNCATE ON widip_agent_logs
    FOR EACH STATEMENT EXECUTE FUNCTION widip_supervision_hours_truncated();
CREATE TRIGGER incident_logs_hours_truncated AFTER TRUNCATE ON incident_logs
    FOR EACH STATEMENT EXECUTE FUNCTION widip_supervision_hours_truncated();
CREATE TRIGGER safeguard_approvals_hours_truncated AFTER TRUNCATE ON safeguard_approvals
    FOR EACH STATEMENT EXECUTE FUNCTION widip_supervision_hours_truncated();
