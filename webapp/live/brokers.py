"""Brokers carry events from the Flask threads that publish them to the streams that show them:
in-process by default, through Redis pub/sub when REDIS_URL is set (several workers or machines).

Publishing never fails or blocks a committed change. The memory broker only takes a lock; the
Redis broker hands the event to a thread of its own through a bounded queue and returns. If
Redis is down or stalled, events are dropped (a board that lost some is told to reload once
Redis is back), open pages say live updates are paused, and when the subscription comes back
they reload their board to catch up.
"""
import asyncio
import atexit
import json
import logging
import queue
import threading
import time
from collections import defaultdict, deque
from typing import NamedTuple

from .events import (CLOSED, EPOCH_START, PAUSED, RESUMED, SEQ_LIMIT, Event, epoch_of, event_id, missed,
                     new_epoch)
from .subscriber import Subscriber

log = logging.getLogger(__name__)

LOG_SIZE = 500  # events kept per board for reconnecting browsers
REDIS_TIMEOUT = 0.5  # seconds any one Redis call may take before Redis counts as unreachable
QUEUE_SIZE = 1000  # events waiting for Redis; past that they are dropped (the board reloads later)
HEARTBEAT = 0.5  # the subscription pings Redis when it has heard nothing for this long...
STALLED = 2.0  # ...and counts it as gone when nothing, not even the answer, came for this long
RECONNECT_MAX = 2.0  # longest wait between attempts to reach Redis again


class Replay(NamedTuple):
    """What a stream starts with: the events it missed (None: reload the board instead), the
    board's newest id (the page continues from there), and whether updates reach it now."""
    events: list | None
    newest: int
    live: bool = True


class MemoryBroker:
    """Events within one process. Thread-safe publish; delivery on the event loop."""

    kind = "memory"

    def __init__(self, log_size: int = LOG_SIZE):
        self._lock = threading.Lock()
        self.log_size = log_size
        self._logs: dict[int, deque] = defaultdict(lambda: deque(maxlen=log_size))
        self._last_id: dict[int, int] = {}
        self.epoch = new_epoch()  # ids from this process outrank every id of the one before it
        self._subscribers: dict[int, set] = defaultdict(set)
        self._presence: dict[int, dict[int, list]] = defaultdict(dict)  # board -> user -> [name, streams]
        self.loop: asyncio.AbstractEventLoop | None = None
        self.connected = True  # whether published events reach the streams (within one process, always)
        self.publish_max = 0.0  # the longest a publish (by a request that changed something) has taken, in s

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        self.deliver_all(CLOSED)

    def newest(self, board_id: int) -> int:
        return self._last_id.get(board_id) or event_id(self.epoch, 0)

    def status(self) -> dict:
        """For operators (GET /healthz/live): whether live updates flow, and what publishing costs."""
        return {"broker": self.kind, "connected": self.connected, "publish_max_ms": round(self.publish_max * 1000, 3)}

    def publish(self, board_id: int, name: str, data: str = "", user_id: int | None = None) -> Event | None:
        started = time.perf_counter()
        with self._lock:
            last = self.newest(board_id)
            next_id = last + 1 if last & SEQ_LIMIT != SEQ_LIMIT else event_id(new_epoch(), 1)
            self._last_id[board_id] = next_id
            event = Event(next_id, board_id, name, data, user_id)
            self._logs[board_id].append(event)
        self._schedule(self._deliver, event)
        self.publish_max = max(self.publish_max, time.perf_counter() - started)
        return event

    def _schedule(self, callback, *args) -> None:
        """Run `callback(*args)` on the event loop: now if this is it, else soon (thread-safe)."""
        if self.loop is None or self.loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            callback(*args)
        else:
            try:
                self.loop.call_soon_threadsafe(callback, *args)
            except RuntimeError:  # the loop closed meanwhile (shutting down)
                pass

    def _deliver(self, event: Event) -> None:
        for subscriber in list(self._subscribers.get(event.board_id, ())):
            subscriber.deliver(event)

    def deliver_all(self, event) -> None:
        """To every stream of every board (a change of state, not a board's event)."""
        for subscribers in list(self._subscribers.values()):
            for subscriber in list(subscribers):
                subscriber.deliver(event)

    async def subscribe(self, subscriber: Subscriber) -> Replay:
        """Register, and say what the stream missed since `subscriber.last_id`."""
        with self._lock:
            self._subscribers[subscriber.board_id].add(subscriber)
            newest = self.newest(subscriber.board_id)
            return Replay(missed(list(self._logs.get(subscriber.board_id, ())), subscriber.last_id, newest), newest)

    async def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers[subscriber.board_id].discard(subscriber)

    async def join(self, subscriber: Subscriber) -> None:
        watchers = self._presence[subscriber.board_id]
        watchers.setdefault(subscriber.user_id, [subscriber.name, 0])[1] += 1

    async def leave(self, subscriber: Subscriber) -> None:
        watchers = self._presence[subscriber.board_id]
        entry = watchers.get(subscriber.user_id)
        if entry:
            entry[1] -= 1
            if entry[1] <= 0:
                del watchers[subscriber.user_id]

    async def present(self, board_id: int) -> list[tuple[int, str]]:
        return present(self._presence[board_id])

    async def announce(self, board_id: int, data: str) -> None:
        """Send an event that is not kept for replay (who is here changes; old news is useless)."""
        self._deliver(Event(0, board_id, "presence", data))



