-- Every MCP tool call the platform made, for the tools page (calls and success rate per tool) and the PRD's
-- "MCP calls > 95 % successful". Who called what with which arguments is in user_audit_log for L2 and above.
CREATE TABLE mcp_tool_calls (
    id BIGSERIAL PRIMARY KEY,
    tool VARCHAR(200) NOT NULL,
    level SMALLINT NOT NULL CHECK (level BETWEEN 0 AND 4),
    user_id INT REFERENCES users(id),
    caller VARCHAR(120) NOT NULL,
    outcome VARCHAR(20) NOT NULL
        CHECK (outcome IN ('success', 'tool_error', 'timeout', 'unreachable', 'protocol_error', 'cancelled')),
    duration_ms DOUBLE PRECISION NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX mcp_tool_calls_tool_idx ON mcp_tool_calls (tool, created_at DESC);
CREATE INDEX mcp_tool_calls_created_idx ON mcp_tool_calls (created_at);
