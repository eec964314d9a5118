"""What happened in the world, handed to the hub after the transaction that did it commits.

Every event names its `audience`: the bot accounts that must hear of it. Transports turn an
event into the OneBot shape each bot sees (catnest/actions/events.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from catnest.store.records import StoredMessage


@dataclass(frozen=True, slots=True)
class MessageCreated:
    """A message was stored."""

    message: StoredMessage
    audience: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class MessageRecalled:
    """A message was recalled by `operator`."""

    message: StoredMessage
    operator: int
    audience: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FriendAdded:
    """`user_id` and `friend_id` became friends (each side hears of the other)."""

    user_id: int
    friend_id: int
    audience: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class MemberJoined:
    """`user_id` joined `group_id`; sub_type "approve" or "invite"."""

    group_id: int
    user_id: int
    operator_id: int
    sub_type: str
    audience: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class MemberLeft:
    """`user_id` left `group_id`; sub_type "leave", "kick" or "kick_me" (per viewer)."""

    group_id: int
    user_id: int
    operator_id: int
    kicked: bool
    audience: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class AdminChanged:
    """`user_id` became (`is_set`) or stopped being an admin of `group_id`."""

    group_id: int
    user_id: int
    is_set: bool
    audience: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class MemberBanned:
    """A mute: `user_id` 0 means the whole group; `duration` 0 lifts it."""

    group_id: int
    user_id: int
    operator_id: int
    duration: int
    audience: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CardChanged:
    """`user_id`'s group card changed."""

    group_id: int
    user_id: int
    card_new: str
    card_old: str
    audience: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class TitleChanged:
    """`user_id` got a special title in `group_id`."""

    group_id: int
    user_id: int
    title: str
    audience: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class GroupRenamed:
    """`operator_id` renamed `group_id` to `name`."""

    group_id: int
    operator_id: int
    name: str
    audience: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class EssenceChanged:
    """A group message was set (`added`) or removed as essence."""

    group_id: int
    message_id: int
    sender_id: int
    operator_id: int
    added: bool
    audience: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ReactionChanged:
    """`user_id` added or removed emoji `emoji_id` on a message; `count` is the new total."""

    message: StoredMessage
    user_id: int
    emoji_id: str
    count: int
    added: bool
    audience: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Poked:
    """`user_id` poked `target_id`, in `group_id` or (None) in a private chat."""

    group_id: int | None
    user_id: int
    target_id: int
    audience: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ProfileLiked:
    """`operator_id` liked `target_id`'s profile `times` times."""

    target_id: int
    operator_id: int
    operator_nick: str
    times: int
    audience: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FriendRequested:
    """`user_id` asked the audience's bot to be friends."""

    user_id: int
    target_id: int
    comment: str
    flag: str
    audience: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class GroupRequested:
    """`user_id` asked to join `group_id` ("add"), or was invited to it ("invite")."""

    group_id: int
    user_id: int
    inviter_id: int
    sub_type: str
    comment: str
    flag: str
    audience: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ViewChanged:
    """What `audience` sees of its own conversations changed (a read mark, a remark) in a way
    no bot hears of as an event: only views derived from the world, such as the cached
    recent-contacts answers, need to follow it."""

    audience: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class WorldRewritten:
    """The world was changed in bulk outside its rules (a seed or import tool, another
    process writing the SQLite file): every view derived from it is stale, whoever saw it."""

    audience: tuple[int, ...] = ()


WorldEvent = (
    MessageCreated
    | MessageRecalled
    | FriendAdded
    | MemberJoined
    | MemberLeft
    | AdminChanged
    | MemberBanned
    | CardChanged
    | TitleChanged
    | GroupRenamed
    | EssenceChanged
    | ReactionChanged
    | Poked
    | ProfileLiked
    | FriendRequested
    | GroupRequested
    | ViewChanged
    | WorldRewritten
)
