#!/usr/bin/env python3
"""Benchmark the board page (`GET /boards/<id>`) under Hypercorn against the framework ceiling.

    cd /work/main && .venv/bin/python bench/board_page.py [--duration 10] [--connections 50]
        [--threads 2] [--cards 100] [--workers 2] [--no-cache [--renders 200]]

What it does, all in a throw-away temp dir (the real instance/ database is never touched):
  1. migrates a fresh SQLite database and seeds one user, one board with 4 columns and
     --cards cards (spread evenly, realistic titles and descriptions) and an empty twin board;
  2. starts Hypercorn with --workers, each on its own socket (`python -m webapp.serve`, no access
     log) in its own process group;
  3. logs in over real HTTP (GET /login, csrf_token, POST /login) and keeps the session cookie;
  4. runs wrk on the board page and on /healthz (the framework ceiling), after a warm-up;
  5. measures HTML bytes per card (full board minus the empty twin, divided by --cards);
  6. with --no-cache, restarts Hypercorn with the page cache off (PAGE_CACHE=0, webapp/pagecache.py)
     and runs the same wrk measurement, every response then a cold render; and renders the page
     --renders times in this process (a Flask test client, cache off) for its CPU time per render.

The last line is machine-readable:
  board100 rps=<n> p50_ms=<n> p99_ms=<n> | ceiling rps=<n> | ratio=<n> | html_bytes_per_card=<n>
and with --no-cache it goes on:
  | uncached rps=<n> p50_ms=<n> p99_ms=<n> cpu_ms=<n> | render_cpu_ms=<n>
The script exits non-zero when the benchmark itself is invalid (non-2xx responses, responses
too small to be the board page, e.g. a redirect to /login, or the page missing cards).
"""
from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
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
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
EMAIL = "bench@corkboard.test"
PASSWORD = "bench-password-123"
# Flask-Login's "basic" session protection hashes remote address + User-Agent into the session;
# the login client and wrk send the same agent so the session is not re-issued on every response.
USER_AGENT = "corkboard-bench/1.0"
COLUMN_TITLES = ("Backlog", "To do", "Doing", "Done")

VERBS = ["Write", "Review", "Fix", "Design", "Plan", "Refactor", "Test", "Document", "Migrate",
         "Benchmark", "Update", "Draft", "Prototype", "Audit", "Clean up", "Automate"]
OBJECTS = ["the onboarding email sequence", "the login redirect after signup", "the pricing page copy",
           "the nightly database backup", "card drag-and-drop on touch screens", "the release notes for 1.4",
           "the column rename dialog", "the search results highlighting", "the CSV export of a board",
           "keyboard shortcuts for moving cards", "the dark mode colour palette", "the API rate limits",
           "the password reset flow", "the team offsite agenda", "the accessibility report",
           "error pages for HTMX requests", "the Postgres connection pool settings", "the mobile layout",
           "the quarterly roadmap", "the customer interview notes", "flaky end-to-end tests",
           "the invite-a-teammate form", "the board sharing permissions", "the landing page hero image"]
SENTENCES = [
    "Customers have asked for this twice in the last support round, so it should not slip again.",
    "Check the current behaviour on both desktop and mobile before changing anything.",
    "Keep the change small enough to review in one sitting and link the pull request here.",
    "Ana started on this last sprint; her notes are in the shared drive under Planning.",
    "We agreed to ship a first version behind a flag and gather feedback for a week.",
    "The acceptance criteria are in the spec; ping Sam if anything is unclear.",
    "Measure before and after, and attach the numbers to this card when done.",
    "This blocks the launch checklist, so it takes priority over the nice-to-haves.",
    "Make sure the copy is reviewed by marketing before it goes live.",
    "Remember to update the help centre article once the change is deployed.",
]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured wrk run (10)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (50)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--cards", type=int, default=100, help="cards on the benchmarked board (100)")
    parser.add_argument("--workers", type=int, default=2, help="Hypercorn worker processes (2)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per URL (2)")
    parser.add_argument("--no-cache", action="store_true",
                        help="also measure the board page with the page cache off (PAGE_CACHE=0)")
    parser.add_argument("--renders", type=int, default=200,
                        help="with --no-cache: uncached renders timed in this process (200)")
    args = parser.parse_args(argv)
    if args.cards < 1:
        parser.error("--cards must be at least 1")
    return args


