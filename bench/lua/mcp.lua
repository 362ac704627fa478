-- wrk: one JSON-RPC POST per request. Env: BODY (the JSON-RPC message), SESSIONS (comma list
-- of Mcp-Session-Id values, rotated per request; empty for stateless), PROTOCOL.
local body = os.getenv("BODY")
local sessions = {}
for s in string.gmatch(os.getenv("SESSIONS") or "", "[^,]+") do
  sessions[#sessions + 1] = s
end
local counter = 0
local base = {
  ["Content-Type"] = "application/json",
  ["Accept"] = "application/json, text/event-stream",
  ["MCP-Protocol-Version"] = os.getenv("PROTOCOL") or "2025-06-18",
}

function setup(thread)
  thread:set("offset", math.random(0, 1000))
end

request = function()
  counter = counter + 1
  local headers = {}
  for k, v in pairs(base) do headers[k] = v end
  if #sessions > 0 then
    headers["Mcp-Session-Id"] = sessions[((counter + (offset or 0)) % #sessions) + 1]
  end
  return wrk.format("POST", nil, headers, body)
end
