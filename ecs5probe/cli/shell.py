"""What every command of the CLI shares: its runtime (from click's context), its error console, and the
command class that turns our errors into one line and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from ecs5probe.errors import Ecs5ProbeError

RuntimeFactory = Callable[[], Any]


def docker_runtime() -> Any:
    from ecs5probe.runtime.docker import DockerRuntime

    return DockerRuntime()


@dataclass(frozen=True)
class Env:
    """What the commands are given through click's context (``main(obj=Env(...))``): how to make the
    runtime. The default is Docker; tests pass a fake. The CLI never constructs Docker objects elsewhere."""

    runtime_factory: RuntimeFactory = docker_runtime


def runtime_factory() -> RuntimeFactory:
    """The current command's runtime factory, from click's context."""
    ctx = click.get_current_context()
    env = ctx.find_object(Env)
    return env.runtime_factory if env is not None else docker_runtime


err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(e: Ecs5ProbeError) -> None:
    err.print(f"[red]error:[/] {escape(str(e))}", soft_wrap=True)  # messages quote user text: no markup
    sys.exit(e.exit_code)


class Command(click.Command):
    """Turns our errors into one line and an exit code; never a traceback."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:  # the configuration file is read while the options are
            return super().parse_args(ctx, args)
        except Ecs5ProbeError as e:
            fail(e)
            raise  # unreachable: fail exits

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Ecs5ProbeError as e:
            fail(e)
