#!/usr/bin/env python3
"""Benchmark live board updates: N open SSE streams on one board, M card moves fanned out to all.

    cd /work/main && .venv/bin/python bench/live_stream.py [--subscribers 1000] [--events 50]
        [--workers 0|1|N] [--redis] [--timeout 5] [--pause 0.05] [--connect-concurrency 100]
        [--profile /tmp/live.txt] [--worker-class asyncio|uvloop] [--app webapp.asgi:app] [--no-pin]

What it does, all in a throw-away temp dir (the real instance/ database is never touched):
  1. migrates a fresh SQLite database (flask_migrate.upgrade) and seeds one user who owns a board
     with 2 columns and --cards cards (tests/conftest.py make_user/make_board);
  2. starts the server in its own process group, no access log, open-file limit raised:
     `--workers 1`: Hypercorn, a supervisor and one worker; `--workers 0`: Hypercorn serving
     in-process; `--workers N` (N >= 2): `python -m webapp.serve --workers N`, the production way,
     every worker on a SO_REUSEPORT socket of its own (webapp/serve.py), which needs --redis (the
     script says so and exits 2 otherwise: the in-process broker would keep each move on the worker
     that made it). --redis adds REDIS_URL=redis://127.0.0.1:6379/0 and a unique REDIS_PREFIX
     (RedisBroker), and the script waits until every worker's /healthz/live says it is subscribed.
     With one worker, the server runs on the first CPU this script may use and the script on the
     others (--no-pin: wherever the scheduler puts them). Real subscribers are other machines; here
     the client shares the 2 cores, and unpinned it was found queued on the server's core in about
     1 of 9 moments when both had work, which shows up as a longer, more variable tail. Several
     workers are never pinned (on one CPU they would take turns; on 2 cores they share them with
     the client);
  3. logs in over HTTP (GET /login, csrf_token, POST /login), GETs the board page and reads the
     stream URL (sse-connect) and the CSRF token (<body hx-headers>);
  4. opens --subscribers SSE streams from this one asyncio process, each a bare asyncio protocol
     (a minimal HTTP/1.1 GET, chunked transfer decoding, SSE frames parsed as they arrive).
     connect_s = until every stream got status 200 and its first frame. Joins make "presence"
     events to every open stream (one per join before commit b33aae7, O(N^2) frames; now one per
     moment of joins), so the script then waits until no frame has arrived for 1 s (settle_s;
     it includes that second) before measuring moves. With several workers the kernel spreads
     the connections by a hash of their addresses, nearly evenly: the script reads which worker
     holds each stream (the socket inodes in /proc/<pid>/fd against /proc/net/tcp, matched by
     the client's port), closes the streams a worker holds beyond its share and opens them again
     until each holds n/N, and prints the count per worker ("workers :" line: the counts read
     again just before the moves, then as first spread and how many were reopened);
  5. makes --events card moves one at a time through the app's own endpoint
     (PATCH /boards/<id>/cards/<id>/move, HX-Request + X-CSRFToken, as the board page sends it).
     Latency of (event, subscriber) = time the "board" frame with that move's SSE id reached the
     subscriber's socket (stamped when the event loop hands the bytes to the stream's protocol)
     minus t0, taken just before the PATCH is written. After each move: wait until every stream
     got it (or --timeout: lost), then --pause;
  6. server RSS per stream: VmRSS of the worker(s, summed) before opening streams and after they
     are connected and presence has settled, divided by N;
  7. server CPU per move, split into the PATCH itself (timed in --warmup moves made before any
     stream is open) and the fan-out per stream: fan-out us per stream = (CPU of the server's
     processes during the moves / moves - the PATCH's CPU) / streams, printed for every run (and
     on the last line), and the CPU per move of each worker and of Redis; CPU used by other
     processes (a warning when the machine is busy); with --profile, py-spy samples of the
     worker during connect and moves (one file per worker, FILE.<pid>, when there are several).

The last line is machine-readable:
  subscribers=<n> connect_s=<n> events=<n> p50_ms=<n> p99_ms=<n> max_ms=<n> lost=<n> rss_kb_per_sub=<n>
  workers=<n> fanout_us_per_stream=<n>
Targets: 1000 (one worker) -> p99 <= 50 ms, connect_s <= 2, lost=0; 2000 -> p99 <= 100 ms;
5000 -> p99 <= 300 ms, lost=0; 10000 (`--workers 2 --redis`) -> p99 <= 300 ms, lost=0 (2000 on two
workers: p99 <= 100 ms); <= 30 KB per stream; fan-out us per stream flat as N grows. Exits 1 when the run itself is invalid
(login failed, streams refused, a move not answered 200, streams that never connected, or the
server logged a traceback before it was stopped). Missed targets alone do not fail the run.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import html
import http.cookiejar
import io
import math
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
EMAIL = "bench@corkboard.test"
PASSWORD = "password123"  # tests/conftest.py make_user's password
USER_AGENT = "corkboard-bench/1.0"  # Flask-Login's session protection hashes the User-Agent
REDIS_URL = "redis://127.0.0.1:6379/0"
COLUMNS = ("To do", "Done")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000, help="open SSE streams (1000)")
    parser.add_argument("--events", type=int, default=50, help="card moves to fan out (50)")
    parser.add_argument("--cards", type=int, default=20, help="cards on the board (20)")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes: 1 = Hypercorn's supervisor + one worker (as hypercorn.toml), "
                             "0 = served in-process, N >= 2 = `python -m webapp.serve --workers N` (each worker "
                             "on a SO_REUSEPORT socket of its own; needs --redis) (1)")
    parser.add_argument("--worker-class", default="asyncio", choices=("asyncio", "uvloop"),
                        help="Hypercorn --worker-class (asyncio, as hypercorn.toml; uvloop needs the uvloop package)")
    parser.add_argument("--app", default="webapp.asgi:app",
                        help="the ASGI app Hypercorn serves (webapp.asgi:app; another module to try a variant)")
    parser.add_argument("--redis", action="store_true", help=f"use the Redis broker ({REDIS_URL})")
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="seconds a move may take to reach every stream before the rest count as lost (5)")
    parser.add_argument("--warmup", type=int, default=30,
                        help="moves made before any stream is open, to warm up and time the PATCH alone (30: "
                             "CPU time is counted in 10 ms ticks)")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between moves (0.05)")
    parser.add_argument("--connect-concurrency", type=int, default=100,
                        help="streams being opened at once (100; Hypercorn's listen backlog is 100)")
    parser.add_argument("--connect-timeout", type=float, default=None,
                        help="seconds for every stream to connect (default 60 + N^2/25000: 100 s at "
                             "1000, 1060 s at 5000, enough even for one presence event per join)")
    parser.add_argument("--settle-timeout", type=float, default=None,
                        help="seconds for presence to settle after connecting (same default)")
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="let the scheduler place server and client anywhere (default: the server on "
                             "CPU 0, this client on the others)")
    parser.add_argument("--profile", metavar="FILE",
                        help="sample the serving process with py-spy (pip install py-spy) during the moves, "
                             "write collapsed stacks to FILE and print where the server's time went")
    args = parser.parse_args(argv)
    if args.subscribers < 1 or args.events < 1 or args.cards < 2:
        parser.error("--subscribers and --events must be >= 1, --cards >= 2")
    if args.workers < 0:
        parser.error("--workers must be >= 0")
    if args.workers > 1 and not args.redis:
        parser.error(f"--workers {args.workers} needs --redis: with the in-process broker a move made on one "
                     "worker never reaches the streams held by the others")
    if args.workers > 1 and (args.app != "webapp.asgi:app" or args.worker_class != "asyncio"):
        parser.error("--app and --worker-class apply to one Hypercorn process only (--workers 0 or 1); "
                     "webapp.serve serves webapp.asgi:app on asyncio workers")
    cpus = sorted(os.sched_getaffinity(0))
    # Several workers share the CPUs with each other and with this client: pinning them all to one
    # CPU would serialize them, so they go wherever the scheduler puts them.
    args.pin = ({cpus[0]}, set(cpus[1:])) if args.pin and len(cpus) >= 2 and args.workers <= 1 else None
    storm = 60 + args.subscribers ** 2 / 25000
    args.connect_timeout = args.connect_timeout or storm
    args.settle_timeout = args.settle_timeout or storm
    return args


# --------------------------------------------------------------------------- setup

def raise_nofile(needed: int = 0) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if needed and hard != resource.RLIM_INFINITY and hard < needed:
        raise RuntimeError(f"open-file hard limit {hard} < {needed} needed; raise `ulimit -Hn`")
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def describe_cpus(cpus: set[int]) -> str:
    return ",".join(str(cpu) for cpu in sorted(cpus))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def seed(database_url: str, secret_key: str, cards: int) -> tuple[int, list[int], list[int]]:
    """Migrate, then one user owning a board with 2 columns; returns board, column and card ids."""
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade

    from tests.conftest import make_board, make_user
    from webapp import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secret_key})
    with app.app_context(), contextlib.redirect_stderr(io.StringIO()):  # alembic's INFO lines
        upgrade()
        first = (cards + 1) // 2
        board = make_board(make_user("Bench User", EMAIL), "Live bench", columns={
            COLUMNS[0]: [f"Card {i + 1}" for i in range(first)],
            COLUMNS[1]: [f"Card {i + 1}" for i in range(first, cards)],
        })
        columns = [column.id for column in board.columns]
        card_ids = [card.id for column in board.columns for card in column.cards]
        return board.id, columns, card_ids


# --------------------------------------------------------------------------- server

def start_server(env: dict, port: int, args, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "wb")
    # No -c hypercorn.toml: it turns the access log on. Hypercorn's default is no access log.
    if args.workers > 1:  # the production way: each worker on a socket of its own (webapp/serve.py)
        cmd = [str(VENV_BIN / "python"), "-m", "webapp.serve", "--workers", str(args.workers),
               "--bind", f"{HOST}:{port}"]
    else:
        cmd = [str(VENV_BIN / "hypercorn"), "--workers", str(args.workers), "--worker-class", args.worker_class,
               "--bind", f"{HOST}:{port}", "--graceful-timeout", "2", "--error-logfile", "-", args.app]
    def prepare():
        raise_nofile()
        if args.pin:
            os.sched_setaffinity(0, args.pin[0])

    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, preexec_fn=prepare)
    if args.pin:
        os.sched_setaffinity(0, args.pin[1])
    log.close()
    return proc


def wait_healthy(proc: subprocess.Popen, port: int, log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Hypercorn exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"Hypercorn did not answer /healthz in {timeout:.0f}s:\n{log_path.read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM the group, then SIGKILL it: a graceful shutdown with thousands of streams
    would announce every leave to every remaining stream (O(N^2) again)."""
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):  # the worker may outlive the supervisor
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def proc_stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()  # after the name: state, ppid, pgrp, ...


