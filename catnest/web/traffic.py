"""Each bot's recent OneBot traffic: actions it called (params and result) and events pushed.

The chat page's second pane shows it so a developer can see what their bot did. The transports
record into one `TrafficLog` shared by every adapter (two call sites: after an action is
dispatched, and when an event is encoded); it keeps a bounded ring per bot and tells
subscribers of each new entry. Entries are encoded to JSON once, when recorded, and an entry
past `max_entry_bytes` keeps its summary but drops the big part, so memory stays bounded by
`capacity × max_entry_bytes` per bot whatever the bot sends.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

log = logging.getLogger(__name__)

# Entries kept per bot: several screens of the pane, and the last minutes of a busy test.
DEFAULT_CAPACITY = 500
# One entry's JSON at most; a 16 MiB base64 image in params would otherwise be kept whole.
DEFAULT_MAX_ENTRY_BYTES = 32 * 1024


@dataclass(slots=True)  # not frozen: a frozen init costs a microsecond per action call
class TrafficEntry:
    """One recorded action call or pushed event; `data` is its JSON object, encoded."""

    seq: int
    bot_id: int
    kind: str  # "action" or "event"
    name: str  # the action's name, or the event's post_type (and detail type)
    ok: bool
    data: bytes

    def as_json(self) -> Any:
        """The entry as a value to embed in a larger orjson document, without re-encoding."""
        return orjson.Fragment(self.data)


TrafficListener = Callable[[TrafficEntry], None]


class TrafficLog:
    """A bounded ring of recent entries per bot, plus subscribers (who must only enqueue)."""

    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.capacity = capacity
        self.max_entry_bytes = max_entry_bytes
        self._clock = clock
        self._rings: dict[int, deque[TrafficEntry]] = {}
        self._listeners: dict[int | None, list[TrafficListener]] = {}
        self.last_seq = 0

    # --- recording (called by the transports) ------------------------------------------------

    def record_action(
        self,
        bot_id: int,
        action: Any,
        params: Any,
        response: Mapping[str, Any],
        elapsed_ms: float | None = None,
    ) -> None:
        """Record one action call by `bot_id` and the envelope it was answered with."""
        name = action if isinstance(action, str) else repr(action)
        retcode = response.get("retcode")
        self.last_seq += 1
        # One dict, in the order the pane reads it, encoded once: every action call of every
        # bot passes here.
        record_obj: dict[str, Any] = {
            "seq": self.last_seq,
            "time": round(self._clock(), 3),
            "bot_id": bot_id,
            "kind": "action",
            "action": name,
            "params": params,
            "retcode": retcode,
            "status": response.get("status"),
            "message": response.get("message", ""),
            "data": response.get("data"),
        }
        if elapsed_ms is not None:
            record_obj["elapsed_ms"] = round(elapsed_ms, 3)
        self._keep(bot_id, "action", name, retcode == 0, record_obj, ("params", "data"))

    def record_event(self, bot_id: int, event: bytes | Mapping[str, Any]) -> None:
        """Record one event pushed to `bot_id` (its encoded JSON as sent, or the object)."""
        if isinstance(event, bytes | bytearray):
            try:
                obj: Any = orjson.loads(event)
            except orjson.JSONDecodeError:
                obj = {"undecodable": True}
        else:
            obj = event
        name = "event"
        if isinstance(obj, Mapping):
            post_type = str(obj.get("post_type", "event"))
            detail = obj.get(f"{post_type}_type") or obj.get("message_type")
            name = f"{post_type}.{detail}" if detail else post_type
        self.last_seq += 1
        record_obj = {
            "seq": self.last_seq,
            "time": round(self._clock(), 3),
            "bot_id": bot_id,
            "kind": "event",
            "event": obj,
        }
        self._keep(bot_id, "event", name, True, record_obj, ("event",))

    def _keep(
        self,
        bot_id: int,
        kind: str,
        name: str,
        ok: bool,
        record_obj: dict[str, Any],
        bulky: tuple[str, ...],
    ) -> None:
        data = _encode(record_obj)
        if len(data) > self.max_entry_bytes:
            # Keep what the pane lists (name, outcome) and say how much was left out.
            for key in bulky:
                del record_obj[key]
            record_obj["truncated"] = {"bytes": len(data), "fields": list(bulky)}
            data = _encode(record_obj)
        record = TrafficEntry(self.last_seq, bot_id, kind, name, ok, data)
        ring = self._rings.get(bot_id)
        if ring is None:
            ring = self._rings[bot_id] = deque(maxlen=self.capacity)
        ring.append(record)
        if self._listeners:
            self._tell(bot_id, record)

    def _tell(self, bot_id: int, record: TrafficEntry) -> None:
        for listener in (*self._listeners.get(bot_id, ()), *self._listeners.get(None, ())):
            try:
                listener(record)
            except Exception:
                log.exception("traffic listener failed")

    # --- reading -------------------------------------------------------------------------------

    def recent(self, bot_id: int, after: int = 0, limit: int | None = None) -> list[TrafficEntry]:
        """`bot_id`'s kept entries with seq > `after`, oldest first (the last `limit`)."""
        entries = [e for e in self._rings.get(bot_id, ()) if e.seq > after]
        if limit is not None:
            entries = entries[-limit:] if limit > 0 else []
        return entries

    def bots(self) -> list[int]:
        """The bots with recorded traffic."""
        return sorted(self._rings)

    def subscribe(self, bot_id: int | None, listener: TrafficListener) -> Callable[[], None]:
        """Call `listener` with each new entry of `bot_id` (every bot if None).

        Returns the function that unsubscribes it.
        """
        bucket = self._listeners.setdefault(bot_id, [])
        bucket.append(listener)

        def unsubscribe() -> None:
            if listener in bucket:
                bucket.remove(listener)

        return unsubscribe


def _encode(obj: dict[str, Any]) -> bytes:
    # Params come from a client and are plain JSON, but a failed action may carry anything
    # (non-str keys, objects): never let recording fail the call it records.
    try:
        return orjson.dumps(obj)
    except TypeError:
        return orjson.dumps(obj, default=repr, option=orjson.OPT_NON_STR_KEYS)
