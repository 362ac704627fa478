// A TypeScript-SDK client over the legacy HTTP+SSE transport (2024-11-05).
// Usage: node sse-client.mjs SSE_URL TOOL ARGS_JSON   → prints {"tools":[names],"result":{...}}
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";

const [url, tool, args] = process.argv.slice(2);
const client = new Client({ name: "apimcp-sse-test", version: "1.0.0" });
await client.connect(new SSEClientTransport(new URL(url)));
const { tools } = await client.listTools();
const result = await client.callTool({ name: tool, arguments: JSON.parse(args) });
console.log(JSON.stringify({ protocol: client.getServerVersion(), tools: tools.map((t) => t.name), result }));
await client.close();