def present(watchers: dict) -> list[tuple[int, str]]:
    return sorted(((user_id, entry[0]) for user_id, entry in watchers.items()), key=lambda item: item[1].lower())


# Publish atomically: number the event, keep it in the board's log, tell every process.
# The board's epoch is kept with the run id of the Redis server that counted it: a Redis that
# restarted (empty, or from an older snapshot) starts a new epoch from its clock, never reusing ids.
PUBLISH_SCRIPT = """
local server = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
local stored = redis.call('GET', KEYS[4])
local epoch, run_id, seq
if stored then epoch, run_id = string.match(stored, '^(%d+) (.*)$') end
if run_id == server then
  seq = redis.call('INCR', KEYS[1])
end
if not seq or seq > tonumber(ARGV[3]) then
  local now = redis.call('TIME')
  local fresh = tonumber(now[1]) * 100 + math.floor(tonumber(now[2]) / 10000) - tonumber(ARGV[4])
  if epoch and fresh <= tonumber(epoch) then fresh = tonumber(epoch) + 1 end
  epoch = string.format('%d', fresh)
  redis.call('SET', KEYS[4], epoch .. ' ' .. server)
  redis.call('SET', KEYS[1], 1)
  seq = 1
end
local message = epoch .. ':' .. seq .. ' ' .. ARGV[1]
redis.call('RPUSH', KEYS[2], message)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
redis.call('PUBLISH', KEYS[3], message)
return seq
"""


class Publisher:
    """Sends events to Redis from a thread of its own, so that no request waits for Redis."""

    def __init__(self, broker: "RedisBroker"):
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
        self.broker = broker
        # SimpleQueue: a put never waits for a lock (nor gives up the GIL); the bound is checked first.
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.gaps: set[int] = set()  # boards whose events were dropped: each is told to reload
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.healthy = True
        # Short timeouts and no retries: a stalled Redis costs this thread half a second, not a request.
        self.client = redis.Redis.from_url(broker.url, socket_timeout=broker.timeout,
                                           socket_connect_timeout=broker.timeout, retry=Retry(NoBackoff(), 0))
        self.script = self.client.register_script(PUBLISH_SCRIPT)

    def submit(self, board_id: int, event: tuple) -> None:
        """Queue the event (name, data, user_id) and return at once; a full queue drops it (the
        board reloads later). It is encoded on the publisher's thread, not the request's."""
        if self.thread is None:
            self._start()
        if self.queue.qsize() < QUEUE_SIZE:
            self.queue.put((board_id, event))
        else:
            with self.lock:
                self.gaps.add(board_id)

    def _start(self) -> None:
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="live-publisher", daemon=True)
                self.thread.start()
                # A command (an import, say) that exits right after its change still sends the event.
                atexit.register(self.close, 2.0)

    def _run(self) -> None:
        backoff = 0.0
        while True:
            try:
                item = self.queue.get(timeout=max(backoff, 0.2) if self.gaps else None)
            except queue.Empty:
                item = ()  # nothing new: time to tell the boards that lost events
            if item is None:
                return
            try:
                if item:
                    self._send(*item)
                self._send_gaps()
            except Exception as error:  # Redis is unreachable (or refused the event): never let the thread die
                if item:
                    with self.lock:
                        self.gaps.add(item[0])
                if self.healthy:
                    log.warning("Live updates: cannot publish to Redis (%s); boards will reload once it is back", error)
                self.healthy = False
                backoff = min(max(backoff * 2, 0.05), RECONNECT_MAX)
                time.sleep(backoff)
                if not self._drop_queued():
                    return
                continue
            if not self.healthy:
                log.warning("Live updates: publishing to Redis again")
            self.healthy, backoff = True, 0.0

    def _drop_queued(self) -> bool:
        """While Redis is unreachable, what queued up would be stale by the time it is back: each
        board it was for reloads instead. False if the publisher was told to stop meanwhile."""
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                return True
            if item is None:
                return False
            with self.lock:
                self.gaps.add(item[0])

    def _send(self, board_id: int, event: tuple | str) -> None:
        body = event if isinstance(event, str) else json.dumps(dict(zip(("name", "data", "user_id"), event)))
        self.script(keys=self.broker.keys(board_id), args=[body, self.broker.log_size, SEQ_LIMIT, EPOCH_START])

    def _send_gaps(self) -> None:
        while self.gaps:
            with self.lock:
                board_id = self.gaps.pop()
            try:
                self._send(board_id, REFRESH_BODY)
            except Exception:
                with self.lock:
                    self.gaps.add(board_id)
                raise

    def close(self, wait: float = 0.5) -> None:
        """Send what is queued, for up to `wait` seconds, then stop."""
        if self.thread is None or not self.thread.is_alive():
            return
        self.queue.put(None)
        self.thread.join(wait)


