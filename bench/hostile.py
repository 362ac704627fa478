#!/usr/bin/env python3
"""Hostile traffic against a running apimcp (not a CI test): a flood of `initialize` requests
that never close their sessions, and slow clients that never finish their headers. Prints
the server's resident memory before, during and after, and what the server answered.

    apimcp demo --listen 127.0.0.1:8000 &
    bench/hostile.py --pid $! --url http://127.0.0.1:8000/mcp --flood 20000 --slow 2000

`--idle N` first opens N sessions as a client does (`initialize`, then
`notifications/initialized`) and leaves them idle: the resident memory they cost, per session.
"""

import argparse
import http.client
import json
import socket
import threading
import time
from collections import Counter
from urllib.parse import urlparse

INITIALIZE = json.dumps({
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {},
               "clientInfo": {"name": "flood", "version": "1"}},
})
HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def flood(url, count, threads):
    """`count` initialize requests on `threads` keep-alive connections; the statuses."""
    target = urlparse(url)
    statuses = Counter()
    lock = threading.Lock()

    def worker(n):
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        for _ in range(n):
            try:
                conn.request("POST", target.path, INITIALIZE, HEADERS)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                status = "error"
            with lock:
                statuses[status] += 1

    per = count // threads
    pool = [threading.Thread(target=worker, args=(per,)) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return statuses


INITIALIZED = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})


def idle_sessions(url, count, threads):
    """Opens `count` sessions as a client does and leaves them idle; how many opened."""
    target = urlparse(url)
    opened = Counter()
    lock = threading.Lock()

    def worker(n):
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        for _ in range(n):
            conn.request("POST", target.path, INITIALIZE, HEADERS)
            response = conn.getresponse()
            response.read()
            session = response.getheader("mcp-session-id")
            if response.status != 200 or not session:
                with lock:
                    opened[response.status] += 1
                continue
            headers = dict(HEADERS, **{"mcp-session-id": session, "mcp-protocol-version": "2025-06-18"})
            conn.request("POST", target.path, INITIALIZED, headers)
            response = conn.getresponse()
            response.read()
            with lock:
                opened[response.status] += 1

    per = count // threads
    pool = [threading.Thread(target=worker, args=(per,)) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return opened


def slow_clients(url, count, wait):
    """`count` connections that send a request line and part of a header, then wait; how many
    the server still holds open after `wait` seconds."""
    target = urlparse(url)
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect((target.hostname, target.port))
            s.sendall(f"POST {target.path} HTTP/1.1\r\nhost: local".encode())
            sockets.append(s)
        except OSError:
            s.close()
    time.sleep(wait)
    still_open = 0
    for s in sockets:
        s.setblocking(False)
        try:
            still_open += s.recv(1) != b""
        except BlockingIOError:
            still_open += 1
        except OSError:
            pass
        s.close()
    return len(sockets), still_open


def normal_call_ms(url):
    target = urlparse(url)
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    started = time.perf_counter()
    conn.request("GET", "/items/1", headers={"host": "localhost"})
    response = conn.getresponse()
    response.read()
    return response.status, (time.perf_counter() - started) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--url", default="http://127.0.0.1:8000/mcp")
    parser.add_argument("--flood", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--slow", type=int, default=2000)
    parser.add_argument("--slow-wait", type=float, default=12.0)
    parser.add_argument("--idle", type=int, default=0)
    args = parser.parse_args()
    print(f"RSS before: {rss_mb(args.pid):.1f} MB")
    if args.idle:
        # A few sessions first, so the allocator's and the runtime's first growth is not counted.
        idle_sessions(args.url, args.threads * 10, args.threads)
        before = rss_mb(args.pid)
        statuses = idle_sessions(args.url, args.idle, args.threads)
        time.sleep(2)
        after = rss_mb(args.pid)
        per_kb = (after - before) * 1024 / max(1, args.idle)
        print(f"idle sessions: {args.idle} opened ({dict(statuses)}): RSS {before:.1f} -> {after:.1f} MB,"
              f" {per_kb:.1f} KB a session")
    if args.flood:
        started = time.time()
        peak = [0.0]
        done = threading.Event()

        def sample():
            while not done.wait(0.5):
                peak[0] = max(peak[0], rss_mb(args.pid))

        sampler = threading.Thread(target=sample)
        sampler.start()
        statuses = flood(args.url, args.flood, args.threads)
        done.set()
        sampler.join()
        print(f"flood: {args.flood} initialize in {time.time() - started:.1f} s: {dict(statuses)};"
              f" RSS at most {peak[0]:.1f} MB during it")
        print(f"RSS after the flood: {rss_mb(args.pid):.1f} MB; a normal call: {normal_call_ms(args.url)}")
    if args.slow:
        opened, still_open = slow_clients(args.url, args.slow, args.slow_wait)
        print(f"slow clients: {opened} opened, {still_open} still open after {args.slow_wait} s")
        print(f"RSS after the slow clients: {rss_mb(args.pid):.1f} MB; a normal call: {normal_call_ms(args.url)}")


if __name__ == "__main__":
    main()
