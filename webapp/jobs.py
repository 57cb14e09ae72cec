"""Background jobs: work that outlasts its request (an import) runs in a thread, and its page
reads how far it got.

A job's state is a small JSON object (`state`, `done`, `total`, `result`, `error`) saved under
its key: in Redis when REDIS_URL is set, so the page can be answered by any worker or machine,
else as a file in the instance folder, shared by the workers of one machine. The job's thread
runs in the process that took the request, at most IMPORT_THREADS at a time (the others wait).

Saving a job's state never fails the job: if the store is away, the job goes on and its page
says the progress cannot be read. A job whose process died (a restart) stops being heard from;
its page says so once it has been silent for STALE_SECONDS.
"""
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis

log = logging.getLogger(__name__)

WAITING, RUNNING, DONE, FAILED = "waiting", "running", "done", "failed"
FINISHED = frozenset({DONE, FAILED})
KEEP_SECONDS = 24 * 3600  # a finished job's page can be reloaded for a day
STALE_SECONDS = {WAITING: 3600, RUNNING: 120}  # silent this long: its process has gone
SAVE_EVERY = 0.25  # seconds between two saves of a running job's progress
KEY = re.compile(r"\A[A-Za-z0-9_-]{1,80}\Z")


class StoreUnavailable(Exception):
    """The job store cannot be read right now."""


class FileStore:
    """Each job in `<folder>/<key>.json`, replaced whole on every save, so a reader never sees
    half a state."""

    def __init__(self, folder: Path):
        self.folder = folder

    def save(self, key: str, state: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=self.folder, prefix=".job-", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(state, file)
            os.replace(temporary, self.folder / f"{key}.json")
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def load(self, key: str) -> dict | None:
        try:
            return json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise StoreUnavailable(str(error)) from error

    def sweep(self) -> None:
        """Jobs finished (or abandoned) more than a day ago are forgotten."""
        cutoff = time.time() - KEEP_SECONDS
        for path in self.folder.glob("*.json"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except FileNotFoundError:  # another worker got there first
                pass


class RedisStore:
    """Each job in one Redis key that expires a day after its last save."""

    def __init__(self, url: str, prefix: str):
        self.client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self.prefix = f"{prefix}:job:"

    def save(self, key: str, state: dict) -> None:
        self.client.set(self.prefix + key, json.dumps(state), ex=KEEP_SECONDS)

    def load(self, key: str) -> dict | None:
        try:
            raw = self.client.get(self.prefix + key)
        except redis.RedisError as error:
            raise StoreUnavailable(str(error)) from error
        return None if raw is None else json.loads(raw)

    def sweep(self) -> None:
        pass  # keys expire by themselves


class Job:
    """A job as its thread reports it: `progress(done, total)` as it goes, then `finish` or `fail`."""

    def __init__(self, jobs: "Jobs", key: str, kind: str):
        self.jobs, self.key = jobs, key
        self.state = {"kind": kind, "state": WAITING, "done": 0, "total": 0, "result": None, "error": None,
                      "updated": time.time()}
        self._saved_at = 0.0

    def progress(self, done: int, total: int) -> None:
        self.state.update(state=RUNNING, done=done, total=total)
        if time.monotonic() - self._saved_at >= SAVE_EVERY or done >= total:
            self.save()

    def finish(self, result: dict) -> None:
        self.state.update(state=DONE, result=result)
        self.save()

    def fail(self, error: str) -> None:
        self.state.update(state=FAILED, error=error)
        self.save()

    def save(self) -> None:
        self.state["updated"] = time.time()
        self._saved_at = time.monotonic()
        try:
            self.jobs.store.save(self.key, self.state)
        except Exception:  # the job goes on; only its page is left behind
            log.warning("Job %s: its state could not be saved", self.key, exc_info=True)


class Jobs:
    """An app's job store and the threads that run its jobs."""

    def __init__(self, app):
        url = app.config.get("REDIS_URL", os.environ.get("REDIS_URL"))
        prefix = app.config.get("REDIS_PREFIX", os.environ.get("REDIS_PREFIX", "corkboard"))
        folder = Path(app.config.get("JOBS_FOLDER") or Path(app.instance_path) / "jobs")
        self.store = RedisStore(url, prefix) if url else FileStore(folder)
        self.app = app
        self._threads = ThreadPoolExecutor(max_workers=app.config.get("IMPORT_THREADS", 2),
                                           thread_name_prefix="job")

    def start(self, key: str, kind: str, work: Callable[[Job], dict]) -> Job:
        """Queue `work(job)` in a thread with an app context. What it returns is the job's result;
        what it raises fails the job with a generic message (a readable one: raise JobFailed)."""
        if not KEY.match(key):
            raise ValueError(f"not a job key: {key!r}")
        job = Job(self, key, kind)
        job.save()
        try:
            self.store.sweep()
        except OSError:
            pass
        self._threads.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Callable[[Job], dict]) -> None:
        with self.app.app_context():
            job.progress(0, 0)
            try:
                result = work(job)
            except JobFailed as failure:
                job.fail(str(failure))
            except Exception:
                log.exception("Job %s failed", job.key)
                job.fail("Something went wrong on our side and nothing was kept. Try again in a moment.")
            else:
                job.finish(result)

    def read(self, key: str) -> dict | None:
        """The job's state as its page shows it, or None for no such job. A job silent for too
        long is reported as failed: the process that ran it has gone (nothing of it was kept,
        since a job's work is one transaction). Raises StoreUnavailable."""
        if not KEY.match(key):
            return None
        state = self.store.load(key)
        if state is None:
            return None
        silent = time.time() - state.get("updated", 0)
        if state["state"] not in FINISHED and silent > STALE_SECONDS[state["state"]]:
            state.update(state=FAILED, error="The server restarted before this finished, and nothing of it "
                                             "was kept. Start it again.")
        return state

    def shutdown(self) -> None:
        """Wait for running jobs and take no more (an app going away, in tests)."""
        self._threads.shutdown(wait=True, cancel_futures=True)


class JobFailed(Exception):
    """A job cannot be done; the message is shown on its page."""


def init_app(app) -> None:
    app.extensions["jobs"] = Jobs(app)
