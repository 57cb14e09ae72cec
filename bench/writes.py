#!/usr/bin/env python3
"""Benchmark concurrent writes over HTMX, as the board sends them: card moves and card creates,
on SQLite and on PostgreSQL.

    cd /work/main && .venv/bin/python bench/writes.py [--db sqlite|postgresql|both]
        [--connections 10,50] [--duration 10] [--workers 2] [--cards 100]

For each database, in a throw-away temp dir (bench/board_page.py's set-up):
  1. a fresh database: a SQLite file, or the PostgreSQL database `bench_writes` dropped and made
     again (then with Redis and a prefix of its own, so live updates cross the workers); migrated
     and seeded with a 4-column board of --cards cards. The change limit
     (RATELIMIT_CHANGES_PER_USER) is raised: this measures the server, not the limit;
  2. Hypercorn with --workers; a login over HTTP, and the CSRF token from the board page's
     `<body hx-headers>`; one move and one create sent by hand must answer 200 with a fragment;
  3. wrk with a Lua script per operation, after a warm-up (--warmup 2 s), at each --connections:
       PATCH /boards/<id>/cards/<id>/move     column_id=<random column>&position=<0..20>
       POST  /boards/<id>/columns/<id>/cards  title=Card <n>
     with the headers htmx sends (HX-Request, X-CSRFToken, form encoding, the session cookie);
  4. statements per request, counted in this process: the app on the same database, a test
     client logged in, a `before_cursor_execute` listener over 50 of the same requests;
  5. after the runs, order keys shared by two cards of a column (or two columns of a board).

Prints `duplicates=<n>`, then, last, one line per run and the 50-connection run of each operation
again (or the largest --connections given) as a summary:
  writes db=<db> op=<moves|creates> connections=<n> per_s=<n> p50_ms=<n> p99_ms=<n> errors=<n> cpu_ms=<n> statements=<n>
  writes db=<db> moves_per_s=<n> p50_ms=<n> p99_ms=<n> errors=<n> cpu_ms_per_move=<n> statements_per_move=<n>
  writes db=<db> creates_per_s=<n> p50_ms=<n> p99_ms=<n> errors=<n> cpu_ms_per_create=<n> statements_per_create=<n>
errors counts answers other than 2xx (redirects included, counted by the script) and socket
errors, timeouts included (wrk gives up after 2 s; p50 and p99 leave those requests out).
cpu_ms is Hypercorn's CPU (its process group, not PostgreSQL's or Redis's) per request wrk
counted. Exits 2 when the set-up is wrong (a request by hand not answered 200 with a fragment),
1 when order keys are duplicated.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import shutil
import sys
import tempfile
import types
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api  # noqa: E402 -- run_script: wrk with a Lua script
import board_page  # noqa: E402 -- its set-up and wrk helpers

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
POSTGRES_DATABASE = "bench_writes"
REDIS_URL = "redis://127.0.0.1:6379/0"
STATEMENT_SAMPLE = 50

# Each thread counts the answers that are not 2xx, by status (wrk itself counts only >= 400, so a
# redirect to /login would pass); done() adds them up and prints them for measure() to read.
LUA_COUNTING = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) not_2xx = {}; created = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then not_2xx[status] = (not_2xx[status] or 0) + 1 end
end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("not_2xx")) do total[status] = (total[status] or 0) + n end
  end
  for status, n in pairs(total) do io.write(string.format("not_2xx %d=%d\\n", status, n)) end
end
"""
REQUESTS_LUA = {
    "moves": """
local cards = {%(cards)s}
local columns = {%(columns)s}
request = function()
  local body = string.format("column_id=%%d&position=%%d", columns[math.random(#columns)], math.random(0, 20))
  return wrk.format("PATCH", "/boards/%(board)d/cards/" .. cards[math.random(#cards)] .. "/move", nil, body)
end
""",
    "creates": """
local columns = {%(columns)s}
request = function()
  created = created + 1
  local path = "/boards/%(board)d/columns/" .. columns[math.random(#columns)] .. "/cards"
  return wrk.format("POST", path, nil, "title=Card+" .. created)
end
""",
}