def worker_pids(proc: subprocess.Popen, workers: int, timeout: float = 20) -> list[int]:
    """The processes serving requests: Hypercorn itself (-w 0) or its spawned worker children."""
    if workers == 0:
        return [proc.pid]
    deadline = time.monotonic() + timeout
    found: list[int] = []
    while time.monotonic() < deadline:
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if int(proc_stat(int(entry))[1]) != proc.pid:
                    continue
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read()
            except (OSError, IndexError):
                continue
            if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                found.append(int(entry))
        if len(found) >= workers:
            return sorted(found)
        time.sleep(0.1)
    raise RuntimeError(f"{len(found)} of {workers} workers found under pid {proc.pid}")


def wait_workers_live(port: int, workers: int, timeout: float = 30) -> None:
    """Every worker's broker is subscribed (GET /healthz/live answers 200): the kernel spreads
    fresh connections over the workers, so many answers in a row mean all of them."""
    deadline = time.monotonic() + timeout
    in_a_row = 0
    while in_a_row < 10 * workers:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz/live", timeout=1) as response:
                in_a_row = in_a_row + 1 if response.status == 200 else 0
        except OSError:
            in_a_row = 0
            if time.monotonic() > deadline:
                raise RuntimeError(f"the workers' live updates did not come up in {timeout:.0f}s") from None
            time.sleep(0.1)


