"""Per-bot event fan-out: one hub subscription, one encoding per dialect, many connections."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import orjson

from catnest.actions.context import MessageFormat, TrafficRecorder
from catnest.onebot.events import ob11_event
from catnest.world import events as ev
from catnest.world.hub import Hub

log = logging.getLogger(__name__)


class EventSink(Protocol):
    """A connection that wants a bot's events. `offer` must never block."""

    fmt: MessageFormat
    report_self: bool
    debug: bool

    def offer(self, data: bytes) -> None:
        """Queue one encoded event (or drop the connection if it cannot keep up)."""
        ...


def _raw(event: ev.MessageCreated) -> dict[str, Any]:
    # `debug` adds NapCat's `raw`: there it is the NT message; here the stored record's ids.
    m = event.message
    return {
        "msgId": str(m.nt_msg_id),
        "msgSeq": str(m.seq),
        "chatType": m.chat_type,
        "peerUin": str(m.group_id or ""),
    }


class BotEvents:
    """Turns world events into each connected sink's bytes, in commit order."""

    def __init__(self, hub: Hub, self_id: int, traffic: TrafficRecorder | None = None) -> None:
        self.self_id = self_id
        self.traffic = traffic
        self._hub = hub
        self._sinks: list[EventSink] = []
        self._unsubscribe: Callable[[], None] | None = None

    def add(self, sink: EventSink) -> Callable[[], None]:
        """Start sending events to `sink`; returns the function that stops it."""
        self._sinks.append(sink)
        if self._unsubscribe is None:
            self._unsubscribe = self._hub.subscribe(self.self_id, self._publish)

        def remove() -> None:
            if sink in self._sinks:
                self._sinks.remove(sink)
            if not self._sinks and self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None

        return remove

    @property
    def sink_count(self) -> int:
        """How many connections listen now."""
        return len(self._sinks)

    def _publish(self, event: ev.WorldEvent) -> None:
        encoded: dict[tuple[str, bool, bool], bytes | None] = {}
        recorded = self.traffic is None
        for sink in list(self._sinks):
            key = (sink.fmt, sink.report_self, sink.debug)
            if key not in encoded:
                encoded[key] = self._encode(event, sink)
            data = encoded[key]
            if data is None:
                continue
            if not recorded and self.traffic is not None:
                self.traffic.record_event(self.self_id, data)  # once, in the first form sent
                recorded = True
            try:
                sink.offer(data)
            except Exception:
                # One broken connection must not cost the others this event.
                log.exception("bot %s: an event sink failed", self.self_id)

    def _encode(self, event: ev.WorldEvent, sink: EventSink) -> bytes | None:
        obj = ob11_event(event, self_id=self.self_id, fmt=sink.fmt, report_self=sink.report_self)
        if obj is None:
            return None
        if sink.debug and isinstance(event, ev.MessageCreated):
            obj["raw"] = _raw(event)
        return orjson.dumps(obj)
