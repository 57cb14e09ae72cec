"""A Redis server of a test's own, on a spare port, that the test can kill, freeze and restart
(never the shared one on 6379)."""
import os
import shutil
import signal
import subprocess
import time

import pytest

from tests.servers import free_port

REDIS_SERVER = shutil.which("redis-server")


class PrivateRedis:
    def __init__(self, tmp_path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tmp_path
        self.process = None
        self.start()

    def start(self) -> None:
        import redis
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_timeout=0.5).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        """Redis dies (and forgets everything: no persistence)."""
        self.process.kill()
        self.process.wait(5)

    def restart(self) -> None:
        self.kill()
        self.start()

    def freeze(self) -> None:
        """Redis stalls: connections are accepted by the kernel, nothing is answered."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.thaw()
            self.kill()


@pytest.fixture
def private_redis(tmp_path):
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(tmp_path)
    try:
        yield server
    finally:
        server.stop()
