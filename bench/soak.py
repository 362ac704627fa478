#!/usr/bin/env python3
"""A soak of mixed load against a running apimcp (not a CI test; bench/soak.sh starts one).

For --duration seconds, at once: normal `tools/call`s in long-lived sessions (timed), session
churn (initialize, call, DELETE), a flood of `initialize`s never closed, slow clients that never
finish their headers, and bad input (garbage, wrong media types, deep nesting). Every few
seconds it samples the server's resident memory and prints one line of the curve; at the end,
what each kind of traffic was answered, the latency of the normal calls, and two verdicts:
memory plateaus (the last third's peak within 10% of the middle third's) and every answer is
one its kind expects.

    bench/soak.py --pid PID --url http://127.0.0.1:8000/mcp --duration 600
"""

import argparse
import http.client
import json
import random
import socket
import threading
import time
from collections import Counter
from urllib.parse import urlparse

HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def rpc(id_, method, params=None):
    message = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        message["params"] = params
    return json.dumps(message)


INITIALIZE = rpc(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                   "clientInfo": {"name": "soak", "version": "1"}})
INITIALIZED = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})
CALL = rpc(2, "tools/call", {"name": "get_item", "arguments": {"item_id": 1}})

# What each kind of traffic may be answered; anything else is an unexpected error.
EXPECTED = {
    "call": {200},
    "churn": {200, 202, 204, 503},   # 503: the session cap, while the flood holds it
    "flood": {200, 503},
    "bad": {400, 406, 413, 415},
}


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = {kind: Counter() for kind in EXPECTED}
        self.latencies = []          # seconds, of the normal calls
        self.window = []             # the same, since the last sample

    def count(self, kind, status):
        with self.lock:
            self.statuses[kind][status] += 1

    def latency(self, seconds):
        with self.lock:
            self.latencies.append(seconds)
            self.window.append(seconds)

    def take_window(self):
        with self.lock:
            window, self.window = self.window, []
        return window


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


class Connection:
    """One keep-alive connection that reconnects after an error."""

    def __init__(self, url):
        self.target = urlparse(url)
        self.conn = None

    def send(self, method, body=None, headers=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.target.hostname, self.target.port, timeout=30)
        try:
            self.conn.request(method, self.target.path, body, headers or HEADERS)
            response = self.conn.getresponse()
            response.read()
            return response.status, response.getheader("mcp-session-id")
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            return "error", None


def open_session(conn):
    status, session = conn.send("POST", INITIALIZE)
    if status != 200 or not session:
        return status, None
    conn.send("POST", INITIALIZED, dict(HEADERS, **{"mcp-session-id": session}))
    return status, session


def caller(url, tally, stop):
    conn = Connection(url)
    session = None
    while not stop.is_set():
        if session is None:
            status, session = open_session(conn)
            if session is None:
                tally.count("call", status)
                time.sleep(0.5)
                continue
        started = time.perf_counter()
        status, _ = conn.send("POST", CALL, dict(HEADERS, **{"mcp-session-id": session}))
        tally.latency(time.perf_counter() - started)
        tally.count("call", status)
        if status == 404:
            session = None


def churn(url, tally, stop):
    conn = Connection(url)
    while not stop.is_set():
        status, session = open_session(conn)
        tally.count("churn", status)
        if session is None:
            time.sleep(0.2)
            continue
        headers = dict(HEADERS, **{"mcp-session-id": session})
        tally.count("churn", conn.send("POST", CALL, headers)[0])
        tally.count("churn", conn.send("DELETE", None, headers)[0])


def flood(url, tally, stop, burst, pause):
    while not stop.is_set():
        # A new connection per burst: one kept across the pause would sit idle as long as the
        # server's keep-alive timeout (10 s) and race its closing.
        conn = Connection(url)
        for _ in range(burst):
            if stop.is_set():
                return
            tally.count("flood", conn.send("POST", INITIALIZE)[0])
        stop.wait(pause)


def slow_clients(url, tally, stop, count):
    """Keeps `count` connections that send a request line and never finish their headers."""
    target = urlparse(url)
    held = []
    while not stop.is_set():
        held = [s for s in held if alive(s)]
        while len(held) < count and not stop.is_set():
            try:
                s = socket.create_connection((target.hostname, target.port), timeout=5)
                s.sendall(f"POST {target.path} HTTP/1.1\r\nHost: {target.hostname}\r\n".encode())
                s.setblocking(False)
                held.append(s)
            except OSError:
                break
        stop.wait(1)
    for s in held:
        s.close()


