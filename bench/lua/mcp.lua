-- wrk: one JSON-RPC POST per request. Env: BODY (the JSON-RPC message), SESSIONS (comma list
-- of Mcp-Session-Id values, rotated per request; empty for stateless), PROTOCOL (default
-- 2025-06-18), METHOD and NAME (the Mcp-Method and Mcp-Name headers 2026-07-28 asks for).
local body = os.getenv("BODY")
local sessions = {}
for s in string.gmatch(os.getenv("SESSIONS") or "", "[^,]+") do
  sessions[#sessions + 1] = s
end
local counter = 0
local function env(name, default)
  local value = os.getenv(name)
  if value == nil or value == "" then return default end
  return value
end
local base = {
  ["Content-Type"] = "application/json",
  ["Accept"] = "application/json, text/event-stream",
  ["MCP-Protocol-Version"] = env("PROTOCOL", "2025-06-18"),
  ["Mcp-Method"] = env("METHOD", nil),
  ["Mcp-Name"] = env("NAME", nil),
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
