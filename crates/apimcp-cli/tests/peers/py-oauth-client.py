"""An OAuth client of the Python world against an apimcp server that asks for a token: the
official Python SDK's `OAuthClientProvider` (sdk) or FastMCP 4's `OAuth` (fastmcp), each doing
its own discovery, registration, PKCE, code exchange and refresh. Only the person's browser is
scripted, by the test: this script prints the authorization URL and reads back the URL the
browser arrived at (the client's redirect URI with the code). The SDK is handed that URL; for
FastMCP it is opened against FastMCP's own callback server, as a browser would.

Usage: py-oauth-client.py sdk|fastmcp URL TOOL JSON_ARGUMENTS
Prints JSON lines: {"step": "authorize", "url": ...}, then {"step": "call", ...} and
{"step": "refresh", "refreshed": bool, "ok": bool} (a refresh is forced by expiring the token),
or {"step": "error", ...} with exit code 1."""
import asyncio, json, sys, time, webbrowser
from urllib.parse import parse_qs, urlparse

import httpx2


def emit(**fields):
    print(json.dumps(fields, default=str), flush=True)


async def browser_arrival():
    """The URL the person's browser reached, given by the test on stdin."""
    line = await asyncio.to_thread(sys.stdin.readline)
    if not line.strip():
        raise RuntimeError("the test gave no callback URL")
    return line.strip()


def sdk_client(url):
    from mcp import Client
    from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider, TokenStorage
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.auth import OAuthClientMetadata

    class Memory(TokenStorage):
        tokens = client_info = None

        async def get_tokens(self):
            return self.tokens

        async def set_tokens(self, tokens):
            self.tokens = tokens

        async def get_client_info(self):
            return self.client_info

        async def set_client_info(self, client_info):
            self.client_info = client_info

    async def redirect(authorization_url):
        emit(step="authorize", url=authorization_url)

    async def callback():
        query = parse_qs(urlparse(await browser_arrival()).query)
        first = lambda name: query.get(name, [None])[0]  # noqa: E731
        if first("error"):
            raise RuntimeError(f"authorization error {first('error')}: {first('error_description')}")
        return AuthorizationCodeResult(code=first("code"), state=first("state"), iss=first("iss"))

    metadata = OAuthClientMetadata(
        client_name="apimcp Python SDK test",
        redirect_uris=["http://127.0.0.1:8798/callback"],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    )
    auth = OAuthClientProvider(url, metadata, Memory(), redirect_handler=redirect, callback_handler=callback)
    client = Client(streamable_http_client(url, http_client=httpx2.AsyncClient(auth=auth)))
    return client, auth


def fastmcp_client(url):
    from fastmcp import Client
    from fastmcp.client.auth import OAuth

    def open_in_browser(authorization_url, *_args, **_kwargs):
        emit(step="authorize", url=authorization_url)

        async def arrive():
            arrival = await browser_arrival()
            # FastMCP starts its callback server after it opens the browser: a scripted person
            # can come back before it listens, which no real one does.
            async with httpx2.AsyncClient() as browser:
                for _ in range(100):
                    try:
                        await browser.get(arrival)
                        return
                    except httpx2.ConnectError:
                        await asyncio.sleep(0.05)
                await browser.get(arrival)

        asyncio.get_running_loop().create_task(arrive())
        return True

    webbrowser.open = open_in_browser
    auth = OAuth(url, client_name="apimcp FastMCP test", callback_host="127.0.0.1", callback_timeout=45)
    return Client(url, auth=auth), auth


async def main(kind, url, tool, arguments):
    client, auth = (sdk_client if kind == "sdk" else fastmcp_client)(url)
    async with client:
        result = await client.call_tool(tool, json.loads(arguments))
        emit(step="call", ok=not result.is_error, structured=result.structured_content)
        tokens = auth.context.current_tokens
        if tokens is None or not tokens.refresh_token:
            emit(step="refresh", refreshed=False, ok=False, why="no refresh token")
            return
        before = tokens.access_token
        auth.context.token_expiry_time = time.time() - 1  # expired: the next request refreshes first
        await client.list_tools()
        after = auth.context.current_tokens
        emit(step="refresh", refreshed=after is not None and after.access_token != before, ok=True)


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] not in ("sdk", "fastmcp"):
        raise SystemExit(__doc__)
    try:
        asyncio.run(main(*sys.argv[1:]))
    except BaseException as error:  # noqa: BLE001 -- the test reads the failure from this line
        emit(step="error", ok=False, error=repr(error)[:2000])
        sys.exit(1)
