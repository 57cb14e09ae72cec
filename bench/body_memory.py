"""How much memory large request bodies cost the server: N concurrent anonymous posts of S MiB.

    .venv/bin/python bench/body_memory.py [--posts 100 --size-mb 15]

Starts Corkboard itself (a throw-away SQLite database, one Hypercorn process, `--workers 0` so
the process measured is the one serving), reads its VmRSS, sends the posts all at once from
threads over raw sockets (one shared body, so the client stays small), then reads the server's
VmHWM (the peak) and, a moment later, its VmRSS again. The last line is machine-readable:

    body_memory posts=100 size_mb=15 rss_start_mb=… rss_peak_mb=… rss_after_mb=…

Target: rss_peak_mb <= 400. `rss_peak_mb(base_url, server_pid, posts, size_mb)` is the measure
alone, for other benchmarks (bench/faults.py) that start the server their own way.

The posts go where an anonymous attacker would send them, in turn: a multipart upload to the login
form (a public page, so the body is read whole), a urlencoded form to the signup page, a multipart
card create (needs an account) and a multipart post to a URL that does not exist.
"""
import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
MULTIPART, URLENCODED = "multipart/form-data; boundary=corkboard-bench", "application/x-www-form-urlencoded"
TARGETS = (("/login", MULTIPART), ("/signup", URLENCODED), ("/boards/1/columns/1/cards", MULTIPART),
           ("/no/such/page", MULTIPART))


def vm_kb(pid: int, field: str) -> int:
    """A VmRSS / VmHWM line of /proc/<pid>/status, in kB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def post(host: str, port: int, path: str, body: memoryview, content_type: str = URLENCODED,
         timeout: float = 60, headers: dict | None = None) -> int | None:
    """One POST over a raw socket; the status, or None if the server closed first
    (it may refuse a body before reading it, and then closes the connection)."""
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n{extra}"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            sock.sendall(head)
            sock.sendall(body)
        except OSError:
            pass  # refused early: read what it answered, if anything
        try:
            status_line = sock.makefile("rb").readline()
        except OSError:
            return None
    parts = status_line.split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def rss_peak_mb(base_url: str, server_pid: int, posts: int = 100, size_mb: int = 15,
                targets=TARGETS, headers: dict | None = None) -> dict:
    """Send `posts` anonymous posts of `size_mb` MiB at once to the server at `base_url`, whose
    serving process is `server_pid`, to `targets` ((path, content type) in turn) with `headers`
    (a member's cookie, say). Returns rss_start_mb, rss_peak_mb (the process's VmHWM, its highest
    RSS ever, so start from a fresh process), rss_after_mb (a second later) and the statuses
    received ({status or None: count})."""
    parts = urlsplit(base_url)
    host, port = parts.hostname, parts.port or 80
    head = (b"--corkboard-bench\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nx\r\n--corkboard-bench\r\n"
            b"Content-Disposition: form-data; name=\"files\"; filename=\"big.bin\"\r\n\r\n")
    tail = b"\r\n--corkboard-bench--\r\n"
    size = size_mb * 1024 * 1024
    bodies = {MULTIPART: memoryview(head + b"x" * (size - len(head) - len(tail)) + tail),
              URLENCODED: memoryview(b"title=" + b"x" * (size - 6))}
    start = vm_kb(server_pid, "VmRSS")
    statuses: dict = {}
    lock = threading.Lock()

    def one(index: int) -> None:
        try:
            path, content_type = targets[index % len(targets)]
            status = post(host, port, path, bodies[content_type], content_type, headers=headers)
        except OSError:
            status = None
        with lock:
            statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=one, args=(index,), daemon=True) for index in range(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    peak = vm_kb(server_pid, "VmHWM")
    time.sleep(1)
    after = vm_kb(server_pid, "VmRSS")
    return {"rss_start_mb": round(start / 1024), "rss_peak_mb": round(peak / 1024),
            "rss_after_mb": round(after / 1024), "statuses": statuses}


# --------------------------------------------------------------------------- a server of its own

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    database = f"sqlite:///{folder / 'bench.db'}"
    # No access log: its stderr is a pipe read only if the server fails to start.
    env = {**os.environ, "DATABASE_URL": database, "SECRET_KEY": "bench-body-memory", "REDIS_URL": "", "LOG_ACCESS": "0"}
    migrated = subprocess.run([str(VENV_BIN / "flask"), "--app", "webapp", "db", "upgrade"],
                              cwd=ROOT, env=env, capture_output=True, text=True)
    if migrated.returncode:
        raise RuntimeError(f"flask db upgrade failed:\n{migrated.stdout}{migrated.stderr}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # --workers 0: served in this very process, so its pid is the one to measure.
    process = subprocess.Popen([str(VENV_BIN / "hypercorn"), "--workers", "0", "--bind", f"127.0.0.1:{port}",
                                "--graceful-timeout", "2", "webapp.asgi:app"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Hypercorn exited:\n{process.stderr.read().decode()[-3000:]}")
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1).read()
            return process, url
        except OSError:
            time.sleep(0.1)
    stop_server(process)
    raise RuntimeError("Hypercorn did not answer /healthz")


def stop_server(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100)
    parser.add_argument("--size-mb", type=int, default=15)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="body-memory-") as folder:
        process, url = start_server(Path(folder))
        try:
            result = rss_peak_mb(url, process.pid, args.posts, args.size_mb)
        finally:
            stop_server(process)
    print("statuses:", ", ".join(f"{status}: {count}" for status, count in sorted(
        result["statuses"].items(), key=lambda item: str(item[0]))))
    print(f"body_memory posts={args.posts} size_mb={args.size_mb} rss_start_mb={result['rss_start_mb']} "
          f"rss_peak_mb={result['rss_peak_mb']} rss_after_mb={result['rss_after_mb']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
