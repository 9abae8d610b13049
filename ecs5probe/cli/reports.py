"""`merge`: the JSON reports of sharded probe runs, joined into one report in any format."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ecs5probe.cli.files import emit, parse_reports, write_atomically
from ecs5probe.cli.options import format_option, launch_type_option, platform_option, report_option
from ecs5probe.cli.shell import Command
from ecs5probe.errors import Ecs5ProbeError
from ecs5probe.model import PlatformName
from ecs5probe.render.formats import FORMATS
from ecs5probe.render.interface import Report


@click.command(cls=Command)
@click.argument("reports", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@format_option(
    [*FORMATS, "baseline"], "table", "What stdout gets: any probe format, or a baseline file of the merged results."
)
@report_option("reports_out")
@platform_option("ecs", "Whose fragment the mounts format writes.")
@launch_type_option("EC2", "ECS volume rules for the mounts format.")
def merge(
    reports: tuple[str, ...], fmt: str, reports_out: tuple[str, ...], platform_name: PlatformName, launch_type: str
) -> None:
    """Join the JSON reports of several `probe --shard K/N` runs into one report, in any format.

    Exit 1 when a merged image is not verified, 2 on a malformed or overlapping report.
    """
    from ecs5probe.app import shard as shards
    from ecs5probe.core import baseline as bl

    report_list = parse_reports(reports_out)
    docs = []
    for path in reports:
        try:
            docs.append(json.loads(Path(path).read_text(encoding="utf-8")))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise click.BadParameter(f"{path}: not a JSON report ({e})", param_hint="REPORTS") from None
    try:
        results = shards.merge(docs)
    except Ecs5ProbeError as e:
        raise click.BadParameter(str(e), param_hint="REPORTS") from None
    report = Report(results, launch_type=launch_type, platform=platform_name)
    if fmt == "baseline":
        for f, path in report_list:
            write_atomically(path, f.to_renderer()(report))
        click.echo(json.dumps(bl.build(results), indent=2))
    else:
        emit(report, fmt, report_list)
    sys.exit(1 if any(report.failed(r) for r in results) else 0)