def socket_owners(pids: list[int], port: int) -> dict[int, int]:
    """Which worker holds each established connection to `port`: {client's port: worker pid},
    from the socket inodes of each worker's open files and the kernel's TCP tables."""
    inode_owner: dict[str, int] = {}
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        with contextlib.suppress(OSError):
            for fd in os.listdir(fd_dir):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"{fd_dir}/{fd}")
                    if target.startswith("socket:["):
                        inode_owner[target[8:-1]] = pid
    owners: dict[int, int] = {}
    local = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            next(f, None)
            for line in f:
                fields = line.split()
                # sl local_address rem_address st ... inode (the 10th field); 01 = ESTABLISHED
                if fields[3] == "01" and fields[1].endswith(local) and fields[9] in inode_owner:
                    owners[int(fields[2].rsplit(":", 1)[1], 16)] = inode_owner[fields[9]]
    return owners


def rss_kb(pids: list[int]) -> int:
    """VmRSS of the workers, summed."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
    return total


def pid_cpu(pid: int) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    try:
        fields = proc_stat(pid)
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / tick


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) of the live processes of a process group."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = proc_stat(int(entry))
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def named_cpu(name: str) -> float:
    """CPU seconds of the processes called `name` (redis-server, counted apart from "others")."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                if f.read().strip() != name:
                    continue
            fields = proc_stat(int(entry))
        except (OSError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs spent busy since boot (/proc/stat), to spot other load on the machine."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    guest = sum(fields[8:10]) if len(fields) > 9 else 0
    return (sum(fields) - idle - guest) / os.sysconf("SC_CLK_TCK")


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """Where the CPUs went during one phase: the server group (and each worker), this client,
    Redis, the rest."""

    def __init__(self, pgid: int, redis: bool, workers: list[int] = ()):
        self.pgid, self.redis, self.workers = pgid, redis, list(workers)
        self.start = self._sample()

    def _sample(self):
        return (time.monotonic(), group_cpu(self.pgid), self_cpu(),
                named_cpu("redis-server") if self.redis else 0.0, machine_busy_seconds(),
                *(pid_cpu(pid) for pid in self.workers))

    def stop(self) -> dict:
        end = self._sample()
        wall, server, client, redis, busy, *workers = (b - a for a, b in zip(self.start, end))
        return {"wall": wall, "server": server, "client": client, "redis": redis,
                "other": max(0.0, busy - server - client - redis), "workers": workers}


def describe_cpu(name: str, cpu: dict) -> str:
    wall = max(cpu["wall"], 1e-9)
    redis = f", redis {cpu['redis'] / wall:.2f}" if cpu["redis"] else ""
    return (f"{name}: CPUs used over {cpu['wall']:.1f}s: server {cpu['server'] / wall:.2f}, "
            f"client {cpu['client'] / wall:.2f}{redis}, rest of the machine {cpu['other'] / wall:.2f} "
            f"of {os.cpu_count()}")


# --------------------------------------------------------------------------- HTTP (setup)

class Client:
    """Log in and read the board page over plain HTTP (urllib, before the streams open)."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.addheaders = [("User-Agent", USER_AGENT)]

    def request(self, path: str, fields: dict | None = None):
        data = urllib.parse.urlencode(fields).encode() if fields is not None else None
        with self.opener.open(self.base + path, data=data, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode()

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def log_in(client: Client, board_id: int) -> tuple[str, str]:
    """Returns the stream path (from sse-connect) and the page's CSRF token."""
    _, _, page = client.request("/login")
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    if not match:
        raise RuntimeError("GET /login: no csrf_token hidden input found")
    status, final_url, _ = client.request("/login", {"csrf_token": match.group(1), "email": EMAIL,
                                                     "password": PASSWORD, "next": ""})
    if "/login" in urllib.parse.urlsplit(final_url).path:
        raise RuntimeError(f"POST /login did not log in (ended at {final_url}, status {status})")
    status, final_url, page = client.request(f"/boards/{board_id}")
    if status != 200 or not final_url.endswith(f"/boards/{board_id}"):
        raise RuntimeError(f"GET /boards/{board_id}: status {status}, ended at {final_url}")
    stream = re.search(r'sse-connect="([^"]+)"', page)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page)
    if not stream or not token:
        raise RuntimeError("the board page has no sse-connect attribute or no X-CSRFToken header")
    return html.unescape(stream.group(1)), token.group(1)


# --------------------------------------------------------------------------- SSE client

class Run:
    """State shared by every subscriber and the driver of the moves."""

    def __init__(self, n: int, events: int):
        self.n = n
        self.connected = 0
        self.connect_done_at: float | None = None
        self.failures: list[str] = []
        self.current = -1  # the move in flight
        self.t0 = [0.0] * events
        self.move_id: list[int | None] = [None] * events  # SSE id of each move's "board" event
        self.id_to_move: dict[int, int] = {}
        self.open = [False] * events  # still collecting arrivals for this move
        self.count = [0] * events
        self.latency: list[list[float]] = [[] for _ in range(events)]
        self.done = [asyncio.Event() for _ in range(events)]
        self.unexpected: list[str] = []
        self.late = 0
        self.frames = 0
        self.presence = 0
        self.last_frame_at = 0.0


FRAME_END = re.compile(rb"\n\n")  # a regex finds it ~3x faster than bytes.find in 7 KB of HTML lines


