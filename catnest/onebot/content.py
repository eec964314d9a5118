"""Message content as the world stores it, and the rules that turn a `message` into it.

Both front ends send messages (bots through OneBot actions, virtual users through the user
API): each builds its content here, so what a bot can send a user can, under the same limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from catnest.limits import Limits
from catnest.onebot.cqcode import Segment
from catnest.onebot.errors import BadParams
from catnest.onebot.segments import normalize_message, raw_message

# How a forward segment starts in canonical segment JSON (orjson, compact). Inside a JSON string
# every quote is escaped, so this text can only be structure: a message whose segments lack it
# carries no merged forward, and showing it never looks one up.
_FORWARD_MARK = '"type":"forward"'


@dataclass(frozen=True, slots=True)
class Content:
    """A message ready to store: canonical segments and their CQ-string form."""

    segments: Sequence[Segment]
    raw_message: str

    @property
    def is_forward(self) -> bool:
        """Whether the content is a list of forward nodes (a merged forward to store)."""
        return bool(self.segments) and self.segments[0]["type"] == "node"

    def segments_json(self) -> str:
        """The canonical JSON the store keeps."""
        return orjson.dumps(list(self.segments)).decode()


def content_of(segments: Sequence[Segment]) -> Content:
    """Content of canonical segments (already normalised)."""
    return Content(segments, raw_message(segments))


def build_content(message: Any, auto_escape: bool, *, limits: Limits, private: bool) -> Content:
    """Normalise a `message` (CQ string, segment or segment array) into storable content.

    NapCat drops @ in private chats (napcat-api.md §5.3): there is nobody else to mention.
    """
    segments = normalize_message(message, auto_escape=auto_escape, limits=limits)
    if private:
        segments = [s for s in segments if s["type"] != "at"]
        if not segments:
            raise BadParams("message: an @ alone cannot be sent in a private chat")
    return content_of(segments)


def forward_carrier(res_id: str) -> Content:
    """The content of a message that carries merged-forward bundle `res_id`."""
    return content_of([{"type": "forward", "data": {"id": res_id}}])


def carries_forward(segments_json: str) -> bool:
    """Whether stored segments hold a forward segment (without decoding them)."""
    return _FORWARD_MARK in segments_json


def forward_ids(segments: Sequence[Segment]) -> list[str]:
    """The res_ids of the forward segments among canonical `segments`, in order."""
    return [str(s["data"]["id"]) for s in segments if s["type"] == "forward"]
