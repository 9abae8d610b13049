"""The result cache on the command line: ``--cache-dir``/``--no-cache`` of the probing commands, and
``ecs5probe cache prune|clear``."""

from __future__ import annotations

from typing import Any

import click

from ecs5probe.app import cache as store

ENVVAR = "ECS5PROBE_CACHE_DIR"
_DIR_HELP = (
    "Where verified results are kept, by image content and options  "
    "[default: $XDG_CACHE_HOME/ecs5probe, else ~/.cache/ecs5probe]"
)

#: Options of every probing command (``probe``, ``fix``): declared in ``cli.options`` with the others.
CACHE_OPTIONS = [
    click.option("--cache-dir", metavar="DIR", envvar=ENVVAR, help=_DIR_HELP),
    click.option(
        "--no-cache",
        is_flag=True,
        help="Probe every image again: neither read nor write the result cache.",
    ),
]


def cache_dir(kw: dict[str, Any]) -> str | None:
    """The cache directory the options ask for, or None with ``--no-cache``."""
    if kw.get("no_cache"):
        return None
    return str(kw.get("cache_dir") or store.default_dir())


_dir_option = CACHE_OPTIONS[0]  # each use declares a new option


@click.group()
def cache() -> None:
    """The result cache: verified results by image content, options and version (--cache-dir)."""


@cache.command()
@_dir_option
@click.option(
    "--older-than",
    "days",
    type=click.FloatRange(0, min_open=False),
    metavar="DAYS",
    help="Also remove entries probed more than DAYS days ago.",
)
def prune(cache_dir: str | None, days: float | None) -> None:
    """Remove entries written by other versions of ecs5probe (never used), entries that are not whole,
    and with --older-than, entries older than that."""
    root = cache_dir or store.default_dir()
    removed = store.Store(root).prune(days)
    click.echo(f"removed {removed} entr{'y' if removed == 1 else 'ies'} from {root}")


@cache.command()
@_dir_option
def clear(cache_dir: str | None) -> None:
    """Remove every entry of the result cache (only the cache's own files)."""
    root = cache_dir or store.default_dir()
    removed = store.Store(root).clear()
    click.echo(f"removed {removed} entr{'y' if removed == 1 else 'ies'} from {root}")
