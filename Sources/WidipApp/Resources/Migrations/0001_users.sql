-- Users: created on an empty database, or brought up to date over WIDIP's Phase 1 `users` table
-- (plaintext `password` column, integer ids that other tables already reference).
CREATE TABLE IF NOT EXISTS users (
    id SERIAL PRIMARY KEY,
    username VARCHAR(100) NOT NULL,
    password VARCHAR(255) NOT NULL
);

-- PRD 4.3: widen the Phase 1 column so it can hold a bcrypt hash.
ALTER TABLE users ALTER COLUMN password TYPE VARCHAR(255);

ALTER TABLE users ADD COLUMN IF NOT EXISTS role VARCHAR(20) NOT NULL DEFAULT 'tech';
ALTER TABLE users ADD COLUMN IF NOT EXISTS accreditation_level VARCHAR(2);
ALTER TABLE users ADD COLUMN IF NOT EXISTS token_quota INTEGER NOT NULL DEFAULT 30000;
ALTER TABLE users ADD COLUMN IF NOT EXISTS active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ADD COLUMN IF NOT EXISTS last_login_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN IF NOT EXISTS created_at TIMESTAMPTZ NOT NULL DEFAULT NOW();
ALTER TABLE users ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW();

-- Phase 1 may already have some of these columns, nullable: fill the gaps, then hold them to the same rules.
UPDATE users SET role = 'tech' WHERE role IS NULL;
UPDATE users SET token_quota = 30000 WHERE token_quota IS NULL;
UPDATE users SET active = TRUE WHERE active IS NULL;
UPDATE users SET created_at = NOW() WHERE created_at IS NULL;
UPDATE users SET updated_at = NOW() WHERE updated_at IS NULL;
ALTER TABLE users
    ALTER COLUMN role SET NOT NULL,
    ALTER COLUMN token_quota SET NOT NULL, ALTER COLUMN token_quota SET DEFAULT 30000,
    ALTER COLUMN active SET NOT NULL, ALTER COLUMN active SET DEFAULT TRUE,
    ALTER COLUMN created_at SET NOT NULL, ALTER COLUMN created_at SET DEFAULT NOW(),
    ALTER COLUMN updated_at SET NOT NULL, ALTER COLUMN updated_at SET DEFAULT NOW();

-- Phase 1 rows had no accreditation: administrators keep full rights, everyone else starts read-only (N0)
-- until an administrator raises them.
UPDATE users SET accreditation_level = CASE WHEN role = 'admin' THEN 'N4' ELSE 'N0' END
WHERE accreditation_level IS NULL;
ALTER TABLE users ALTER COLUMN accreditation_level SET DEFAULT 'N0';
ALTER TABLE users ALTER COLUMN accreditation_level SET NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_accreditation_level_check
    CHECK (accreditation_level IN ('N0', 'N1', 'N2', 'N3', 'N4'));
ALTER TABLE users ADD CONSTRAINT users_token_quota_check CHECK (token_quota >= 0);

-- Names are unique whatever their case. Phase 1 names differing only by case must be renamed by hand first:
-- say which, rather than fail on an index error.
DO $$
DECLARE
    duplicates TEXT;
BEGIN
    SELECT string_agg(names, ' ; ') INTO duplicates
    FROM (SELECT string_agg(username, ', ' ORDER BY id) AS names FROM users GROUP BY lower(username) HAVING count(*) > 1) AS groups;
    IF duplicates IS NOT NULL THEN
        RAISE EXCEPTION 'Identifiants en double (à la casse près) à renommer avant la migration : %', duplicates;
    END IF;
END $$;
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));

CREATE TABLE sessions (
    jti UUID PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    issued_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    ip_address VARCHAR(45),
    user_agent TEXT
);
CREATE INDEX sessions_user_active_idx ON sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- PRD 3.4.2, as specified.
CREATE TABLE user_audit_log (
    id SERIAL PRIMARY KEY,
    user_id INT REFERENCES users(id),
    action VARCHAR(100) NOT NULL,
    target_type VARCHAR(50),
    target_id VARCHAR(100),
    details JSONB,
    ip_address VARCHAR(45),
    user_agent TEXT,
    created_at TIMESTAMP DEFAULT NOW()
);
CREATE INDEX idx_audit_user ON user_audit_log(user_id);
CREATE INDEX idx_audit_action ON user_audit_log(action);
CREATE INDEX idx_audit_created ON user_audit_log(created_at DESC);

-- Fixed one-minute windows shared by every instance (login attempts, per-user request budget).
CREATE UNLOGGED TABLE rate_limit_counters (
    bucket TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
