"""Groups and their members."""

from __future__ import annotations

from catnest.store.accounts import ACCOUNT_COLUMNS, account_from_row
from catnest.store.engine import Row, Txn
from catnest.store.records import Group, Member

_GROUP_COLUMNS = (
    "g.group_id, g.name, g.owner_uin, g.max_member_count, g.whole_ban, g.created_at,"
    " (SELECT COUNT(*) FROM group_members c WHERE c.group_id = g.group_id)"
)
_MEMBER_COLUMNS = (
    f"gm.group_id, {ACCOUNT_COLUMNS}, gm.role, gm.card, gm.title, gm.join_time,"
    " gm.last_sent_time, gm.shut_up_until"
)


def _group(row: Row) -> Group:
    return Group(
        group_id=int(row[0]),
        name=row[1],
        owner_uin=int(row[2]),
        max_member_count=int(row[3]),
        whole_ban=bool(row[4]),
        created_at=int(row[5]),
        member_count=int(row[6]),
    )


def _member(row: Row) -> Member:
    return Member(
        group_id=int(row[0]),
        account=account_from_row(row, 1),
        role=row[8],
        card=row[9],
        title=row[10],
        join_time=int(row[11]),
        last_sent_time=int(row[12]),
        shut_up_until=int(row[13]),
    )


async def get_group_txn(txn: Txn, group_id: int) -> Group | None:
    """The group `group_id` with its member count, or None."""
    row = await txn.fetchone(
        f"SELECT {_GROUP_COLUMNS} FROM groups g WHERE g.group_id = ?", (group_id,)
    )
    return _group(row) if row else None


async def list_groups_of_txn(txn: Txn, uin: int) -> list[Group]:
    """The groups `uin` is a member of, by group id."""
    rows = await txn.fetchall(
        f"SELECT {_GROUP_COLUMNS} FROM group_members m JOIN groups g ON g.group_id = m.group_id"
        " WHERE m.uin = ? ORDER BY g.group_id",
        (uin,),
    )
    return [_group(r) for r in rows]


async def list_all_groups_txn(txn: Txn) -> list[Group]:
    """Every group, by group id."""
    rows = await txn.fetchall(f"SELECT {_GROUP_COLUMNS} FROM groups g ORDER BY g.group_id")
    return [_group(r) for r in rows]


async def insert_group_txn(txn: Txn, group: Group) -> None:
    """Create a group row (members are added separately)."""
    await txn.execute(
        "INSERT INTO groups (group_id, name, owner_uin, max_member_count, whole_ban, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            group.group_id,
            group.name,
            group.owner_uin,
            group.max_member_count,
            int(group.whole_ban),
            group.created_at,
        ),
    )


async def get_member_txn(txn: Txn, group_id: int, uin: int) -> Member | None:
    """`uin`'s membership of `group_id`, or None."""
    row = await txn.fetchone(
        f"SELECT {_MEMBER_COLUMNS} FROM group_members gm JOIN accounts a ON a.uin = gm.uin"
        " WHERE gm.group_id = ? AND gm.uin = ?",
        (group_id, uin),
    )
    return _member(row) if row else None


async def list_members_txn(txn: Txn, group_id: int) -> list[Member]:
    """Every member of `group_id`: owner, then admins, then members, each by uin."""
    rows = await txn.fetchall(
        f"SELECT {_MEMBER_COLUMNS} FROM group_members gm JOIN accounts a ON a.uin = gm.uin"
        " WHERE gm.group_id = ? ORDER BY CASE gm.role WHEN 'owner' THEN 0"
        " WHEN 'admin' THEN 1 ELSE 2 END, gm.uin",
        (group_id,),
    )
    return [_member(r) for r in rows]


async def insert_member_txn(
    txn: Txn, group_id: int, uin: int, role: str, card: str, join_time: int
) -> None:
    """Add `uin` to `group_id` with `role`."""
    await txn.execute(
        "INSERT INTO group_members (group_id, uin, role, card, join_time) VALUES (?, ?, ?, ?, ?)",
        (group_id, uin, role, card, join_time),
    )


async def touch_member_sent_txn(txn: Txn, group_id: int, uin: int, at: int) -> None:
    """Record when `uin` last spoke in `group_id`."""
    await txn.execute(
        "UPDATE group_members SET last_sent_time = ? WHERE group_id = ? AND uin = ?",
        (at, group_id, uin),
    )


async def shared_group_txn(txn: Txn, group_id: int, a: int, b: int) -> bool:
    """Whether `a` and `b` are both members of `group_id`."""
    row = await txn.fetchone(
        "SELECT COUNT(*) FROM group_members WHERE group_id = ? AND uin IN (?, ?)",
        (group_id, a, b),
    )
    return row is not None and int(row[0]) == (1 if a == b else 2)


