-- Refused calls (level above the caller's rights, missing approval) are kept too, so that the tools page can show
-- them beside the success rate, which they are not part of: a refusal says nothing of the MCP server.
ALTER TABLE mcp_tool_calls DROP CONSTRAINT mcp_tool_calls_outcome_check;
ALTER TABLE mcp_tool_calls ADD CONSTRAINT mcp_tool_calls_outcome_check
    CHECK (outcome IN ('success', 'tool_error', 'refused', 'timeout', 'unreachable', 'protocol_error', 'cancelled'));
