"""`catnest world show`: what a world holds, as rich tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from catnest.store import accounts as accounts_sql
from catnest.store import groups as groups_sql
from catnest.store import tables
from catnest.store.engine import Engine, Txn
from catnest.store.records import Account, Group

# What each table's rows are, for the counts table.
_LABELS = {
    "accounts": "accounts",
    "friend_categories": "friend categories",
    "friendships": "friendships (one row per side)",
    "groups": "groups",
    "group_members": "group memberships",
    "conversations": "conversations",
    "conversation_members": "read cursors",
    "messages": "messages",
    "reactions": "reactions",
    "essence_messages": "essence messages",
    "forwards": "merged forwards",
    "friend_requests": "friend requests",
    "group_requests": "group requests",
    "profile_likes": "profile likes (per liker a day)",
    "group_blocklist": "group blocklist entries",
}


@dataclass(frozen=True, slots=True)
class WorldSummary:
    """A world at a glance."""

    location: str
    schema: int
    accounts: list[Account]
    groups: list[Group]
    counts: dict[str, int]

    @property
    def bots(self) -> list[Account]:
        """The bot accounts."""
        return [a for a in self.accounts if a.is_bot]


async def summarize(engine: Engine) -> WorldSummary:
    """Read the accounts, groups (with member counts) and the row count of every table."""

    async def read(txn: Txn) -> WorldSummary:
        counts = {t.name: await tables.count_rows_txn(txn, t) for t in tables.WORLD_TABLES}
        return WorldSummary(
            location=engine.location,
            schema=await tables.schema_version_txn(txn),
            accounts=await accounts_sql.list_accounts_txn(txn),
            groups=await groups_sql.list_all_groups_txn(txn),
            counts=counts,
        )

    return await engine.read(read)


def render(summary: WorldSummary, console: Console, limit: int) -> None:
    """Print the summary; at most `limit` accounts and groups (0: all of them)."""
    files = (Path(summary.location), Path(f"{summary.location}-wal"))
    size = sum(p.stat().st_size for p in files if p.exists())
    console.print(
        f"[bold]World[/bold] {summary.location}  schema version {summary.schema}"
        f"  {size / 1e6:,.1f} MB"
    )
    counts = Table(title="Contents", title_justify="left")
    counts.add_column("what")
    counts.add_column("rows", justify="right")
    for name, count in summary.counts.items():
        counts.add_row(_LABELS.get(name, name), f"{count:,}")
    console.print(counts)
    console.print(_accounts_table(summary, limit))
    console.print(_groups_table(summary, limit))


def _accounts_table(summary: WorldSummary, limit: int) -> Table:
    table = Table(
        title=f"Accounts ({len(summary.accounts):,}, {len(summary.bots)} bot)",
        title_justify="left",
    )
    for column in ("uin", "nickname", "bot", "sex", "age"):
        table.add_column(column, justify="right" if column in ("uin", "age") else "left")
    shown = summary.accounts if limit == 0 else summary.accounts[:limit]
    for a in shown:
        table.add_row(
            str(a.uin), a.nickname, "[bold cyan]bot[/]" if a.is_bot else "", a.sex, str(a.age)
        )
    if len(shown) < len(summary.accounts):
        table.add_row("…", f"{len(summary.accounts) - len(shown):,} more (--limit 0 shows all)")
    return table


def _groups_table(summary: WorldSummary, limit: int) -> Table:
    table = Table(title=f"Groups ({len(summary.groups):,})", title_justify="left")
    for column in ("group_id", "name", "owner", "members"):
        table.add_column(column, justify="left" if column == "name" else "right")
    shown = summary.groups if limit == 0 else summary.groups[:limit]
    for g in shown:
        table.add_row(str(g.group_id), g.name, str(g.owner_uin), f"{g.member_count:,}")
    if len(shown) < len(summary.groups):
        table.add_row("…", f"{len(summary.groups) - len(shown):,} more (--limit 0 shows all)")
    return table