class SetupError(RuntimeError):
    """The benchmark would measure the wrong thing (not logged in, CSRF refused, ...)."""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--connections", default="10,50", help="wrk connection counts, comma-separated (10,50)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run (10)")
    parser.add_argument("--workers", type=int, default=2, help="Hypercorn worker processes (2)")
    parser.add_argument("--cards", type=int, default=100, help="cards on the board (100)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per operation (2)")
    args = parser.parse_args(argv)
    args.connections = [int(n) for n in args.connections.split(",")]
    args.databases = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    return args


# --------------------------------------------------------------------------- set-up

def environment(database: str, tmp: Path) -> dict:
    """The server's environment; this process takes the same (the seed and the statement count
    build the app from it)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("REDIS_")}
    env.pop("FLASK_DEBUG", None)
    env.update(SECRET_KEY=secrets.token_hex(32), RATELIMIT_CHANGES_PER_USER="100000000 per minute",
               UPLOAD_FOLDER=str(tmp / "uploads"), JOBS_FOLDER=str(tmp / "jobs"), IMPORT_FOLDER=str(tmp / "imports"))
    if database == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.db'}"
    else:
        fresh_postgres_database()
        env.update(DATABASE_URL=f"{POSTGRES_SERVER}/{POSTGRES_DATABASE}", REDIS_URL=REDIS_URL,
                   REDIS_PREFIX=f"bench-writes-{secrets.token_hex(4)}")
    os.environ.clear()
    os.environ.update(env)
    return env


def fresh_postgres_database() -> None:
    from sqlalchemy import create_engine, text
    engine = create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {POSTGRES_DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {POSTGRES_DATABASE}"))
    engine.dispose()


def query(sql: str, **params) -> list:
    """The rows of one query on the benchmarked database."""
    from sqlalchemy import create_engine, text
    engine = create_engine(os.environ["DATABASE_URL"])
    with engine.connect() as connection:
        rows = connection.execute(text(sql), params).all()
    engine.dispose()
    return rows


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect surfaces as an HTTPError with its own status


def check_by_hand(base: str, headers: dict, paths: dict) -> None:
    """One request of each kind must answer 200 with a fragment, not a redirect or a 400."""
    opener = urllib.request.build_opener(NoRedirects)
    for op, (method, path, body) in paths.items():
        request = urllib.request.Request(base + path, data=body.encode(), method=method, headers=headers)
        try:
            with opener.open(request, timeout=10) as response:
                status, html = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, html = error.code, error.read()
        if status != 200 or not html.strip() or b"<html" in html.lower():
            raise SetupError(f"{op}: {method} {path} answered {status} "
                             f"({'a whole page' if b'<html' in html.lower() else f'{len(html)} bytes'}), "
                             "expected 200 with a fragment")


# --------------------------------------------------------------------------- measures

def measure(wrk: str, base: str, headers: list[str], script: Path, connections: int, seconds: int,
            threads: int, server_pid: int) -> dict:
    """One wrk run, with the server's CPU over it and the answers that were not 2xx."""
    settings = types.SimpleNamespace(threads=threads, connections=connections, duration=seconds)
    before, wrk0, busy0 = board_page.group_cpu(server_pid), board_page.children_cpu_seconds(), \
        board_page.machine_busy_seconds()
    result = api.run_script(wrk, base, settings, headers, script)
    after, wrk1, busy1 = board_page.group_cpu(server_pid), board_page.children_cpu_seconds(), \
        board_page.machine_busy_seconds()
    cpu_s = sum(board_page.cpu_delta(before, after).values())
    # CPUs the rest of the machine used meanwhile (not Hypercorn, not wrk): the figures are then pessimistic.
    others = max(0.0, (busy1 - busy0) - cpu_s - (wrk1 - wrk0)) / seconds
    socket_errors = sum(int(n) for n in re.findall(r"\d+", result["socket_errors"]))
    not_2xx = {int(status): int(n) for status, n in re.findall(r"^not_2xx (\d+)=(\d+)$", result["raw"], re.M)}
    return {"per_s": result["rps"], "p50": result["p50"], "p99": result["p99"], "requests": result["requests"],
            "errors": sum(not_2xx.values()) + socket_errors, "cpu_ms": cpu_s * 1000 / max(result["requests"], 1),
            "others": others,
            "why": ", ".join([f"{n} answered {status}" for status, n in sorted(not_2xx.items())] +
                             ([f"socket errors: {result['socket_errors']}"] if socket_errors else []))}