def sse_head(text: bytes, start: int, end: int) -> tuple[bytes | None, bytes | None, bytes | None]:
    """The id, event name and first data value of the SSE frame text[start:end] (the text
    between two blank lines), from its lines up to the first data line; comments and other
    fields are skipped.

    Only the head is read: the server writes `id:` and `event:` before the data (webapp/live.py
    Event.frame), and a board event's data is ~7 KB of HTML that scanning would cost more than the
    server spends writing the frame. (Were the server to move the id after the data, its frames
    would read as comments and the moves would count as lost: a loud failure, not a false pass.)"""
    event_id = name = None
    while start < end:
        line_end = text.find(b"\n", start, end)
        if line_end < 0:
            line_end = end
        field, _, value = text[start:line_end].partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if field == b"data":
            return event_id, name, value
        if field == b"id":
            event_id = value
        elif field == b"event":
            name = value
        start = line_end + 1
    return event_id, name, None


class Subscriber(asyncio.Protocol):
    """One SSE stream, read by the event loop's own callback (`data_received`): no StreamReader
    and no task per stream. An arrival is stamped the moment the loop hands over the bytes.

    The client shares the 2 CPUs with the server, and every microsecond it spends per frame
    delays the stamps of the streams it has not read yet. With a StreamReader and a task per
    stream it cost ~36 us of CPU a frame, more than the server's ~26 us to write one, so the last
    arrivals measured the client. As a bare protocol reading only frame heads it costs ~21 us."""

    def __init__(self, index: int, run: Run, request: bytes):
        self.index = index
        self.run = run
        self.request = request
        self.transport = None
        self.head: bytes | None = b""  # the response head until it is complete, then None
        self.chunked = False
        self.raw = bytearray()  # undecoded chunked body
        self.text = b""  # decoded body not yet split into frames
        self.last_id = 0
        self.last_presence = 0.0  # when the last presence frame arrived
        self.ready: asyncio.Future | None = None  # done when the first frame has arrived
        self.connected = False
        self.closed = False
        self.port = 0  # this end's port: which worker holds the stream (socket_owners)

    async def connect(self, port: int, gate: asyncio.Semaphore) -> None:
        run = self.run
        loop = asyncio.get_running_loop()
        self.ready = loop.create_future()
        try:
            async with gate:
                await loop.create_connection(lambda: self, HOST, port)
                await self.ready
            self.connected = True
            run.connected += 1
            if run.connected == run.n:
                run.connect_done_at = time.perf_counter()
        except Exception as error:  # noqa: BLE001 - recorded, the run reports it
            run.failures.append(f"stream {self.index}: {type(error).__name__}: {error}")
            self.close()

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        transport.write(self.request)

    def connection_lost(self, exc) -> None:
        self.closed = True
        self.fail(exc or ConnectionError("closed before the first frame"))

    def fail(self, error: BaseException) -> None:
        if self.ready is not None and not self.ready.done():
            self.ready.set_exception(error)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        stamp = time.perf_counter()
        if self.head is not None:
            data = self.response_head(data)
            if data is None:
                return
        if self.feed(data, stamp) and not self.ready.done():
            self.ready.set_result(None)

    def response_head(self, data: bytes) -> bytes | None:
        """Collect and check the status line and headers; return the body bytes after them."""
        self.head += data
        end = self.head.find(b"\r\n\r\n")
        if end < 0:
            return None
        head, data, self.head = self.head[:end], self.head[end + 4:], None
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.partition(":") for line in header_lines if line)}
        if status != 200:
            self.fail(RuntimeError(f"status {status}"))
            return None
        if not headers.get("content-type", "").startswith("text/event-stream"):
            self.fail(RuntimeError(f"content-type {headers.get('content-type')!r}"))
            return None
        self.chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        return data

    def feed(self, data: bytes, stamp: float) -> bool:
        """Decode, split into frames, handle each complete frame. True: at least one frame."""
        if self.chunked:
            data = self.dechunk(data)
        text = self.text + data
        start = 0
        for match in FRAME_END.finditer(text):
            self.frame(text, start, match.start(), stamp)
            start = match.end()
        self.text = text[start:] if start else text
        return start > 0

    def dechunk(self, data: bytes) -> bytes:
        raw = self.raw
        if not raw:  # usually one whole chunk per read
            size_end = data.find(b"\r\n", 0, 20)
            if size_end > 0:
                size = int(data[:size_end].split(b";", 1)[0], 16)
                if size and len(data) == size_end + size + 4 and data.endswith(b"\r\n"):
                    return data[size_end + 2:size_end + 2 + size]
        raw += data
        out, pos, size_end = [], 0, raw.find(b"\r\n")
        while size_end >= 0:
            size = int(raw[pos:size_end].split(b";", 1)[0], 16)
            end = size_end + 2 + size
            if end + 2 > len(raw):
                break
            out.append(bytes(raw[size_end + 2:end]))
            pos = end + 2
            if size == 0:
                break
            size_end = raw.find(b"\r\n", pos)
        del raw[:pos]
        return b"".join(out)

    def frame(self, text: bytes, start: int, end: int, stamp: float) -> None:
        """One SSE frame, text[start:end]: its id, event name and first data line (comments ignored)."""
        raw_id, name, first_data = sse_head(text, start, end)
        event_id = int(raw_id) if raw_id is not None else None
        run = self.run
        if name is None and event_id is None:
            return  # only comments / retry
        run.frames += 1
        run.last_frame_at = stamp
        if event_id is not None:
            self.last_id = event_id
        if name == b"presence":
            run.presence += 1
            self.last_presence = stamp
        elif name == b"board":
            if event_id is None:
                run.unexpected.append("a board event without an id")
                return
            self.board(event_id, first_data or b"", stamp)

    def board(self, event_id: int, first_data: bytes, stamp: float) -> None:
        run = self.run
        move = run.id_to_move.get(event_id)
        if move is None:
            move = run.current
            if move < 0 or run.move_id[move] is not None:
                run.unexpected.append(f"board event id {event_id} outside a move (or a second one for a move)")
                return
            if not first_data.startswith(b"<!--v:"):
                run.unexpected.append(f"board event id {event_id} does not start with <!--v:")
            run.move_id[move] = event_id
            run.id_to_move[event_id] = move
        if not run.open[move]:
            run.late += 1
            return
        run.latency[move].append(stamp - run.t0[move])
        run.count[move] += 1
        if run.count[move] >= run.n:
            run.done[move].set()


