// A TypeScript-SDK client over stdio: starts COMMAND with ARGS and talks MCP on its stdin/stdout.
// Usage: node stdio-client.mjs TOOL ARGS_JSON COMMAND [ARG...]   → prints {"tools":[names],"result":{...}}
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [tool, args, command, ...commandArgs] = process.argv.slice(2);
const client = new Client({ name: "apimcp-stdio-test", version: "1.0.0" });
await client.connect(new StdioClientTransport({ command, args: commandArgs, stderr: "inherit" }));
const { tools } = await client.listTools();
const result = await client.callTool({ name: tool, arguments: JSON.parse(args) });
console.log(JSON.stringify({ tools: tools.map((t) => t.name), result }));
await client.close();
