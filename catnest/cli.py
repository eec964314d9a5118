"""The `catnest` command."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

import click

from catnest import __version__
from catnest.app import App
from catnest.config import Config, ConfigError, load_config
from catnest.store.engine import StoreTooNew


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
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"config: {exc}") from None
    if data_dir is not None:
        config.data_dir = str(data_dir)
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        _run(config)
    except (StoreTooNew, ConfigError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


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
    for server in app.http_servers:
        bot = server.ctx_self_id
        auth = "token required" if server.config.token else "no token (loopback only)"
        click.echo(f"  bot {bot}: HTTP API on http://{server.config.host}:{server.port}/ ({auth})")
    sys.stdout.flush()
