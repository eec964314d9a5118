"""Plain records of stored rows, as the store hands them to the world."""

from __future__ import annotations

from dataclasses import dataclass

# NT chat types (napcat-api.md §1.3), stored with each message and conversation: the three that
# OneBot can show.
CHAT_FRIEND, CHAT_GROUP, CHAT_TEMP = 1, 2, 100


@dataclass(frozen=True, slots=True)
class Account:
    """A bot or a virtual user."""

    uin: int
    nickname: str
    is_bot: bool
    sex: str
    age: int
    sign: str
    created_at: int


@dataclass(frozen=True, slots=True)
class Friend:
    """A friend as one owner sees them: the account plus the owner's remark and category."""

    account: Account
    remark: str
    category_id: int


@dataclass(frozen=True, slots=True)
class Category:
    """A friend category (QQ's 分组)."""

    category_id: int
    name: str
    sort_id: int


@dataclass(frozen=True, slots=True)
class Group:
    """A group and its settings."""

    group_id: int
    name: str
    owner_uin: int
    max_member_count: int
    whole_ban: bool
    created_at: int
    member_count: int = 0


@dataclass(frozen=True, slots=True)
class Member:
    """A group member: the account plus its role, card and standing in that group."""

    group_id: int
    account: Account
    role: str
    card: str
    title: str
    join_time: int
    last_sent_time: int
    shut_up_until: int


@dataclass(frozen=True, slots=True)
class Conversation:
    """A private pair or a group, with its last sequence and last visible message."""

    conv_id: int
    kind: int
    group_id: int | None
    user_a: int | None
    user_b: int | None
    chat_type: int
    temp_group_id: int | None
    last_seq: int
    last_msg_id: int | None
    last_time: int


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message row joined with what is needed to show it: sender, group and card."""

    message_id: int
    nt_msg_id: int
    conv_id: int
    conv_kind: int
    seq: int
    sender_uin: int
    sender_nickname: str
    chat_type: int
    temp_group_id: int | None
    group_id: int | None
    group_name: str
    sender_card: str
    sender_role: str
    sender_title: str
    pair: tuple[int, int] | None
    time: int
    segments_json: str
    raw_message: str
    recalled_at: int | None
    recalled_by: int | None


@dataclass(frozen=True, slots=True)
class RecentEntry:
    """One conversation in an account's recent list, with its last message."""

    conv_id: int
    kind: int
    chat_type: int
    peer_uin: int
    peer_name: str
    remark: str
    last_seq: int
    read_seq: int
    pinned: bool
    last: StoredMessage

    @property
    def unread(self) -> int:
        """Messages after the account's read cursor."""
        return max(0, self.last_seq - self.read_seq)