# --------------------------------------------------------------------------- setup

def ensure_wrk() -> str:
    wrk = shutil.which("wrk") or ("/usr/bin/wrk" if os.path.exists("/usr/bin/wrk") else None)
    if wrk:
        return wrk
    print("wrk not found; installing it with apt-get", flush=True)
    subprocess.run(["apt-get", "update"], check=True)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)
    wrk = shutil.which("wrk")
    if not wrk:
        sys.exit("wrk is still missing after apt-get install")
    return wrk


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def migrate(env: dict) -> None:
    done = subprocess.run([str(VENV_BIN / "flask"), "--app", "webapp", "db", "upgrade"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"flask db upgrade failed:\n{done.stdout}{done.stderr}")


def seed(card_count: int) -> tuple[int, int]:
    """One user, a board with 4 columns and `card_count` cards, and the same board empty."""
    sys.path.insert(0, str(ROOT))
    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import Board, BoardColumn, Card, User
    from webapp.ordering import keys_after
    try:  # boards shared with teams: the owner must also be a member to see the board
        from webapp.models import BoardMember
    except ImportError:
        BoardMember = None

    rng = random.Random(20240601)
    app = create_app()
    with app.app_context():
        user = User(name="Bench User", email=EMAIL)
        user.set_password(PASSWORD)
        db.session.add(user)

        def make_board(title: str, with_cards: bool) -> Board:
            board = Board(title=title, owner=user)
            if BoardMember is not None:
                board.members = [BoardMember(user=user, role="owner")]
            per_column = [card_count // len(COLUMN_TITLES) + (i < card_count % len(COLUMN_TITLES))
                          for i in range(len(COLUMN_TITLES))]
            for column_title, column_key, count in zip(
                    COLUMN_TITLES, keys_after(None, len(COLUMN_TITLES)), per_column):
                column = BoardColumn(title=column_title, position=column_key)
                if with_cards:
                    column.cards = [
                        Card(board=board, title=f"{rng.choice(VERBS)} {rng.choice(OBJECTS)}",
                             description=" ".join(rng.sample(SENTENCES, rng.choice((2, 2, 3)))),
                             position=key)
                        for key in keys_after(None, count)
                    ]
                board.columns.append(column)
            db.session.add(board)
            return board

        full = make_board("Product launch (bench)", True)
        empty = make_board("Product launch (empty)", False)
        db.session.commit()
        return full.id, empty.id


# --------------------------------------------------------------------------- server

def start_server(env: dict, port: int, workers: int, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "wb")
    # Hypercorn, each worker on its own socket (webapp/serve.py). No -c hypercorn.toml: it turns
    # the access log on; Hypercorn's default is no access log, errors to stderr.
    cmd = [str(VENV_BIN / "python"), "-m", "webapp.serve", "--workers", str(workers), "--bind", f"{HOST}:{port}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    return proc


def wait_healthy(proc: subprocess.Popen, port: int, log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://{HOST}:{port}/healthz"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Hypercorn exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"Hypercorn did not answer /healthz in {timeout:.0f}s:\n{log_path.read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        return
    try:
        os.killpg(pgid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    try:  # workers may outlive the parent briefly
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


# --------------------------------------------------------------------------- HTTP client

class Client:
    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.addheaders = [("User-Agent", USER_AGENT)]

    def get(self, path: str):
        with self.opener.open(self.base + path, timeout=10) as response:
            return response.status, response.geturl(), dict(response.headers), response.read()

    def post_form(self, path: str, fields: dict):
        data = urllib.parse.urlencode(fields).encode()
        with self.opener.open(self.base + path, data=data, timeout=30) as response:
            return response.status, response.geturl(), response.read()

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)


def log_in(client: Client) -> str:
    status, _, _, body = client.get("/login")
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body) or \
        re.search(rb'value="([^"]+)"[^>]*name="csrf_token"', body)
    if status != 200 or not match:
        raise RuntimeError("GET /login: no csrf_token hidden input found")
    status, final_url, _ = client.post_form("/login", {
        "csrf_token": match.group(1).decode(), "email": EMAIL, "password": PASSWORD, "next": ""})
    if "/login" in urllib.parse.urlsplit(final_url).path:
        raise RuntimeError(f"POST /login did not log in (ended at {final_url}, status {status})")
    session = client.cookie("session")
    if not session:
        raise RuntimeError("POST /login set no `session` cookie")
    return session


# --------------------------------------------------------------------------- wrk

UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
UNIT_BYTES = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}


def to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"unknown latency {text!r}")
    return float(match.group(1)) * UNIT_MS[match.group(2)]


