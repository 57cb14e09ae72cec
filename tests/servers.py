"""Real Hypercorn servers for tests that cross processes, and a small HTTP client for them."""
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HYPERCORN = str(Path(sys.executable).parent / "hypercorn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`hypercorn webapp.asgi:app` in its own process group, stopped with the group;
    several workers are started the production way, `python -m webapp.serve`."""

    def __init__(self, env: dict, port: int | None = None, workers: int = 1):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        bind = f"127.0.0.1:{self.port}"
        command = ([HYPERCORN, "--workers", "1", "--bind", bind, "--graceful-timeout", "2", "webapp.asgi:app"]
                   if workers == 1 else
                   [sys.executable, "-m", "webapp.serve", "--workers", str(workers), "--bind", bind])
        # Its log goes to a file: a pipe nobody reads would fill and stall the server mid-test.
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            command,
            cwd=ROOT, env={**os.environ, **env}, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1).read()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(self.output())
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("Hypercorn did not start")

    def output(self) -> str:
        """What the server has logged so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


class HttpUser:
    """A browser session over plain HTTP: cookies, the CSRF token, HTMX headers."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.token = ""

    def with_base(self, base_url: str) -> "HttpUser":
        other = HttpUser(base_url)
        other.jar, other.opener, other.token = self.jar, self.opener, self.token
        return other

    def request(self, method, path, data=None, headers=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def login(self, email, password) -> "HttpUser":
        _, page = self.request("GET", "/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        status, _ = self.request("POST", "/login", {"email": email, "password": password, "csrf_token": token})
        assert status == 200, status  # followed the redirect to the boards
        return self

    def board_page(self, board_id) -> str:
        status, page = self.request("GET", f"/boards/{board_id}")
        assert status == 200, status
        self.token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
        return page

    def hx(self, method, path, data=None):
        return self.request(method, path, data, {"HX-Request": "true", "X-CSRFToken": self.token,
                                                 "Content-Type": "application/x-www-form-urlencoded"})


def stream_path(board_page: str) -> str:
    return re.search(r'sse-connect="([^"]+)"', board_page).group(1).replace("&amp;", "&")


class EventStream:
    """An open SSE connection, read frame by frame."""

    def __init__(self, base_url: str, path: str, headers=None):
        import http.client
        host, port = base_url.rsplit("//", 1)[1].split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=10)
        self.connection.request("GET", path, headers=headers or {})
        self.response = self.connection.getresponse()
        self.status = self.response.status

    def frame(self) -> dict:
        fields, line = {}, None
        while True:
            line = self.response.readline().decode()
            if line in ("\n", ""):
                if fields or line == "":
                    return fields
                continue
            if line.startswith(":"):
                continue
            key, _, value = line.rstrip("\n").partition(": ")
            fields[key] = fields.get(key, "") + ("\n" if key == "data" and key in fields else "") + value

    def frame_named(self, name, limit=50) -> dict:
        for _ in range(limit):
            frame = self.frame()
            if frame.get("event") == name:
                return frame
        raise AssertionError(f"no {name} event")

    def close(self):
        self.connection.close()
