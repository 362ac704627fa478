"""The official Python SDK (mcp 2.x, 2026-07-28) through multi-round-trip requests (SEP-2322).

Usage: py-rounds.py URL TOOL
  1. calls TOOL with elicitation and sampling callbacks; the SDK answers each InputRequiredResult
     and sends the call again until it completes;
  2. calls test_input_required_result_request_state by hand, then sends its requestState back
     altered: the server must refuse it with a JSON-RPC error.
Prints one JSON line per step: {"step": ..., "ok": bool, ...}. Exit 0 when both steps ran."""
import asyncio, json, sys

import mcp.types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError


def emit(**fields):
    print(json.dumps(fields, default=str), flush=True)


asked = []


async def on_elicit(context, params):
    asked.append(("elicitation", params.message))
    return types.ElicitResult(action="accept", content={"name": f"answer {len(asked)}"})


async def on_sample(context, params):
    asked.append(("sampling", params.messages[0].content.text))
    return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text="Bonjour"),
                                     model="test-model", stop_reason="endTurn")


async def main(url, tool):
    async with Client(streamable_http_client(url), elicitation_callback=on_elicit,
                      sampling_callback=on_sample) as client:
        result = await client.call_tool(tool, {})
        text = "".join(getattr(block, "text", "") for block in result.content)
        emit(step="rounds", ok=not result.is_error, protocol=client.protocol_version, text=text,
             asked=[kind for kind, _ in asked])

        first = await client.session.call_tool("test_input_required_result_request_state", {},
                                               allow_input_required=True)
        state = getattr(first, "request_state", None)
        key = next(iter(getattr(first, "input_requests", None) or {"confirm": None}))
        answer = {key: {"action": "accept", "content": {"ok": True}}}
        try:
            await client.session.call_tool("test_input_required_result_request_state", {},
                                           input_responses=answer, request_state=f"{state}x")
            emit(step="tampered", ok=True, refused=False)
        except MCPError as error:
            emit(step="tampered", ok=True, refused=True, code=error.error.code, message=error.error.message)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    try:
        asyncio.run(main(sys.argv[1], sys.argv[2]))
    except Exception as error:  # noqa: BLE001 -- the test reads the failure from this line
        emit(step="error", ok=False, error=repr(error)[:2000])
        sys.exit(1)