def statements_per_request(board_id: int, cards: list[int], columns: list[int]) -> dict[str, float]:
    """SQL statements one move and one create cost, counted on the app's engine in this process."""
    from sqlalchemy import event
    from webapp import create_app
    from webapp.extensions import db
    app = create_app()
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
    client.post("/login", data={"csrf_token": csrf, "email": board_page.EMAIL, "password": board_page.PASSWORD})
    page = client.get(f"/boards/{board_id}").get_data(as_text=True)
    headers = {"HX-Request": "true", "X-CSRFToken": re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)}
    rng = random.Random(7)

    def move(n: int):
        return client.patch(f"/boards/{board_id}/cards/{rng.choice(cards)}/move", headers=headers,
                            data={"column_id": rng.choice(columns), "position": rng.randint(0, 20)})

    def create(n: int):
        return client.post(f"/boards/{board_id}/columns/{rng.choice(columns)}/cards", headers=headers,
                           data={"title": f"Card {n}"})

    statements = 0

    def count(*_):
        nonlocal statements
        statements += 1

    counts = {}
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        for op, send in (("moves", move), ("creates", create)):
            statements = 0
            for n in range(STATEMENT_SAMPLE):
                if (status := send(n).status_code) != 200:
                    raise SetupError(f"{op} in process answered {status}")
            counts[op] = statements / STATEMENT_SAMPLE
        event.remove(db.engine, "before_cursor_execute", count)
        db.engine.dispose()
    app.extensions["jobs"].shutdown()
    return counts


def duplicate_order_keys() -> int:
    """Order keys shared by two cards of a column, or two columns of a board: two writers took the
    same place, and the order between them is arbitrary."""
    return len(query("SELECT column_id, position, count(*) FROM cards GROUP BY column_id, position "
                     "HAVING count(*) > 1")) + \
        len(query("SELECT board_id, position, count(*) FROM columns GROUP BY board_id, position "
                  "HAVING count(*) > 1"))


def forget_redis_keys(prefix: str) -> None:
    """The run's live-update logs and rate-limit counters, kept under its own prefix."""
    import redis
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


# --------------------------------------------------------------------------- one database

