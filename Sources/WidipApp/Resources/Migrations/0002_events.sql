-- The real-time bus: durable event rows, announced by NOTIFY once their transaction commits.
--
-- Ids follow commit order: a BEFORE INSERT trigger takes a transaction-scoped advisory lock and only then draws the
-- id, so an event-writing transaction waits until the previous one has committed or rolled back. A reader can then
-- keep a single cursor ("everything after id N") without ever skipping a row that committed late with a smaller id.
CREATE SEQUENCE events_id_seq;

CREATE TABLE events (
    id BIGINT PRIMARY KEY,
    channel VARCHAR(50) NOT NULL,
    type VARCHAR(100) NOT NULL,
    data JSONB NOT NULL DEFAULT '{}'::jsonb,
    min_level VARCHAR(2) NOT NULL DEFAULT 'N0' CHECK (min_level IN ('N0', 'N1', 'N2', 'N3', 'N4')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
ALTER SEQUENCE events_id_seq OWNED BY events.id;
CREATE INDEX events_created_idx ON events (created_at);

-- What retention has removed: a client resuming from before this id must reload its data instead.
CREATE TABLE event_retention (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    pruned_through BIGINT NOT NULL DEFAULT 0
);
INSERT INTO event_retention DEFAULT VALUES;

CREATE FUNCTION widip_events_assign_id() RETURNS trigger AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(5749444950455654);  -- "WIDIPEVT": one event writer at a time until commit
    NEW.id := nextval('events_id_seq');
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER events_assign_id BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION widip_events_assign_id();

-- NOTIFY is delivered after commit, and not at all on rollback.
CREATE FUNCTION widip_events_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('widip_events', NEW.id::text);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION widip_events_notify();

-- Every audit row, whoever writes it, is an event for the live audit viewer (super admins only).
CREATE FUNCTION widip_audit_event() RETURNS trigger AS $$
BEGIN
    INSERT INTO events (channel, type, min_level, data) VALUES (
        'audit', 'audit:new_entry', 'N4',
        jsonb_build_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'username', (SELECT username FROM users WHERE id = NEW.user_id),
            'action', NEW.action, 'target_type', NEW.target_type, 'target_id', NEW.target_id, 'details', NEW.details,
            'ip_address', NEW.ip_address, 'created_at', to_char(NEW.created_at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        )
    );
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER user_audit_log_event AFTER INSERT ON user_audit_log
    FOR EACH ROW EXECUTE FUNCTION widip_audit_event();

-- A revoked session (logout, deactivation, password reset) closes its sockets on every instance.
CREATE FUNCTION widip_session_revoked_event() RETURNS trigger AS $$
BEGIN
    INSERT INTO events (channel, type, min_level, data)
    VALUES ('session', 'session:revoked', 'N4', jsonb_build_object('session_id', NEW.jti, 'user_id', NEW.user_id));
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER sessions_revoked_event AFTER UPDATE OF revoked_at ON sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION widip_session_revoked_event();
