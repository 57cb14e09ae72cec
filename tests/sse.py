"""An EventSource's reading of a stream, as the HTML standard defines it (9.2.6 Interpreting
an event stream): lines end at CRLF, LF or a lone CR; a blank line dispatches the event."""
import re

LINE_BREAK = re.compile(r"\r\n|\r|\n")


def parse_event_stream(raw: str) -> list[dict]:
    """Every event the browser dispatches: {"event", "data", "id"} (id: its lastEventId then)."""
    lines = LINE_BREAK.split(raw)
    lines.pop()  # the text after the last line break is an unfinished line: not yet read
    events, data, event_type, last_id = [], [], "", ""
    for line in lines:
        if line == "":
            if data:
                events.append({"event": event_type or "message", "data": "\n".join(data), "id": last_id})
            data, event_type = [], ""
            continue
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            event_type = value
        elif name == "data":
            data.append(value)
        elif name == "id" and "\0" not in value:
            last_id = value
    return events