def alive(s):
    try:
        if s.recv(1) == b"":
            s.close()
            return False
        return True
    except BlockingIOError:
        return True
    except OSError:
        s.close()
        return False


def bad_input(url, tally, stop):
    conn = Connection(url)
    rng = random.Random(7)
    bodies = [
        lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))),
        lambda: b"",
        lambda: b"[" * 100000,
        lambda: b'{"jsonrpc":"2.0","id":{"x":1},"method":"tools/list"}',
        lambda: b"\xff\xfe not utf-8",
    ]
    while not stop.is_set():
        body = rng.choice(bodies)()
        headers = dict(HEADERS)
        if rng.random() < 0.2:
            headers["content-type"] = "text/plain"
        elif rng.random() < 0.2:
            headers["accept"] = "text/html"
        tally.count("bad", conn.send("POST", body, headers)[0])
        time.sleep(0.01)


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pid", type=int, required=True, help="the server's process id (for its memory)")
    p.add_argument("--url", default="http://127.0.0.1:8000/mcp")
    p.add_argument("--duration", type=float, default=600, help="seconds (default 600)")
    p.add_argument("--sample", type=float, default=5, help="seconds between memory samples")
    p.add_argument("--callers", type=int, default=2, help="threads of timed normal calls")
    p.add_argument("--flood-burst", type=int, default=500, help="initialize requests per burst")
    p.add_argument("--flood-pause", type=float, default=10, help="seconds between bursts")
    p.add_argument("--slow", type=int, default=200, help="slow connections held open")
    a = p.parse_args()

    tally, stop = Tally(), threading.Event()
    workers = [threading.Thread(target=caller, args=(a.url, tally, stop)) for _ in range(a.callers)]
    workers += [
        threading.Thread(target=churn, args=(a.url, tally, stop)),
        threading.Thread(target=flood, args=(a.url, tally, stop, a.flood_burst, a.flood_pause)),
        threading.Thread(target=slow_clients, args=(a.url, tally, stop, a.slow)),
        threading.Thread(target=bad_input, args=(a.url, tally, stop)),
    ]
    samples = [(0.0, rss_mb(a.pid))]
    print(f"{'t s':>6} {'RSS MB':>8} {'calls':>7} {'p50 ms':>7} {'p99 ms':>7}")
    print(f"{0:6.0f} {samples[0][1]:8.1f}")
    started = time.monotonic()
    for w in workers:
        w.start()
    while (elapsed := time.monotonic() - started) < a.duration:
        time.sleep(min(a.sample, a.duration - elapsed))
        window = tally.take_window()
        sample = (time.monotonic() - started, rss_mb(a.pid))
        samples.append(sample)
        print(f"{sample[0]:6.0f} {sample[1]:8.1f} {len(window):7d} "
              f"{percentile(window, 0.5) * 1000:7.2f} {percentile(window, 0.99) * 1000:7.2f}", flush=True)
    stop.set()
    for w in workers:
        w.join(timeout=35)

    print("\nanswers by kind of traffic (status: count):")
    unexpected = 0
    for kind, statuses in tally.statuses.items():
        wrong = sum(n for s, n in statuses.items() if s not in EXPECTED[kind])
        unexpected += wrong
        shown = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items(), key=str))
        print(f"  {kind:6} {shown}" + (f"   UNEXPECTED: {wrong}" if wrong else ""))
    lat = tally.latencies
    print(f"\nnormal calls: {len(lat)}, p50 {percentile(lat, 0.5) * 1000:.2f} ms, "
          f"p99 {percentile(lat, 0.99) * 1000:.2f} ms, max {max(lat, default=0) * 1000:.1f} ms")
    rss = [r for _, r in samples]
    third = max(1, len(rss) // 3)
    middle, last = max(rss[third:2 * third] or rss), max(rss[2 * third:] or rss)
    plateau = last <= middle * 1.10
    print(f"memory: start {rss[0]:.1f} MB, peak {max(rss):.1f} MB, end {rss[-1]:.1f} MB; "
          f"middle third peak {middle:.1f}, last third peak {last:.1f}: "
          f"{'plateaus' if plateau else 'STILL GROWING'}")
    print(f"unexpected answers: {unexpected}")
    return 0 if plateau and unexpected == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