REFRESH_BODY = json.dumps({"name": "refresh", "data": "", "user_id": None})


class RedisBroker(MemoryBroker):
    """Events through Redis pub/sub, shared by every process; the log and presence live in Redis."""

    kind = "redis"

    def __init__(self, url: str, log_size: int = LOG_SIZE, prefix: str = "corkboard", timeout: float = REDIS_TIMEOUT):
        super().__init__(log_size)
        import redis
        self.prefix = f"{prefix}:board:"
        self.url = url
        self.timeout = timeout
        self.errors = (redis.RedisError, OSError, asyncio.TimeoutError)
        self.publisher = Publisher(self)
        self.connected = False  # until the subscription is up
        self._reader: asyncio.Task | None = None
        self._client = None

    def keys(self, board_id: int) -> list[str]:
        base = f"{self.prefix}{board_id}"
        return [f"{base}:seq", f"{base}:log", f"{base}:events", f"{base}:epoch"]

    def _redis_options(self) -> dict:
        from redis.backoff import NoBackoff
        from redis.retry import Retry
        return {"socket_connect_timeout": self.timeout, "retry": Retry(NoBackoff(), 0)}

    async def start(self) -> None:
        import redis.asyncio
        await super().start()
        # Many streams open at once: wait a moment for a connection rather than fail.
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            self.url, max_connections=50, timeout=self.timeout, socket_timeout=self.timeout, **self._redis_options())
        self._client = redis.asyncio.Redis(connection_pool=pool)
        self._reader = asyncio.create_task(self._read())

    async def stop(self) -> None:
        await super().stop()
        if self._reader:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._client:
            try:
                await asyncio.wait_for(self._client.aclose(), self.timeout)
            except (*self.errors, asyncio.CancelledError):
                pass
        await asyncio.get_running_loop().run_in_executor(None, self.publisher.close)

    def _set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self.deliver_all(RESUMED if connected else PAUSED)

    async def _read(self) -> None:
        """Follow every board's channel; on any failure, pause the streams and try again."""
        import redis.asyncio
        loop = asyncio.get_running_loop()
        backoff = 0.05
        while True:
            client = redis.asyncio.Redis.from_url(self.url, **self._redis_options())
            pubsub = client.pubsub()
            try:
                await asyncio.wait_for(pubsub.psubscribe(f"{self.prefix}*:events"), self.timeout * 2)
                self._set_connected(True)
                backoff = 0.05
                heard = pinged = loop.time()
                while True:
                    message = await pubsub.get_message(timeout=HEARTBEAT)
                    now = loop.time()
                    if message is not None:
                        heard = now
                        if message["type"] == "pmessage":
                            board_id = int(message["channel"].decode()[len(self.prefix):].split(":")[0])
                            self._deliver(parse_message(board_id, message["data"]))
                    elif now - heard > STALLED:
                        raise TimeoutError("Redis stopped answering")
                    elif now - pinged >= HEARTBEAT:
                        pinged = now
                        await asyncio.wait_for(pubsub.ping(), self.timeout)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Redis went away: pause the streams and keep trying
                if self.connected:
                    log.warning("Live updates paused: lost the Redis subscription (%s); retrying", error)
                self._set_connected(False)
            finally:
                await self._close_quietly(pubsub, client)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RECONNECT_MAX)

    async def _close_quietly(self, pubsub, client) -> None:
        try:
            await asyncio.wait_for(asyncio.gather(pubsub.aclose(), client.aclose()), self.timeout)
        except BaseException:  # a dead or stalled connection: nothing to close politely
            pass

    def publish(self, board_id: int, name: str, data: str = "", user_id: int | None = None) -> None:
        started = time.perf_counter()
        self.publisher.submit(board_id, (name, data, user_id))
        self.publish_max = max(self.publish_max, time.perf_counter() - started)

    def status(self) -> dict:
        with self.publisher.lock:
            dropped = len(self.publisher.gaps)
        return {**super().status(), "publishing": self.publisher.healthy, "queued": self.publisher.queue.qsize(),
                "boards_to_reload": dropped}

    async def announce(self, board_id: int, data: str) -> None:
        if self.connected:
            body = json.dumps({"name": "presence", "data": data, "user_id": None})
            await self._client.publish(self.keys(board_id)[2], f"0:0 {body}")

    async def subscribe(self, subscriber: Subscriber) -> Replay:
        self._subscribers[subscriber.board_id].add(subscriber)
        if not self.connected:
            return Replay([], 0, live=False)
        seq_key, log_key, _, epoch_key = self.keys(subscriber.board_id)
        try:
            try:
                stored, seq = await self._client.mget(epoch_key, seq_key)
            except self.errors:  # a pooled connection to a Redis that restarted: once more, on a new one
                stored, seq = await self._client.mget(epoch_key, seq_key)
            newest = event_id(int(stored.split(b" ", 1)[0]), int(seq or 0)) if stored else 0
            last_id = subscriber.last_id
            if last_id is None or last_id == newest:
                return Replay([], newest)
            if not newest or epoch_of(last_id) != epoch_of(newest) or last_id > newest:
                return Replay(None, newest)  # from before Redis restarted: reload the board
            if newest - last_id > self.log_size:
                return Replay(None, newest)
            messages = await self._client.lrange(log_key, -(newest - last_id), -1)  # just the tail
        except self.errors:
            return Replay([], 0, live=False)
        events = [parse_message(subscriber.board_id, message) for message in messages]
        return Replay(missed(events, last_id, newest), newest)

    async def join(self, subscriber: Subscriber) -> None:
        if self.connected:
            key = f"{self.prefix}{subscriber.board_id}:presence"
            await self._client.hset(f"{key}:names", str(subscriber.user_id), subscriber.name)
            await self._client.hincrby(key, str(subscriber.user_id), 1)

    async def leave(self, subscriber: Subscriber) -> None:
        if self.connected:
            key = f"{self.prefix}{subscriber.board_id}:presence"
            if await self._client.hincrby(key, str(subscriber.user_id), -1) <= 0:
                await self._client.hdel(key, str(subscriber.user_id))

    async def present(self, board_id: int) -> list[tuple[int, str]]:
        key = f"{self.prefix}{board_id}:presence"
        counts = await self._client.hgetall(key)
        names = await self._client.hgetall(f"{key}:names")
        watchers = {int(user): [names.get(user, b"?").decode(), int(count)] for user, count in counts.items()
                    if int(count) > 0}
        return present(watchers)


def parse_message(board_id: int, message: bytes) -> Event:
    """An event as the publish script wrote it: "<epoch>:<seq> <json>"."""
    head, body = message.decode().split(" ", 1)
    epoch, _, seq = head.partition(":")
    fields = json.loads(body)
    return Event(event_id(int(epoch), int(seq or 0)), board_id, fields["name"], fields["data"], fields.get("user_id"))