async def http_request(port: int, method: str, path: str, headers: dict, body: bytes = b"",
                       before_send=None) -> tuple[int, bytes]:
    """One HTTP/1.1 request on a fresh connection (Connection: close), answered in full (30 s at most)."""
    async with asyncio.timeout(30):
        return await _http_request(port, method, path, headers, body, before_send)


async def _http_request(port, method, path, headers, body, before_send) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: close",
                 f"Content-Length: {len(body)}"] + [f"{k}: {v}" for k, v in headers.items()]
        if before_send:
            before_send()
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        response = await reader.read()  # until the server closes
    finally:
        writer.transport.abort()
    head, _, rest = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, rest


def start_profiler(path: str, pid: int) -> subprocess.Popen:
    py_spy = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    if not os.path.exists(py_spy):
        raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
    # --nonblocking: never pause the server to sample it (slightly torn stacks, undisturbed timing);
    # --gil: only the thread holding the GIL, i.e. where the server's Python CPU time goes
    with open(path + ".log", "wb") as log:
        profiler = subprocess.Popen([py_spy, "record", "--nonblocking", "--gil", "--format", "raw", "--rate", "200",
                                     "--pid", str(pid), "--output", path],
                                    stdout=log, stderr=subprocess.STDOUT)
    time.sleep(1.0)  # let it attach
    return profiler


def stop_profiler(profiler: subprocess.Popen, path: str, phase: str) -> str:
    profiler.send_signal(signal.SIGINT)
    try:
        profiler.wait(timeout=20)
    except subprocess.TimeoutExpired:
        profiler.kill()
    try:
        return summarize_profile(path, phase)
    except OSError as error:
        return f"profile ({phase}): no output ({error}); see {path}.log"