def run_wrk(wrk: str, url: str, args, seconds: int, headers: list[str]) -> dict:
    cmd = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--latency"]
    for header in headers:
        cmd += ["-H", header]
    cmd.append(url)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout

    def find(pattern, flags=0):
        match = re.search(pattern, out, flags)
        if not match:
            raise RuntimeError(f"cannot read {pattern!r} in the output of {' '.join(cmd)}:\n{out}")
        return match

    result = {"raw": out, "non2xx": 0, "socket_errors": ""}
    result["rps"] = float(find(r"Requests/sec:\s+([\d.]+)").group(1))
    for pct in ("50", "99"):
        result[f"p{pct}"] = to_ms(find(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", re.M).group(1))
    total = find(r"(\d+) requests in ([\d.]+\w+), ([\d.]+)(\w+) read")
    result["requests"] = int(total.group(1))
    result["bytes"] = float(total.group(3)) * UNIT_BYTES[total.group(4)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        result["non2xx"] = int(non2xx.group(1))
    errors = re.search(r"Socket errors:(.*)", out)
    if errors:
        result["socket_errors"] = errors.group(1).strip()
    return result


def group_cpu(pgid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each live process in a process group, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    usage = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # after the name: state, ppid, pgrp, ..., utime (11), stime (12)
            usage[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    return usage


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs spent busy since boot (/proc/stat), to spot other load on the machine."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    guest = sum(fields[8:10]) if len(fields) > 9 else 0  # already counted in user/nice
    return (sum(fields) - idle - guest) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_delta(before: dict, after: dict) -> dict[int, float]:
    return {pid: after[pid] - before.get(pid, 0.0) for pid in after}


def cpu_split(delta: dict[int, float]) -> str:
    """How the busy processes shared the work, e.g. "97% / 3%" (the idle supervisor left out)."""
    total = sum(delta.values()) or 1.0
    shares = sorted((v / total for v in delta.values() if v / total >= 0.005), reverse=True)
    return " / ".join(f"{share:.0%}" for share in shares)


def fmt_ms(value: float) -> str:
    return f"{value:.2f}" if value < 100 else f"{value:.1f}"


# --------------------------------------------------------------------------- uncached

def render_cpu_ms(board_id: int, renders: int) -> float:
    """CPU milliseconds (process_time) per render of the board page with the page cache off, in
    this process: a Flask test client logged in as the bench user, no server, no wrk."""
    sys.path.insert(0, str(ROOT))
    from webapp import create_app

    app = create_app({"PAGE_CACHE": False})
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if not match:
        raise RuntimeError("GET /login (in process): no csrf_token hidden input found")
    client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": match.group(1)})
    url = f"/boards/{board_id}"
    for _ in range(5):  # warm: templates compiled, statements cached
        response = client.get(url)
        if response.status_code != 200 or b'class="card"' not in response.data:
            raise RuntimeError(f"GET {url} (in process): status {response.status_code}, not the board page")
    started = time.process_time()
    for _ in range(renders):
        client.get(url)
    return (time.process_time() - started) * 1000 / renders


# --------------------------------------------------------------------------- main

def main(argv=None) -> int:
    args = parse_args(argv)
    wrk = ensure_wrk()
    tmp = Path(tempfile.mkdtemp(prefix="corkboard-bench-"))
    env = dict(os.environ)
    env.update(DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}", SECRET_KEY=secrets.token_hex(32))
    env.pop("FLASK_DEBUG", None)
    os.environ.update(DATABASE_URL=env["DATABASE_URL"], SECRET_KEY=env["SECRET_KEY"])
    proc = None
    problems: list[str] = []
    try:
        migrate(env)
        board_id, empty_id = seed(args.cards)
        port = free_port()
        log_path = tmp / "hypercorn.log"
        proc = start_server(env, port, args.workers, log_path)
        wait_healthy(proc, port, log_path)
        base = f"http://{HOST}:{port}"

        client = Client(base)
        session = log_in(client)
        status, final_url, headers, full = client.get(f"/boards/{board_id}")
        if status != 200 or not final_url.endswith(f"/boards/{board_id}"):
            raise RuntimeError(f"GET /boards/{board_id}: status {status}, ended at {final_url}")
        card_count = full.count(b'class="card"')
        if card_count != args.cards:
            raise RuntimeError(f"board page shows {card_count} cards, expected {args.cards}")
        if "Set-Cookie" in headers or "set-cookie" in {k.lower() for k in headers}:
            print("note: the board page sets a cookie on every response (session re-issued)")
        _, _, _, empty = client.get(f"/boards/{empty_id}")
        if empty.count(b'class="card"'):
            raise RuntimeError("the empty board shows cards")
        bytes_per_card = (len(full) - len(empty)) / args.cards

        board_url = f"{base}/boards/{board_id}"
        health_url = f"{base}/healthz"
        board_headers = [f"Cookie: session={session}", f"User-Agent: {USER_AGENT}"]
        health_headers = [f"User-Agent: {USER_AGENT}"]
        print(f"Corkboard board page: {args.cards} cards, {len(full):,} bytes of HTML "
              f"(empty board {len(empty):,} bytes); Hypercorn -w {args.workers} on {base}")
        print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s "
              f"(after {args.warmup}s warm-up of each URL)", flush=True)
        if args.warmup > 0:
            run_wrk(wrk, board_url, args, args.warmup, board_headers)
            run_wrk(wrk, health_url, args, args.warmup, health_headers)
        def measured(url, headers):
            """One wrk run, plus where the machine's CPU went meanwhile (Hypercorn, wrk, others)."""
            server0, wrk0, busy0 = group_cpu(proc.pid), children_cpu_seconds(), machine_busy_seconds()
            result = run_wrk(wrk, url, args, args.duration, headers)
            server1, wrk1, busy1 = group_cpu(proc.pid), children_cpu_seconds(), machine_busy_seconds()
            delta = cpu_delta(server0, server1)
            result["cpu_s"] = sum(delta.values())
            result["cpu_ms"] = result["cpu_s"] * 1000 / max(result["requests"], 1)
            result["split"] = cpu_split(delta)
            result["wrk_cpu_s"] = wrk1 - wrk0
            result["other_cpu_s"] = max(0.0, (busy1 - busy0) - result["cpu_s"] - result["wrk_cpu_s"])
            return result

        board = measured(board_url, board_headers)
        ceiling = measured(health_url, health_headers)

        # wrk counts only >= 400 as "Non-2xx or 3xx", so a 302 to /login would pass unnoticed:
        # the bytes read per response show whether wrk really got the board page.
        board_avg = board["bytes"] / max(board["requests"], 1)
        for name, result in (("board", board), ("healthz", ceiling)):
            if result["non2xx"]:
                problems.append(f"{name}: {result['non2xx']} non-2xx/3xx responses")
            if result["socket_errors"]:
                print(f"warning: {name}: socket errors: {result['socket_errors']}")
        if board_avg < 0.95 * len(full):
            problems.append(f"board: {board_avg:,.0f} bytes per response, the page is {len(full):,} "
                            "(redirected to /login? the session cookie did not work)")

        ratio = board["rps"] / ceiling["rps"] if ceiling["rps"] else 0.0
        print(f"board   : {board['rps']:8.0f} req/s  p50 {fmt_ms(board['p50'])} ms  "
              f"p99 {fmt_ms(board['p99'])} ms  ({board['requests']:,} requests, "
              f"{board_avg:,.0f} bytes each, server CPU {board['cpu_ms']:.2f} ms per request)")
        print(f"healthz : {ceiling['rps']:8.0f} req/s  p50 {fmt_ms(ceiling['p50'])} ms  "
              f"p99 {fmt_ms(ceiling['p99'])} ms  (framework ceiling, "
              f"server CPU {ceiling['cpu_ms']:.2f} ms per request)")
        for name, result in (("board", board), ("healthz", ceiling)):
            other = result["other_cpu_s"] / args.duration
            print(f"{name:8s}: CPUs used: Hypercorn {result['cpu_s'] / args.duration:.2f} "
                  f"(split {result['split']}), wrk {result['wrk_cpu_s'] / args.duration:.2f}, "
                  f"rest of the machine {other:.2f} of {os.cpu_count()}")
            if other > 0.25:
                print(f"warning: other processes used {other:.2f} CPUs during the {name} run; "
                      "the figures are pessimistic, run again on a quiet machine")
        cores = os.cpu_count() or 1
        print(f"HTML {bytes_per_card:.0f} bytes per card; if CPU-bound on {cores} idle cores: board ~"
              f"{cores * 1000 / board['cpu_ms']:.0f} req/s, healthz ~{cores * 1000 / ceiling['cpu_ms']:.0f} req/s")
        uncached_line = ""
        if args.no_cache:
            stop_server(proc)
            env["PAGE_CACHE"] = "0"
            port = free_port()
            proc = start_server(env, port, args.workers, log_path)
            wait_healthy(proc, port, log_path)
            base = f"http://{HOST}:{port}"
            client = Client(base)
            session = log_in(client)
            status, _, _, page = client.get(f"/boards/{board_id}")
            if status != 200 or page.count(b'class="card"') != args.cards:
                raise RuntimeError(f"uncached GET /boards/{board_id}: status {status}, not the board page")
            board_url = f"{base}/boards/{board_id}"
            board_headers = [f"Cookie: session={session}", f"User-Agent: {USER_AGENT}"]
            if args.warmup > 0:
                run_wrk(wrk, board_url, args, args.warmup, board_headers)
            uncached = measured(board_url, board_headers)
            uncached_avg = uncached["bytes"] / max(uncached["requests"], 1)
            if uncached["non2xx"]:
                problems.append(f"uncached board: {uncached['non2xx']} non-2xx/3xx responses")
            if uncached_avg < 0.95 * len(full):
                problems.append(f"uncached board: {uncached_avg:,.0f} bytes per response, the page is {len(full):,}")
            render_ms = render_cpu_ms(board_id, args.renders)
            print(f"uncached: {uncached['rps']:8.0f} req/s  p50 {fmt_ms(uncached['p50'])} ms  "
                  f"p99 {fmt_ms(uncached['p99'])} ms  (PAGE_CACHE=0, server CPU {uncached['cpu_ms']:.2f} ms "
                  f"per request; cached: {board['rps']:.0f} req/s, {board['cpu_ms']:.2f} ms)")
            print(f"in-process: {render_ms:.2f} ms CPU per uncached render of the {args.cards}-card board "
                  f"(process_time over {args.renders} renders, Flask test client)")
            uncached_line = (f" | uncached rps={uncached['rps']:.0f} p50_ms={fmt_ms(uncached['p50'])} "
                             f"p99_ms={fmt_ms(uncached['p99'])} cpu_ms={uncached['cpu_ms']:.2f} | "
                             f"render_cpu_ms={render_ms:.2f}")
        for problem in problems:
            print(f"ERROR: {problem}")
        print(f"board{args.cards} rps={board['rps']:.0f} p50_ms={fmt_ms(board['p50'])} "
              f"p99_ms={fmt_ms(board['p99'])} | ceiling rps={ceiling['rps']:.0f} | "
              f"ratio={ratio:.2f} | html_bytes_per_card={bytes_per_card:.0f}{uncached_line}")
        return 1 if problems else 0
    finally:
        if proc is not None:
            stop_server(proc)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