async def bot_members_txn(txn: Txn, group_id: int) -> tuple[int, ...]:
    """The bot accounts in `group_id`, by uin: the audience of the group's events."""
    rows = await txn.fetchall(
        "SELECT gm.uin FROM group_members gm JOIN accounts a ON a.uin = gm.uin"
        " WHERE gm.group_id = ? AND a.is_bot = 1 ORDER BY gm.uin",
        (group_id,),
    )
    return tuple(int(r[0]) for r in rows)


async def bot_managers_txn(txn: Txn, group_id: int) -> tuple[int, ...]:
    """The bot accounts that own or administer `group_id`: who may answer join requests."""
    rows = await txn.fetchall(
        "SELECT gm.uin FROM group_members gm JOIN accounts a ON a.uin = gm.uin"
        " WHERE gm.group_id = ? AND a.is_bot = 1 AND gm.role IN ('owner', 'admin')"
        " ORDER BY gm.uin",
        (group_id,),
    )
    return tuple(int(r[0]) for r in rows)


async def member_uins_txn(txn: Txn, group_id: int) -> list[int]:
    """Every member's uin, by uin."""
    rows = await txn.fetchall(
        "SELECT uin FROM group_members WHERE group_id = ? ORDER BY uin", (group_id,)
    )
    return [int(r[0]) for r in rows]


async def delete_member_txn(txn: Txn, group_id: int, uin: int) -> None:
    """Remove `uin` from `group_id` (their card, title and mute go with the row)."""
    await txn.execute("DELETE FROM group_members WHERE group_id = ? AND uin = ?", (group_id, uin))


async def delete_all_members_txn(txn: Txn, group_id: int) -> None:
    """Empty `group_id`: a dismissed group keeps its row so its id is never handed out again."""
    await txn.execute("DELETE FROM group_members WHERE group_id = ?", (group_id,))


async def set_role_txn(txn: Txn, group_id: int, uin: int, role: str) -> None:
    """Make `uin` an 'admin' or a plain 'member' of `group_id`."""
    await txn.execute(
        "UPDATE group_members SET role = ? WHERE group_id = ? AND uin = ?", (role, group_id, uin)
    )


async def set_card_txn(txn: Txn, group_id: int, uin: int, card: str) -> None:
    """Change `uin`'s group card (their display name in `group_id`)."""
    await txn.execute(
        "UPDATE group_members SET card = ? WHERE group_id = ? AND uin = ?", (card, group_id, uin)
    )


async def set_title_txn(txn: Txn, group_id: int, uin: int, title: str) -> None:
    """Change `uin`'s special title in `group_id`."""
    await txn.execute(
        "UPDATE group_members SET title = ? WHERE group_id = ? AND uin = ?", (title, group_id, uin)
    )


async def set_shut_up_txn(txn: Txn, group_id: int, uin: int, until: int) -> None:
    """Mute `uin` in `group_id` until the Unix time `until` (0 lifts the mute)."""
    await txn.execute(
        "UPDATE group_members SET shut_up_until = ? WHERE group_id = ? AND uin = ?",
        (until, group_id, uin),
    )


async def set_whole_ban_txn(txn: Txn, group_id: int, enabled: bool) -> None:
    """Turn the whole-group mute on or off."""
    await txn.execute(
        "UPDATE groups SET whole_ban = ? WHERE group_id = ?", (int(enabled), group_id)
    )


async def rename_group_txn(txn: Txn, group_id: int, name: str) -> None:
    """Change the group's name."""
    await txn.execute("UPDATE groups SET name = ? WHERE group_id = ?", (name, group_id))


async def block_txn(txn: Txn, group_id: int, uin: int) -> None:
    """Refuse `uin`'s future join requests to `group_id` (kick with reject_add_request)."""
    await txn.execute(
        "INSERT INTO group_blocklist (group_id, uin) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (group_id, uin),
    )


async def unblock_txn(txn: Txn, group_id: int, uin: int) -> None:
    """Lift `uin`'s block on `group_id` (being let back in ends it)."""
    await txn.execute("DELETE FROM group_blocklist WHERE group_id = ? AND uin = ?", (group_id, uin))


async def is_blocked_txn(txn: Txn, group_id: int, uin: int) -> bool:
    """Whether `uin` was kicked from `group_id` with reject_add_request."""
    row = await txn.fetchone(
        "SELECT 1 FROM group_blocklist WHERE group_id = ? AND uin = ?", (group_id, uin)
    )
    return row is not None


async def share_a_group_txn(txn: Txn, a: int, b: int) -> bool:
    """Whether `a` and `b` are members of at least one common group."""
    row = await txn.fetchone(
        "SELECT 1 FROM group_members x JOIN group_members y ON y.group_id = x.group_id"
        " WHERE x.uin = ? AND y.uin = ? LIMIT 1",
        (a, b),
    )
    return row is not None
