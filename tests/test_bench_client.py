"""The live benchmark's SSE client counts what arrives: it must read frames the way a browser does."""
import importlib.util
import sys
from pathlib import Path

import pytest

from webapp.live import Event

spec = importlib.util.spec_from_file_location("live_stream", Path(__file__).parent.parent / "bench" / "live_stream.py")
live_stream = importlib.util.module_from_spec(spec)
sys.modules["live_stream"] = live_stream
spec.loader.exec_module(live_stream)


def chunked(*frames: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(frame), frame) for frame in frames)


@pytest.fixture
def run():
    run = live_stream.Run(n=1, events=2)
    run.current, run.open[0] = 0, True
    return run


def subscriber(run):
    reader = live_stream.Subscriber(0, run, b"")
    reader.head, reader.chunked = None, True
    return reader


def test_a_board_frame_counts_once_for_its_move_with_the_servers_own_framing(run):
    frame = Event(7, 1, "board", "<!--v:3-->\n<ul>\n<li>One</li>\n</ul>").frame
    reader = subscriber(run)
    assert reader.feed(chunked(frame), stamp=0.25)
    assert run.move_id[0] == 7 and run.count[0] == 1 and run.latency[0] == [0.25]
    assert reader.last_id == 7 and not run.unexpected


def test_frames_split_across_reads_or_sharing_one_are_all_read(run):
    board = Event(9, 1, "board", "<!--v:4-->\n" + "<li>card</li>\n" * 200).frame
    presence = Event(0, 1, "presence", "<p>Ada</p>").frame
    data = chunked(b": ping\n\n", presence, board)
    reader = subscriber(run)
    for start in range(0, len(data), 700):
        reader.feed(data[start:start + 700], stamp=1.0)
    assert run.presence == 1 and run.count[0] == 1 and reader.last_id == 9


def test_a_frame_whose_id_follows_its_data_is_reported_not_counted(run):
    reader = subscriber(run)
    reader.feed(chunked(b"event: board\ndata: <!--v:1-->\nid: 3\n\n"), stamp=1.0)
    assert run.count[0] == 0 and run.unexpected == ["a board event without an id"]
