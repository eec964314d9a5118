"""The `catnest` command."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import click
from rich.console import Console

from catnest import __version__
from catnest.app import App
from catnest.config import Config, ConfigError, load_config
from catnest.store.engine import StoreTooNew
from catnest.store.ids import MAX_MESSAGE_ID
from catnest.tools import ToolError
from catnest.tools.database import open_world
from catnest.tools.export import ExportSummary, export_world
from catnest.tools.importer import ImportSummary, import_world
from catnest.tools.progress import rich_meter
from catnest.tools.seed import MAX_GROUPS, MAX_USERS, SeedReport, seed_world
from catnest.tools.seed_plan import SeedRequest
from catnest.tools.show import WorldSummary, render, summarize
from catnest.world.accounts import MAX_UIN, MIN_UIN

T = TypeVar("T")


@click.group()
@click.version_option(__version__, prog_name="catnest")
def main() -> None:
    """Catnest: a NapCat-compatible OneBot 11 server with a persistent chat world."""


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML config file (default: built-in defaults).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the world is stored (overrides data_dir).",
)
def serve(config_path: Path | None, data_dir: Path | None) -> None:
    """Serve every configured bot until interrupted."""
    config = load_cli_config(config_path, data_dir)
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        _run(config)
    except (StoreTooNew, ConfigError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


def load_cli_config(config_path: Path | None, data_dir: Path | None) -> Config:
    """The config of `--config` (or the defaults) with `--data-dir` applied; a bad one is a
    one-line ClickException naming the key."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"config: {exc}") from None
    if data_dir is not None:
        config.data_dir = str(data_dir)
    return config


def _run(config: Config) -> None:
    try:
        import uvloop

        uvloop.install() if sys.version_info < (3, 12) else None
        runner = uvloop.run if sys.version_info >= (3, 12) else asyncio.run
    except ImportError:  # pragma: no cover - Windows has no uvloop
        runner = asyncio.run
    runner(_serve(config))


async def _serve(config: Config) -> None:
    app = App(config)
    await app.start()
    _banner(app)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await app.stop()
        click.echo("catnest: stopped")


def _auth(token: str) -> str:
    return "token required" if token else "no token (loopback only)"


def _banner(app: App) -> None:
    click.echo(f"catnest {__version__}: world stored in {app.engine.location}")
    for http in app.http_servers:
        click.echo(
            f"  bot {http.ctx_self_id}: HTTP API on http://{http.config.host}:{http.port}/"
            f" ({_auth(http.config.token)}; events at /_events)"
        )
    for ws in app.ws_servers:
        click.echo(
            f"  bot {ws.ctx.self_id}: WebSocket on ws://{ws.config.host}:{ws.port}/"
            f" ({_auth(ws.config.token)})"
        )
    for client in app.ws_clients:
        click.echo(f"  bot {client.ctx.self_id}: reverse WebSocket to {client.config.url}")
    for hook in app.webhooks:
        signed = "signed" if hook.config.token else "unsigned"
        click.echo(f"  bot {hook.ctx.self_id}: webhook to {hook.config.url} ({signed})")
    if app.web is not None:
        click.echo(f"  chat page and user API: {app.web.url}/ ({_auth(app.web.config.token)})")
    sys.stdout.flush()


# --- catnest world ---------------------------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])


