"""Configuration: defaults in code, secrets and URLs from the environment."""
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"

DEV_SECRET_KEY = "dev-only-not-secret"

# Largest request body Flask accepts; the ASGI front buffers a little more so that
# Flask, not Hypercorn, answers an oversized request (with a clear 413).
MAX_CONTENT_LENGTH = 16 * 1024 * 1024

# A request body up to this size is read into memory, as long as all the bodies one process holds
# in memory fit in REQUEST_BODIES_IN_MEMORY; any other body is written to a temporary file on disk
# as it arrives (webapp/wsgi.py), so a burst of large uploads costs disk space, not memory.
REQUEST_BODY_IN_MEMORY = 512 * 1024
REQUEST_BODIES_IN_MEMORY = int(os.environ.get("CORKBOARD_BODY_MEMORY_MB", "32")) * 1024 * 1024

# Threads that run Flask in each Hypercorn worker (webapp/asgi.py). A few: the GIL runs one at
# a time, and every database call hands it over, so more threads mostly wait for each other
# (the board page served at 560 req/s with 16 threads a worker, 880 with 4, 680 with 1).
# Each thread can hold a database connection: the pool keeps that many open.
THREADS = int(os.environ.get("CORKBOARD_THREADS", "4"))


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'corkboard.db'}"
    # Hosting platforms hand out postgres:// (and mysql://) URLs; SQLAlchemy wants a driver name.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    for prefix in ("mysql://", "mariadb://"):
        if url.startswith(prefix):
            url = prefix[:-3] + "+pymysql://" + url[len(prefix):]
    if is_mysql(url) and "charset=" not in url:
        # Four bytes a character, so that any title (emoji included) is stored as typed.
        url += ("&" if "?" in url else "?") + "charset=utf8mb4"
    return url


def is_mysql(url: str) -> bool:
    """MariaDB (or MySQL), whichever driver the URL names."""
    return url.startswith(("mysql", "mariadb"))


def engine_options(url: str) -> dict:
    if url == "sqlite://" or ":memory:" in url:  # one shared connection
        return {}
    if url.startswith("sqlite"):
        return {"pool_size": THREADS}
    # A server connection can drop while pooled; a SQLite file cannot.
    options = {"pool_size": THREADS, "pool_pre_ping": True}
    if is_mysql(url):
        # DATETIME columns hold no time zone: the app writes UTC, and NOW() (the columns'
        # defaults) must read UTC too, whatever the server's own zone is.
        options["connect_args"] = {"init_command": "SET time_zone = '+00:00'"}
    return options


def from_environment() -> dict:
    url = database_url()
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": url,
        "MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH,
        # Each attached file; several files in one upload still share MAX_CONTENT_LENGTH.
        "MAX_ATTACHMENT_SIZE": int(os.environ.get("MAX_ATTACHMENT_MB", "10")) * 1024 * 1024,
        # Files in one upload, and pixels in one image: an image's size is read from its header
        # before anything is stored, so a small file that would decode to gigabytes is refused.
        "MAX_FILES_PER_UPLOAD": int(os.environ.get("MAX_FILES_PER_UPLOAD", "10")),
        "MAX_IMAGE_PIXELS": int(float(os.environ.get("MAX_IMAGE_MEGAPIXELS", "40")) * 1_000_000),
        # Where request bodies too large for memory are spooled (webapp/wsgi.py); unset means the
        # system's temporary folder.
        "REQUEST_BODY_FOLDER": os.environ.get("REQUEST_BODY_FOLDER"),
        # Where attachments are kept, outside static/; unset means instance/uploads.
        "UPLOAD_FOLDER": os.environ.get("UPLOAD_FOLDER"),
        # Where an import's CSV file waits for its preview, and background jobs keep their state
        # (without REDIS_URL); unset means instance/imports and instance/jobs.
        "IMPORT_FOLDER": os.environ.get("IMPORT_FOLDER"),
        "JOBS_FOLDER": os.environ.get("JOBS_FOLDER"),
        # Imports written at once by one process; more wait their turn.
        "IMPORT_THREADS": int(os.environ.get("IMPORT_THREADS", "2")),
        # The board page stays open for hours: its CSRF token lasts as long as the session.
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_HEADERS": ["X-CSRFToken"],
        "REMEMBER_COOKIE_DURATION": 60 * 60 * 24 * 30,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE") == "1",
        "REMEMBER_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE") == "1",
        "TEMPLATES_AUTO_RELOAD": None,
        # Logs on standard error: "json" (one object a line, as `make run` sets it) or "text";
        # LOG_ACCESS=0 leaves out the line each request writes (webapp/logs.py).
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "LOG_ACCESS": os.environ.get("LOG_ACCESS", "1") == "1",
        # How long /readyz waits for the database, and for Redis, before it calls them down.
        "READY_TIMEOUT": float(os.environ.get("READY_TIMEOUT", "1")),
    }
