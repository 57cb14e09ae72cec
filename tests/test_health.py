"""/healthz (liveness) and /readyz (readiness): the database and Redis, checked at once, each
within READY_TIMEOUT."""
import time

import pytest

from webapp import create_app, main
from tests.conftest import app_config
from tests.redis_server import private_redis  # noqa: F401 -- a fixture

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"


def ready(app, **headers):
    started = time.monotonic()
    with app.test_client().get("/readyz", headers=headers) as response:
        return response, time.monotonic() - started


def test_healthz_is_cheap_and_public(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_ready_on_sqlite(app):
    response, _ = ready(app)
    assert response.status_code == 200
    assert response.json == {"status": "ready", "checks": {"database": "ok"}}
    assert response.headers["Cache-Control"] == "no-store"


def test_ready_with_redis_up(app, private_redis):  # noqa: F811
    app.config["REDIS_URL"] = private_redis.url
    response, _ = ready(app)
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "redis": "ok"}


def test_a_killed_redis_is_named(app, private_redis):  # noqa: F811
    app.config["REDIS_URL"] = private_redis.url
    private_redis.kill()
    response, elapsed = ready(app)
    assert response.status_code == 503
    assert response.json == {"status": "unavailable",
                             "checks": {"database": "ok", "redis": "failed: ConnectionError"}}
    assert elapsed < 1


def test_a_frozen_redis_is_named_within_the_timeout(app, private_redis):  # noqa: F811
    app.config.update(REDIS_URL=private_redis.url, READY_TIMEOUT=0.5)
    private_redis.freeze()
    response, elapsed = ready(app)
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "ok", "redis": "timed out after 0.5 s"}
    assert 0.45 <= elapsed < 1.5


def test_the_checks_run_at_the_same_time(app, private_redis, monkeypatch):  # noqa: F811
    def slow(*args):
        time.sleep(0.4)
    monkeypatch.setattr(main, "ping_database", slow)
    monkeypatch.setattr(main, "ping_redis", slow)
    app.config.update(REDIS_URL=private_redis.url, READY_TIMEOUT=2)
    response, elapsed = ready(app)
    assert response.status_code == 200
    assert elapsed < 0.75, f"one after the other: {elapsed:.2f} s"


def test_a_database_that_hangs_is_named_within_the_timeout(app, monkeypatch):
    monkeypatch.setattr(main, "ping_database", lambda engine: time.sleep(3))
    app.config["READY_TIMEOUT"] = 0.3
    response, elapsed = ready(app)
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "timed out after 0.3 s"}
    assert elapsed < 1.5  # the stuck check's thread is not waited for


def postgres_or_skip():
    import psycopg
    try:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=2,
                             autocommit=True) as connection:
            if not connection.execute("SELECT 1 FROM pg_database WHERE datname = 'health_tests'").fetchone():
                connection.execute("CREATE DATABASE health_tests")
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432: {error}")


def test_ready_on_postgresql(tmp_path):
    postgres_or_skip()
    app = create_app(app_config(f"{POSTGRES}/health_tests", tmp_path))
    response, _ = ready(app)
    assert response.status_code == 200 and response.json["checks"] == {"database": "ok"}
    with app.app_context():
        from webapp.extensions import db
        db.engine.dispose()


def test_a_wrong_database_url_is_named(tmp_path):
    postgres_or_skip()
    app = create_app(app_config(f"{POSTGRES}/no_such_database_here", tmp_path))
    response, _ = ready(app)
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "checks": {"database": "failed: OperationalError"}}


def test_checks_stuck_for_good_neither_pile_up_nor_hold_the_process(app, monkeypatch):
    import threading
    release = threading.Event()
    monkeypatch.setattr(main, "ping_database", lambda engine: release.wait(10))
    app.config["READY_TIMEOUT"] = 0.1
    try:
        for _ in range(main.CHECKS_IN_FLIGHT._initial_value):
            assert ready(app)[0].status_code == 503
        stuck = [thread for thread in threading.enumerate() if thread.name.startswith("readyz-")]
        assert stuck and all(thread.daemon for thread in stuck)
        response, elapsed = ready(app)
        assert response.json["checks"] == {"database": "timed out after 0.1 s"} and elapsed < 0.1
    finally:
        release.set()
    deadline = time.monotonic() + 5
    while main.CHECKS_IN_FLIGHT._value < main.CHECKS_IN_FLIGHT._initial_value and time.monotonic() < deadline:
        time.sleep(0.01)
    monkeypatch.undo()
    assert ready(app)[0].status_code == 200
