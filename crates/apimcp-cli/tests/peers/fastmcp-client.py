"""FastMCP 4's client as a client of an apimcp server over Streamable HTTP (the same steps and
output as py-client.py, so the tests read both alike).

Usage: fastmcp-client.py URL MODE STEP...
  MODE  auto (2026-07-28 through server/discover, FastMCP's default) | legacy (an initialize session)
  STEP  list (FastMCP follows every page itself) | call:NAME:JSON_ARGUMENTS
Prints one JSON line per step: {"step": ..., "ok": bool, ...}; the first line says what was negotiated.
Exit 0 when every step ran (a tool answering isError still counts as run: the line says so)."""
import asyncio, json, sys

from fastmcp import Client


def emit(**fields):
    print(json.dumps(fields, default=str), flush=True)


def text_of(result):
    return "".join(getattr(block, "text", "") for block in result.content)


async def main(url, mode, steps):
    async with Client(url, mode=mode) as client:
        emit(step="connect", ok=True, protocol=client.protocol_version)
        for step in steps:
            if step == "list":
                tools = await client.list_tools()
                emit(step="list", ok=True, names=[t.name for t in tools])
            elif step.startswith("call:"):
                _, name, arguments = step.split(":", 2)
                result = await client.call_tool(name, json.loads(arguments), raise_on_error=False)
                emit(step="call", ok=True, tool=name, is_error=bool(result.is_error),
                     text=text_of(result), structured=result.structured_content)
            else:
                raise SystemExit(f"unknown step {step!r}")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    try:
        asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
    except Exception as error:  # noqa: BLE001 -- the test reads the failure from this line
        emit(step="error", ok=False, error=repr(error)[:2000])
        sys.exit(1)
