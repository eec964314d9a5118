"""Accounts, friendships and friend categories."""

from __future__ import annotations

from catnest.store.engine import Row, Txn
from catnest.store.records import Account, Category, Friend

ACCOUNT_COLUMNS = "a.uin, a.nickname, a.is_bot, a.sex, a.age, a.sign, a.created_at"

# QQ gives every account this category; friends land in it unless told otherwise.
DEFAULT_CATEGORY = (0, "我的好友", 0)


def account_from_row(row: Row, at: int = 0) -> Account:
    """Build an Account from the seven ACCOUNT_COLUMNS starting at index `at`."""
    return Account(
        uin=int(row[at]),
        nickname=row[at + 1],
        is_bot=bool(row[at + 2]),
        sex=row[at + 3],
        age=int(row[at + 4]),
        sign=row[at + 5],
        created_at=int(row[at + 6]),
    )


async def get_account_txn(txn: Txn, uin: int) -> Account | None:
    """The account `uin`, or None."""
    row = await txn.fetchone(f"SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.uin = ?", (uin,))
    return account_from_row(row) if row else None


async def list_accounts_txn(txn: Txn) -> list[Account]:
    """Every account, bots first, then by uin."""
    rows = await txn.fetchall(
        f"SELECT {ACCOUNT_COLUMNS} FROM accounts a ORDER BY a.is_bot DESC, a.uin"
    )
    return [account_from_row(r) for r in rows]


async def insert_account_txn(txn: Txn, account: Account) -> None:
    """Create an account and its default friend category."""
    await txn.execute(
        "INSERT INTO accounts (uin, nickname, is_bot, sex, age, sign, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            account.uin,
            account.nickname,
            int(account.is_bot),
            account.sex,
            account.age,
            account.sign,
            account.created_at,
        ),
    )
    await txn.execute(
        "INSERT INTO friend_categories (owner_uin, category_id, name, sort_id) VALUES (?, ?, ?, ?)",
        (account.uin, *DEFAULT_CATEGORY),
    )


async def get_friend_txn(txn: Txn, owner: int, friend: int) -> Friend | None:
    """`friend` as `owner` sees them, or None if they are not friends."""
    row = await txn.fetchone(
        f"SELECT {ACCOUNT_COLUMNS}, f.remark, f.category_id FROM friendships f"
        " JOIN accounts a ON a.uin = f.friend_uin WHERE f.owner_uin = ? AND f.friend_uin = ?",
        (owner, friend),
    )
    return Friend(account_from_row(row), row[7], int(row[8])) if row else None


async def list_friends_txn(txn: Txn, owner: int) -> list[Friend]:
    """Every friend of `owner`, by uin."""
    rows = await txn.fetchall(
        f"SELECT {ACCOUNT_COLUMNS}, f.remark, f.category_id FROM friendships f"
        " JOIN accounts a ON a.uin = f.friend_uin WHERE f.owner_uin = ? ORDER BY a.uin",
        (owner,),
    )
    return [Friend(account_from_row(r), r[7], int(r[8])) for r in rows]


async def list_categories_txn(txn: Txn, owner: int) -> list[Category]:
    """The friend categories of `owner`, in display order."""
    rows = await txn.fetchall(
        "SELECT category_id, name, sort_id FROM friend_categories WHERE owner_uin = ?"
        " ORDER BY sort_id, category_id",
        (owner,),
    )
    return [Category(int(r[0]), r[1], int(r[2])) for r in rows]


async def insert_friendship_txn(
    txn: Txn, owner: int, friend: int, remark: str, created_at: int, category_id: int = 0
) -> None:
    """Record that `owner` has `friend` (one direction; callers add both)."""
    await txn.execute(
        "INSERT INTO friendships (owner_uin, friend_uin, remark, category_id, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (owner, friend, remark, category_id, created_at),
    )


async def set_remark_txn(txn: Txn, owner: int, friend: int, remark: str) -> bool:
    """Change the remark `owner` keeps for `friend`; False if they are not friends."""
    changed = await txn.execute(
        "UPDATE friendships SET remark = ? WHERE owner_uin = ? AND friend_uin = ?",
        (remark, owner, friend),
    )
    return changed > 0


async def delete_friendship_txn(txn: Txn, owner: int, friend: int) -> bool:
    """Drop `owner`'s side of a friendship (callers drop both); False if there was none."""
    changed = await txn.execute(
        "DELETE FROM friendships WHERE owner_uin = ? AND friend_uin = ?", (owner, friend)
    )
    return changed > 0


async def bots_among_txn(txn: Txn, uins: tuple[int, ...]) -> tuple[int, ...]:
    """The bot accounts among `uins`, in the given order: the audience of a personal event."""
    found = []
    for uin in uins:
        row = await txn.fetchone("SELECT is_bot FROM accounts WHERE uin = ?", (uin,))
        if row is not None and int(row[0]) and uin not in found:
            found.append(uin)
    return tuple(found)


async def likes_on_day_txn(txn: Txn, target: int, liker: int, day: int) -> int:
    """How many times `liker` liked `target`'s profile on `day` (days since the epoch, UTC)."""
    row = await txn.fetchone(
        "SELECT times FROM profile_likes WHERE target = ? AND liker = ? AND day = ?",
        (target, liker, day),
    )
    return int(row[0]) if row else 0


async def add_likes_txn(txn: Txn, target: int, liker: int, day: int, times: int) -> None:
    """Count `times` more likes of `target` by `liker` on `day`."""
    await txn.execute(
        "INSERT INTO profile_likes (target, liker, day, times) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (target, liker, day) DO UPDATE SET times = profile_likes.times + ?",
        (target, liker, day, times, times),
    )