def summarize_profile(path: str, phase: str, top: int = 20) -> str:
    """Where the sampled server threads spent their time: self and inclusive, by function."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    idle = 0
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not count.isdigit():
                continue
            count = int(count)
            frames = [re.sub(r" \(/.*/(site-packages/)?", " (", frame) for frame in stack.split(";")]
            total += count
            leaf = frames[-1]
            if re.search(r"\b(select|poll|epoll|_worker|wait|acquire|_run_once)\b", leaf.split(" (")[0]) \
                    and ("selectors" in leaf or "threading" in leaf or "thread" in leaf or "base_events" in leaf):
                idle += count
            own[leaf] = own.get(leaf, 0) + count
            for frame in set(frames):
                inclusive[frame] = inclusive.get(frame, 0) + count
    if not total:
        return f"profile ({phase}): no samples"
    lines = [f"profile ({phase}): {total} samples of the thread holding the GIL ({idle} in select/wait), "
             f"collapsed stacks in {path}", "  self time:"]
    for frame, count in sorted(own.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"    {count * 100 / total:5.1f}%  {frame[:150]}")
    lines.append("  inclusive:")
    for frame, count in sorted(inclusive.items(), key=lambda item: -item[1])[:top + 10]:
        lines.append(f"    {count * 100 / total:5.1f}%  {frame[:150]}")
    return "\n".join(lines)


def start_profilers(path: str, workers: list[int]) -> list:
    """One py-spy per worker: FILE for a single worker, FILE.<pid> for each of several."""
    return [(pid, start_profiler(profile_path(path, pid, workers), pid)) for pid in workers]


def stop_profilers(profilers: list, path: str, phase: str) -> list[str]:
    return [stop_profiler(profiler, profile_path(path, pid, [p for p, _ in profilers]),
                          phase if len(profilers) == 1 else f"{phase}, worker {pid}")
            for pid, profiler in profilers]


def profile_path(path: str, pid: int, workers: list[int]) -> str:
    return path if len(workers) == 1 else f"{path}.{pid}"


def per_worker(subscribers: list, workers: list[int], port: int) -> dict:
    """How many open streams each worker holds (read from /proc), and how many no worker holds."""
    owners = socket_owners(workers, port) if len(workers) > 1 else {}
    counts = {pid: 0 for pid in workers}
    unknown = 0
    for s in subscribers:
        if s.connected and not s.closed:
            pid = owners.get(s.port) if len(workers) > 1 else workers[0]
            if pid is None:
                unknown += 1
            else:
                counts[pid] += 1
    return {"counts": counts, "unknown": unknown}


async def balance(args, run: Run, subscribers: list, workers: list[int], port: int, request: bytes,
                  gate: asyncio.Semaphore, rounds: int = 30) -> dict:
    """Even out the streams over the workers. The kernel spreads connections over the workers'
    SO_REUSEPORT sockets by a hash of their addresses, close to evenly but not exactly: the
    streams a worker holds beyond its share are closed and opened again (landing anywhere)
    until every worker holds its share, as /proc says."""
    n = len(subscribers)
    began = time.perf_counter()
    reopened = 0
    for attempt in range(rounds):
        owners = socket_owners(workers, port)
        held: dict[int, list] = {pid: [] for pid in workers}
        for s in subscribers:
            if s.connected and not s.closed and s.port in owners:
                held[owners[s.port]].append(s)
        share = {pid: n // len(workers) + (i < n % len(workers)) for i, pid in enumerate(workers)}
        extra = [s for pid in workers for s in held[pid][share[pid]:]]
        if attempt == 0:
            first = {pid: len(held[pid]) for pid in workers}
        if not extra:
            break
        fresh = []
        for s in extra:
            s.close()
            run.connected -= 1
            subscribers[s.index] = Subscriber(s.index, run, request)
            fresh.append(subscribers[s.index])
        reopened += len(fresh)
        await asyncio.gather(*(s.connect(port, gate) for s in fresh))
        if run.failures:
            break
    return {"first": first, "reopened": reopened, "rounds": attempt, "seconds": time.perf_counter() - began}


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)  # nearest rank
    return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


def fmt(value: float) -> str:
    return f"{value:.2f}" if value < 100 else f"{value:.1f}"


# --------------------------------------------------------------------------- the benchmark

async def bench(args, port: int, board_id: int, columns: list[int], card_ids: list[int],
                stream_path: str, csrf: str, cookie: str, proc: subprocess.Popen, workers: list[int]) -> dict:
    n, m = args.subscribers, args.events
    run = Run(n, m)
    result: dict = {"problems": [], "warnings": []}
    request = (f"GET {stream_path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: text/event-stream\r\n"
               f"Cache-Control: no-cache\r\nCookie: {cookie}\r\nUser-Agent: {USER_AGENT}\r\n\r\n").encode()
    subscribers = [Subscriber(i, run, request) for i in range(n)]
    gate = asyncio.Semaphore(args.connect_concurrency)

    # ---- warm-up: a few moves with no stream open (templates compiled, caches filled), timed
    card = card_ids[0]
    headers = {"HX-Request": "true", "X-CSRFToken": csrf, "Cookie": cookie, "User-Agent": USER_AGENT,
               "Content-Type": "application/x-www-form-urlencoded",
               "Referer": f"http://{HOST}:{port}/boards/{board_id}"}
    cards_per_column = (args.cards + 1) // 2
    move_path = f"/boards/{board_id}/cards/{card}/move"

    def move_body(k: int) -> bytes:
        column = columns[(k + 1) % 2]  # to the other column, then back, ...
        position = (k // 2 * 3) % (cards_per_column + 1)  # ... at varying positions
        return urllib.parse.urlencode({"column_id": column, "position": position}).encode()

    warm_times = []
    cpu = None
    for k in range(args.warmup):
        if k == min(2, args.warmup - 1):  # the first moves compile templates and fill caches: not timed
            cpu, warm_times = CpuMeter(proc.pid, args.redis, workers), []
        began = time.perf_counter()
        status, response = await http_request(port, "PATCH", move_path, headers, move_body(k))
        warm_times.append(time.perf_counter() - began)
        if status != 200:
            raise RuntimeError(f"warm-up move: status {status}: {response[:300]!r}")
    result["warmup_ms"] = [t * 1000 for t in warm_times]
    result["warmup_cpu_ms"] = cpu.stop()["server"] * 1000 / max(len(warm_times), 1) if cpu else 0.0

    # ---- connect
    result["profiles"] = []
    profiler = start_profilers(args.profile + ".connect", workers) if args.profile else None
    result["rss_before"] = rss_kb(workers)
    cpu = CpuMeter(proc.pid, args.redis, workers)
    start = time.perf_counter()
    tasks = [asyncio.create_task(s.connect(port, gate)) for s in subscribers]
    print(f"opening {n} streams ({args.connect_concurrency} at a time, timeout {args.connect_timeout:.0f}s)...",
          flush=True)
    deadline = start + args.connect_timeout
    last_report = start
    while run.connected + len(run.failures) < n and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
        if time.perf_counter() - last_report >= 10:
            last_report = time.perf_counter()
            print(f"  {run.connected} connected after {last_report - start:.0f}s "
                  f"({run.presence:,} presence frames so far)", flush=True)
    connected_at = run.connect_done_at or time.perf_counter()
    result["connect_s"] = connected_at - start
    result["connected"] = run.connected
    result["rss_connected"] = rss_kb(workers)
    if run.failures:
        result["problems"].append(f"{len(run.failures)} streams failed, e.g. {run.failures[0]}")
    if run.connected < n and len(run.failures) < n - run.connected:
        result["problems"].append(f"only {run.connected} of {n} streams connected in {args.connect_timeout:.0f}s")
    result["presence_at_connect"] = run.presence
    if len(workers) > 1 and not result["problems"]:
        result["balance"] = await balance(args, run, subscribers, workers, port, request, gate)
        connected_at = time.perf_counter()

    # ---- settle: no frame on any stream for 1 s (presence updates come 0.25 s after a join)
    settle_deadline = time.perf_counter() + args.settle_timeout
    settled = False
    while time.perf_counter() < settle_deadline:
        if time.perf_counter() - max(run.last_frame_at, connected_at) >= 1.0:
            settled = True
            break
        await asyncio.sleep(0.05)
    live = [s for s in subscribers if s.connected and not s.closed]
    result["presence_after_connect"] = sum(s.last_presence >= connected_at for s in live)
    result["settle_s"] = time.perf_counter() - connected_at
    result["connect_cpu"] = cpu.stop()
    if profiler:
        result["profiles"] += stop_profilers(profiler, args.profile + ".connect", "connect")
    result["presence_frames"] = run.presence
    if not settled:
        result["warnings"].append(f"presence did not settle in {args.settle_timeout:.0f}s (frames kept coming); "
                                  "move latencies may include queued presence frames")
    await asyncio.sleep(0.5)  # let the server's allocator and the queues go quiet
    result["rss_after"] = rss_kb(workers)
    result["per_worker"] = per_worker(subscribers, workers, port)  # who holds which stream during the moves
    if run.connected < n:  # moves only wait for the streams that are open
        run.n = len([s for s in subscribers if s.connected and not s.closed])

    # ---- moves
    gc.collect()
    gc.freeze()
    gc.disable()  # no collector pauses inside the measured window
    profiler = start_profilers(args.profile, workers) if args.profile else None
    cpu = CpuMeter(proc.pid, args.redis, workers)
    statuses: list[int] = []
    try:
        for k in range(m):
            run.current = k
            run.open[k] = True

            def stamp(k=k):
                run.t0[k] = time.perf_counter()

            status, response = await http_request(port, "PATCH", move_path, headers,
                                                  move_body(args.warmup + k), before_send=stamp)
            statuses.append(status)
            if status != 200:
                result["problems"].append(f"move {k}: status {status}: {response[:200]!r}")
                break
            remaining = run.t0[k] + args.timeout - time.perf_counter()
            if run.count[k] < run.n and remaining > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await run.done[k].wait()
            run.open[k] = False
            await asyncio.sleep(args.pause)
    finally:
        gc.enable()
        gc.unfreeze()
    result["move_cpu"] = cpu.stop()
    if profiler:
        result["profiles"] += stop_profilers(profiler, args.profile, "moves")
    result["moves"] = len(statuses)
    result["run"] = run
    for task in tasks:
        task.cancel()
    result["subscribers"] = subscribers
    return result


def report(args, result: dict) -> int:
    run: Run = result["run"]
    n, m = args.subscribers, args.events
    latencies = [x * 1000 for per in run.latency for x in per]
    delivered = sum(run.count)
    lost = n * m - delivered
    problems, warnings = result["problems"], result["warnings"]
    if run.unexpected:
        warnings.append(f"{len(run.unexpected)} unexpected board events, e.g. {run.unexpected[0]}")
    if run.late:
        warnings.append(f"{run.late} board frames arrived after --timeout ({args.timeout}s): counted as lost")
    if any(i is None for i in run.move_id[:result["moves"]]):
        warnings.append("some moves produced no board event at all")

    connect_cpu, move_cpu = result["connect_cpu"], result["move_cpu"]
    rss_per_sub = (result["rss_after"] - result["rss_before"]) / max(result["connected"], 1)
    rss_connected = (result["rss_connected"] - result["rss_before"]) / max(result["connected"], 1)
    p50, p99, worst = percentile(latencies, 50), percentile(latencies, 99), max(latencies, default=float("nan"))

    connected = max(result["connected"], 1)
    workers = result["per_worker"]["counts"]
    if len(workers) > 1:
        held = ", ".join(f"pid {pid} {count}" for pid, count in workers.items())
        unknown = result["per_worker"]["unknown"]
        line = f"workers : streams held (from /proc/<pid>/fd and /proc/net/tcp): {held}"
        if unknown:
            line += f", {unknown} held by no worker"
            warnings.append(f"{unknown} open streams are held by no worker")
        if "balance" in result:
            b = result["balance"]
            first = ", ".join(str(count) for count in b["first"].values())
            line += (f"; as the kernel first spread them {first}, evened out by reopening {b['reopened']} "
                     f"in {b['rounds']} rounds ({b['seconds']:.1f}s)")
        print(line)
    print(f"connect : {result['connected']}/{n} streams in {result['connect_s']:.2f}s, then "
          f"{result['settle_s']:.2f}s until presence settled ({result['presence_frames']:,} presence frames "
          f"received = {result['presence_frames'] / connected:.1f} per stream, "
          f"{result['presence_at_connect']:,} of them before the last stream connected; "
          f"{result['presence_after_connect']} streams got one after)")
    print(f"          server CPU {connect_cpu['server']:.2f}s for connect + presence "
          f"= {connect_cpu['server'] * 1e3 / connected:.2f} ms per stream opened")
    print(f"memory  : {'worker' if len(workers) == 1 else 'workers (summed)'} VmRSS {result['rss_before'] / 1024:.1f} MB -> {result['rss_connected'] / 1024:.1f} MB "
          f"when all connected ({rss_connected:.1f} KB/stream) -> {result['rss_after'] / 1024:.1f} MB once "
          f"presence settled ({rss_per_sub:.1f} KB/stream)")
    print(f"moves   : {result['moves']} moves x {n} streams: {delivered:,} deliveries, lost {lost:,}")
    print(f"          latency (socket arrival - t0): p50 {fmt(p50)} ms  p99 {fmt(p99)} ms  max {fmt(worst)} ms")
    first = [min(per) * 1000 for per in run.latency if per]
    spread = [(max(per) - min(per)) * 1000 for per in run.latency if per]
    if first:
        print(f"          first stream served after p50 {fmt(percentile(first, 50))} ms (request + commit + "
              f"render + publish); fan-out spread first->last p50 {fmt(percentile(spread, 50))} ms, "
              f"max {fmt(max(spread))} ms")
    slowest = sorted((max(per), k) for k, per in enumerate(run.latency) if per)[-3:][::-1]
    if slowest:
        print("          slowest moves: " + ", ".join(
            f"#{k} first {min(run.latency[k]) * 1000:.1f} last {worst_k * 1000:.1f} ms" for worst_k, k in slowest))
    per_event = move_cpu["server"] / max(result["moves"], 1)
    patch_ms = result["warmup_cpu_ms"]
    fan_out_us = max(0.0, per_event * 1000 - patch_ms) * 1000 / max(run.n, 1)
    if result["warmup_ms"]:
        print(f"          the PATCH alone (no stream open, warm-up): {fmt(percentile(result['warmup_ms'], 50))} ms "
              f"round trip, server CPU {patch_ms:.1f} ms")
    print(f"          server CPU {per_event * 1000:.1f} ms per move = PATCH ~{patch_ms:.1f} ms + fan-out "
          f"~{fan_out_us:.1f} us per stream; on one idle core the last of {n} streams gets a move after "
          f"~{patch_ms + fan_out_us * n / 1000:.0f} ms")
    if len(workers) > 1:
        per_worker_ms = ", ".join(f"pid {pid} {cpu * 1000 / max(result['moves'], 1):.1f} ms ({count} streams)"
                                  for (pid, count), cpu in zip(workers.items(), move_cpu["workers"]))
        print(f"          server CPU per move by worker: {per_worker_ms}; Redis "
              f"{move_cpu['redis'] * 1000 / max(result['moves'], 1):.1f} ms")
    print(describe_cpu("connect ", connect_cpu))
    print(describe_cpu("moves   ", move_cpu))
    for name, cpu in (("connect", connect_cpu), ("moves", move_cpu)):
        other = cpu["other"] / max(cpu["wall"], 1e-9)
        if other > 0.25:
            print(f"warning: other processes used {other:.2f} CPUs during {name}; "
                  "the figures are pessimistic, run again on a quiet machine")
    targets = {1000: (50, 2), 2000: (100, None), 5000: (300, None), 10000: (300, None)}
    if n in targets:
        p99_target, connect_target = targets[n]
        misses = []
        if p99 > p99_target:
            misses.append(f"p99 {fmt(p99)} > {p99_target} ms")
        if connect_target and result["connect_s"] > connect_target:
            misses.append(f"connect_s {result['connect_s']:.2f} > {connect_target} s")
        if lost:
            misses.append(f"lost {lost} > 0")
        if rss_per_sub > 30:
            misses.append(f"rss {rss_per_sub:.1f} > 30 KB per stream")
        print("targets : " + ("all met" if not misses else "MISSED: " + "; ".join(misses)))
    for profile in result["profiles"]:
        print(profile)
    for warning in warnings:
        print(f"warning: {warning}")
    for problem in problems:
        print(f"ERROR: {problem}")
    final = (f"subscribers={n} connect_s={result['connect_s']:.2f} events={result['moves']} p50_ms={fmt(p50)} "
             f"p99_ms={fmt(p99)} max_ms={fmt(worst)} lost={lost} rss_kb_per_sub={rss_per_sub:.1f} "
             f"workers={args.workers} fanout_us_per_stream={fan_out_us:.1f}")
    return (1 if problems else 0), final


async def close_all(subscribers: list[Subscriber]) -> None:
    for subscriber in subscribers:
        subscriber.close()
    await asyncio.sleep(0)


def main(argv=None) -> int:
    args = parse_args(argv)
    limit = raise_nofile(args.subscribers + 200)
    tmp = Path(tempfile.mkdtemp(prefix="corkboard-live-bench-"))
    database_url = f"sqlite:///{tmp / 'bench.db'}"
    secret = secrets.token_hex(32)
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY=secret)
    env.pop("FLASK_DEBUG", None)
    env.pop("REDIS_URL", None)
    prefix = None
    if args.redis:
        import redis
        try:
            redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
        except redis.RedisError as error:
            sys.exit(f"--redis: Redis is not reachable at {REDIS_URL}: {error}")
        prefix = f"corkboard-bench-{uuid.uuid4().hex}"
        env.update(REDIS_URL=REDIS_URL, REDIS_PREFIX=prefix)

    def terminate(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    proc = None
    try:
        board_id, columns, card_ids = seed(database_url, secret, args.cards)
        port = free_port()
        log_path = tmp / "hypercorn.log"
        proc = start_server(env, port, args, log_path)
        wait_healthy(proc, port, log_path)
        workers = worker_pids(proc, args.workers)
        wait_workers_live(port, len(workers))
        client = Client(f"http://{HOST}:{port}")
        stream_path, csrf = log_in(client, board_id)
        variant = "" if args.app == "webapp.asgi:app" else f" serving {args.app}"
        serving = (f"python -m webapp.serve --workers {args.workers}" if args.workers > 1 else
                   f"Hypercorn --workers {args.workers} --worker-class {args.worker_class}{variant}")
        print(f"Corkboard live stream: board {board_id} ({args.cards} cards, 2 columns), {serving} "
              f"(serving pid{'s' if len(workers) > 1 else ''} {', '.join(map(str, workers))}) "
              f"on port {port}, broker "
              f"{'redis' if args.redis else 'memory'}; {args.subscribers} streams, {args.events} moves, "
              f"open-file limit {limit}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
              + (f"server on CPU {describe_cpus(args.pin[0])}, client on CPU {describe_cpus(args.pin[1])}"
                 if args.pin else "not pinned"), flush=True)
        # (No warning from the load average: it still counts the previous run for a minute.
        # What other processes use while streams connect and moves run is measured and reported.)

        run_log_size = [0]

        async def go():
            result = None
            try:
                result = await bench(args, port, board_id, columns, card_ids, stream_path, csrf,
                                     client.cookie_header(), proc, workers)
                return result
            finally:
                run_log_size[0] = log_path.stat().st_size  # what the server logged before we stopped it
                # Kill the server before closing the streams: closing first would make every
                # leave announce presence to all remaining streams (O(N^2) again).
                stop_server(proc)
                if result is not None:
                    await close_all(result["subscribers"])

        result = asyncio.run(go())
        code, final = report(args, result)
        with open(log_path, "rb") as f:
            server_log = f.read(run_log_size[0]).decode(errors="replace")
        first = server_log.find("Traceback")
        if first >= 0 or "ERROR" in server_log:
            count = server_log.count("Traceback")
            kept = Path(tempfile.gettempdir()) / "live_stream_server.log"
            kept.write_text(server_log)
            excerpt = server_log[first:].split("\n\n")[0].splitlines() if first >= 0 else []
            print(f"ERROR: the server logged {count} tracebacks during the run (log kept in {kept}); the first:")
            for line in excerpt[:40]:
                print(f"  | {line}")
            code = 1
        print(final)
        return code
    finally:
        if proc is not None:
            stop_server(proc)
        if prefix:
            with contextlib.suppress(Exception):
                import redis
                r = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
                keys = list(r.scan_iter(f"{prefix}:*", count=1000))
                if keys:
                    r.delete(*keys)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