class _OneLineErrors(click.Command):
    """A command whose usage errors are one line: `Error: Invalid value for '--users': ...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            exc.ctx = None  # no usage banner above the error: the message names the option
            raise


def _world_options(fn: F) -> F:
    fn = click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Where the world is stored (overrides data_dir).",
    )(fn)
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="TOML config file naming the world (default: built-in defaults).",
    )(fn)


def _run_tool(work: Coroutine[Any, Any, T]) -> T:
    """Run a world tool; its refusals become one-line errors with a non-zero exit."""
    try:
        return asyncio.run(work)
    except (ToolError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        # Every transaction either committed whole or rolled back: the world is consistent.
        raise click.Abort() from None


@main.group()
def world() -> None:
    """Seed, export, import and show the world database (no server needed).

    They open the database `catnest serve` would (same --config and --data-dir), and may run
    while a server uses it: see docs/world-format.md.
    """


@world.command(cls=_OneLineErrors)
@_world_options
@click.option(
    "--users", type=click.IntRange(0, MAX_USERS), required=True, metavar="N", help="Users to add."
)
@click.option(
    "--groups",
    type=click.IntRange(0, MAX_GROUPS),
    required=True,
    metavar="G",
    help="Groups to add.",
)
@click.option(
    "--messages",
    type=click.IntRange(0, MAX_MESSAGE_ID),
    required=True,
    metavar="M",
    help="Messages to add.",
)
@click.option(
    "--bot",
    type=click.IntRange(MIN_UIN, MAX_UIN),
    metavar="UIN",
    help="The bot in every group and most chats (default: the first configured bot).",
)
@click.option(
    "--seed",
    "seed_value",
    type=int,
    metavar="INT",
    help="Random seed (default: a random one, shown).",
)
@click.option(
    "--now",
    type=click.IntRange(0, 2**31 - 1),
    metavar="UNIX",
    help="Unix time of the newest seeded message (default: now); with --seed, repeatable.",
)
@click.option(
    "--first-uin",
    type=click.IntRange(MIN_UIN, MAX_UIN),
    metavar="UIN",
    help="First new user uin (default: after the largest in use, from 100000).",
)
@click.option(
    "--first-group",
    type=click.IntRange(MIN_UIN, MAX_UIN),
    metavar="ID",
    help="First new group id (default: after the largest in use, from 600000000).",
)
def seed(
    config_path: Path | None,
    data_dir: Path | None,
    users: int,
    groups: int,
    messages: int,
    bot: int | None,
    seed_value: int | None,
    now: int | None,
    first_uin: int | None,
    first_group: int | None,
) -> None:
    """Add N users, G groups (with the bot) and M messages to the world."""
    config = load_cli_config(config_path, data_dir)
    bot_uin = config.bots[0].uin if bot is None else bot
    nickname = next((b.nickname for b in config.bots if b.uin == bot_uin), "Catnest Bot")
    request = SeedRequest(
        users=users,
        groups=groups,
        messages=messages,
        bot=bot_uin,
        bot_nickname=nickname,
        seed=secrets.randbelow(2**31) if seed_value is None else seed_value,
        now=int(time.time()) if now is None else now,
        first_uin=first_uin,
        first_group=first_group,
    )
    # soft_wrap: summary lines stay whole in logs (rich wraps at 80 columns off a terminal).
    console = Console(highlight=False, soft_wrap=True)

    async def work() -> tuple[SeedReport, str]:
        async with open_world(config, create=True) as engine:
            with rich_meter(console) as meter:
                return await seed_world(engine, request, meter), engine.location

    report, location = _run_tool(work())
    console.print(
        f"seeded {report.messages:,} messages in {report.message_seconds:.1f} s"
        f" ({report.rate:,.0f} messages/s)"
    )
    console.print(
        f"  {len(report.users):,} users ({_span(report.users)}), {len(report.groups):,} groups"
        f" ({_span(report.groups)}), bot {bot_uin}: {report.friendships:,} friendships,"
        f" {report.memberships:,} group memberships, {report.conversations:,} conversations"
        f" in {report.social_seconds:.1f} s"
    )
    console.print(f"  into {location} (--seed {request.seed})")


def _span(ids: range) -> str:
    return f"{ids.start}..{ids.stop - 1}" if ids else "none"


@world.command("export", cls=_OneLineErrors)
@_world_options
@click.option(
    "-o",
    "--output",
    default="-",
    show_default=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="World file to write, or - for standard output.",
)
def export_cmd(config_path: Path | None, data_dir: Path | None, output: str) -> None:
    """Write the whole world as a world file (JSON Lines, docs/world-format.md)."""
    config = load_cli_config(config_path, data_dir)
    console = Console(stderr=True, highlight=False, soft_wrap=True)

    async def work(out: BinaryIO) -> ExportSummary:
        async with open_world(config, create=False) as engine:
            with rich_meter(console) as meter:
                return await export_world(engine, out, meter)

    began = time.perf_counter()
    if output == "-":
        summary = _run_tool(work(sys.stdout.buffer))
    else:
        # Written beside the target and renamed when complete: a failed export leaves no file.
        target = Path(output)
        partial = target.with_name(target.name + ".part")
        try:
            with partial.open("wb") as out:
                summary = _run_tool(work(out))
            partial.replace(target)
        except OSError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            partial.unlink(missing_ok=True)
    seconds = time.perf_counter() - began
    console.print(
        f"exported {summary.records:,} records (schema {summary.schema}) in {seconds:.1f} s"
    )


@world.command("import", cls=_OneLineErrors)
@_world_options
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
def import_cmd(config_path: Path | None, data_dir: Path | None, file: str) -> None:
    """Load a world file into an empty database (all or nothing)."""
    config = load_cli_config(config_path, data_dir)
    console = Console(stderr=True, highlight=False, soft_wrap=True)

    async def work(lines: Iterable[bytes]) -> tuple[ImportSummary, str]:
        async with open_world(config, create=True) as engine:
            with rich_meter(console) as meter:
                return await import_world(engine, lines, meter), engine.location

    began = time.perf_counter()
    if file == "-":
        summary, location = _run_tool(work(sys.stdin.buffer))
    else:
        with open(file, "rb", buffering=1 << 20) as lines:
            summary, location = _run_tool(work(lines))
    seconds = time.perf_counter() - began
    console.print(f"imported {summary.records:,} records in {seconds:.1f} s into {location}")


@world.command(cls=_OneLineErrors)
@_world_options
@click.option(
    "--limit",
    type=click.IntRange(0),
    default=20,
    show_default=True,
    help="Accounts and groups listed (0: all).",
)
def show(config_path: Path | None, data_dir: Path | None, limit: int) -> None:
    """Show the world's accounts (bots marked), groups and row counts."""
    config = load_cli_config(config_path, data_dir)

    async def work() -> WorldSummary:
        async with open_world(config, create=False) as engine:
            return await summarize(engine)

    render(_run_tool(work()), Console(highlight=False), limit)