def bench_database(database: str, args, wrk: str) -> tuple[dict, int]:
    """Every run on one database: {(op, connections): figures}, and the duplicated order keys."""
    tmp = Path(tempfile.mkdtemp(prefix="corkboard-writes-"))
    proc = None
    try:
        env = environment(database, tmp)
        board_page.migrate(env)
        board_id, _ = board_page.seed(args.cards)
        cards = [card for card, in query("SELECT id FROM cards WHERE board_id = :b ORDER BY id", b=board_id)]
        columns = [column for column, in query("SELECT id FROM columns WHERE board_id = :b ORDER BY id", b=board_id)]
        port = board_page.free_port()
        log_path = tmp / "hypercorn.log"
        proc = board_page.start_server(env, port, args.workers, log_path)
        board_page.wait_healthy(proc, port, log_path)
        base = f"http://{board_page.HOST}:{port}"
        client = board_page.Client(base)
        session = board_page.log_in(client)
        _, _, _, page = client.get(f"/boards/{board_id}")
        token = re.search(rb'"X-CSRFToken": "([^"]+)"', page)
        if not token:
            raise SetupError("the board page has no X-CSRFToken in <body hx-headers>")
        headers = {"HX-Request": "true", "X-CSRFToken": token.group(1).decode(),
                   "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"session={session}",
                   "User-Agent": board_page.USER_AGENT}
        check_by_hand(base, headers, {
            "moves": ("PATCH", f"/boards/{board_id}/cards/{cards[0]}/move", f"column_id={columns[-1]}&position=0"),
            "creates": ("POST", f"/boards/{board_id}/columns/{columns[0]}/cards", "title=Card+0")})
        print(f"{database}: {args.cards} cards, Hypercorn -w {args.workers} on {base}"
              f"{' with Redis ' + env['REDIS_PREFIX'] if 'REDIS_URL' in env else ''}", flush=True)

        wrk_headers = [f"{name}: {value}" for name, value in headers.items()]
        ids = {"cards": ", ".join(map(str, cards)), "columns": ", ".join(map(str, columns)), "board": board_id}
        results = {}
        for op, lua in REQUESTS_LUA.items():
            script = tmp / f"{op}.lua"
            script.write_text(LUA_COUNTING + lua % ids)
            if args.warmup > 0:
                measure(wrk, base, wrk_headers, script, args.connections[0], args.warmup, args.threads, proc.pid)
            for connections in args.connections:
                run = measure(wrk, base, wrk_headers, script, connections, args.duration, args.threads, proc.pid)
                results[op, connections] = run
                print(f"  {op:7s} -c{connections:<4d} {run['per_s']:7.0f}/s  p50 {board_page.fmt_ms(run['p50'])} ms  "
                      f"p99 {board_page.fmt_ms(run['p99'])} ms  errors {run['errors']}  "
                      f"server CPU {run['cpu_ms']:.2f} ms each ({run['requests']:,} requests, "
                      f"other processes {run['others']:.1f} CPUs)"
                      f"{'  (' + run['why'] + ')' if run['errors'] else ''}", flush=True)
        board_page.stop_server(proc)
        proc = None

        for op, count in statements_per_request(board_id, cards, columns).items():
            for connections in args.connections:
                results[op, connections]["statements"] = count
        duplicates = duplicate_order_keys()
        print(f"  statements: {results['moves', args.connections[0]]['statements']:.1f} a move, "
              f"{results['creates', args.connections[0]]['statements']:.1f} a create; duplicates={duplicates}")
        return results, duplicates
    finally:
        if proc is not None:
            board_page.stop_server(proc)
        if os.environ.get("REDIS_PREFIX"):
            forget_redis_keys(os.environ["REDIS_PREFIX"])
        shutil.rmtree(tmp, ignore_errors=True)


def latency_and_errors(run: dict) -> str:
    return f"p50_ms={board_page.fmt_ms(run['p50'])} p99_ms={board_page.fmt_ms(run['p99'])} errors={run['errors']}"


def main(argv=None) -> int:
    args = parse_args(argv)
    wrk = board_page.ensure_wrk()
    original_environment = dict(os.environ)
    lines, summaries, duplicates = [], [], 0
    try:
        for database in args.databases:
            results, found = bench_database(database, args, wrk)
            duplicates += found
            for (op, connections), run in results.items():
                lines.append(f"writes db={database} op={op} connections={connections} per_s={run['per_s']:.0f} "
                             f"{latency_and_errors(run)} cpu_ms={run['cpu_ms']:.2f} statements={run['statements']:.1f}")
            summary_connections = 50 if 50 in args.connections else max(args.connections)
            for op, one in (("moves", "move"), ("creates", "create")):
                run = results[op, summary_connections]
                summaries.append(f"writes db={database} {op}_per_s={run['per_s']:.0f} {latency_and_errors(run)} "
                                 f"cpu_ms_per_{one}={run['cpu_ms']:.2f} statements_per_{one}={run['statements']:.1f}")
    except SetupError as error:
        print(f"ERROR: the set-up is wrong: {error}", file=sys.stderr)
        return 2
    finally:
        os.environ.clear()
        os.environ.update(original_environment)
    print(f"duplicates={duplicates}")
    print("\n".join(lines + summaries))
    return 1 if duplicates else 0


if __name__ == "__main__":
    sys.exit(main())
