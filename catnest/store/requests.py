"""Friend requests and group join / invite requests, each known by an opaque flag."""

from __future__ import annotations

from dataclasses import dataclass

from catnest.store.engine import Row, Txn

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


@dataclass(frozen=True, slots=True)
class FriendRequest:
    """`requester` asked `target` to be friends."""

    flag: str
    requester: int
    target: int
    comment: str
    state: str
    created_at: int


@dataclass(frozen=True, slots=True)
class GroupRequest:
    """`user_id` asked to join `group_id` (kind "add") or was invited by `inviter` ("invite").

    Names come joined in, as `get_group_system_msg` shows them.
    """

    flag: str
    kind: str
    group_id: int
    group_name: str
    user_id: int
    user_nick: str
    inviter: int | None
    inviter_nick: str
    comment: str
    state: str
    created_at: int


_FRIEND_COLUMNS = "flag, requester, target, comment, state, created_at"
_GROUP_SELECT = (
    "SELECT r.flag, r.kind, r.group_id, g.name, r.user_id, u.nickname, r.inviter,"
    " COALESCE(i.nickname, ''), r.comment, r.state, r.created_at"
    " FROM group_requests r JOIN groups g ON g.group_id = r.group_id"
    " JOIN accounts u ON u.uin = r.user_id LEFT JOIN accounts i ON i.uin = r.inviter"
)


def _friend_request(row: Row) -> FriendRequest:
    return FriendRequest(row[0], int(row[1]), int(row[2]), row[3], row[4], int(row[5]))


def _group_request(row: Row) -> GroupRequest:
    return GroupRequest(
        flag=row[0],
        kind=row[1],
        group_id=int(row[2]),
        group_name=row[3],
        user_id=int(row[4]),
        user_nick=row[5],
        inviter=None if row[6] is None else int(row[6]),
        inviter_nick=row[7],
        comment=row[8],
        state=row[9],
        created_at=int(row[10]),
    )


async def insert_friend_request_txn(
    txn: Txn, flag: str, requester: int, target: int, comment: str, at: int
) -> None:
    """Store a pending friend request."""
    await txn.execute(
        f"INSERT INTO friend_requests ({_FRIEND_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
        (flag, requester, target, comment, PENDING, at),
    )


async def get_friend_request_txn(txn: Txn, flag: str) -> FriendRequest | None:
    """The friend request `flag`, or None."""
    row = await txn.fetchone(
        f"SELECT {_FRIEND_COLUMNS} FROM friend_requests WHERE flag = ?", (flag,)
    )
    return _friend_request(row) if row else None


async def pending_friend_request_txn(txn: Txn, a: int, b: int) -> FriendRequest | None:
    """A pending friend request between `a` and `b`, in either direction, or None."""
    row = await txn.fetchone(
        f"SELECT {_FRIEND_COLUMNS} FROM friend_requests WHERE state = ?"
        " AND ((requester = ? AND target = ?) OR (requester = ? AND target = ?))",
        (PENDING, a, b, b, a),
    )
    return _friend_request(row) if row else None


async def set_friend_request_state_txn(txn: Txn, flag: str, state: str) -> None:
    """Record how a friend request was answered."""
    await txn.execute("UPDATE friend_requests SET state = ? WHERE flag = ?", (state, flag))


async def insert_group_request_txn(
    txn: Txn,
    *,
    flag: str,
    kind: str,
    group_id: int,
    user_id: int,
    inviter: int | None,
    comment: str,
    at: int,
) -> None:
    """Store a pending join request ("add") or invitation ("invite")."""
    await txn.execute(
        "INSERT INTO group_requests (flag, kind, group_id, user_id, inviter, comment, state,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (flag, kind, group_id, user_id, inviter, comment, PENDING, at),
    )


async def get_group_request_txn(txn: Txn, flag: str) -> GroupRequest | None:
    """The group request `flag`, or None."""
    row = await txn.fetchone(f"{_GROUP_SELECT} WHERE r.flag = ?", (flag,))
    return _group_request(row) if row else None


async def pending_group_request_txn(
    txn: Txn, kind: str, group_id: int, user_id: int
) -> GroupRequest | None:
    """A pending request of `kind` for `user_id` to join `group_id`, or None."""
    row = await txn.fetchone(
        f"{_GROUP_SELECT} WHERE r.kind = ? AND r.group_id = ? AND r.user_id = ? AND r.state = ?",
        (kind, group_id, user_id, PENDING),
    )
    return _group_request(row) if row else None


async def set_group_request_state_txn(txn: Txn, flag: str, state: str) -> None:
    """Record how a group request was answered."""
    await txn.execute("UPDATE group_requests SET state = ? WHERE flag = ?", (state, flag))


async def visible_group_requests_txn(txn: Txn, viewer: int, count: int) -> list[GroupRequest]:
    """The group requests `viewer` may answer, answered or not, newest first.

    That is invitations addressed to `viewer`, and join requests to groups `viewer` owns or
    administers (QQ's group notification box).
    """
    rows = await txn.fetchall(
        f"{_GROUP_SELECT} WHERE (r.kind = 'invite' AND r.user_id = ?)"
        " OR (r.kind = 'add' AND EXISTS (SELECT 1 FROM group_members m"
        " WHERE m.group_id = r.group_id AND m.uin = ? AND m.role IN ('owner', 'admin')))"
        " ORDER BY r.created_at DESC, r.flag LIMIT ?",
        (viewer, viewer, count),
    )
    return [_group_request(r) for r in rows]
