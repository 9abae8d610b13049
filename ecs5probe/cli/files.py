"""What the CLI reads and writes: image lists, report targets checked before any work, atomic writes."""

from __future__ import annotations

import contextlib
import os
import sys

import click

from ecs5probe.render.formats import FORMATS, ReportFormat
from ecs5probe.render.interface import Report


def parse_reports(values: tuple[str, ...]) -> list[tuple[ReportFormat, str]]:
    out = []
    for v in values:
        fmt, sep, path = v.partition("=")
        if not sep or fmt not in FORMATS or not path:
            raise click.BadParameter(
                f"{v!r}: expected FORMAT=PATH with FORMAT one of {', '.join(FORMATS)}", param_hint="--report"
            )
        check_writable(path, "--report")
        out.append((ReportFormat(fmt), path))
    return out


def check_writable(path: str, hint: str) -> None:
    """Fail before any work when ``path`` cannot be written: a missing directory, a directory itself."""
    if path == "-":
        return
    if os.path.isdir(path):
        raise click.BadParameter(f"{path}: is a directory", param_hint=hint)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise click.BadParameter(f"{path}: no such directory {parent}", param_hint=hint)
    if not os.access(parent, os.W_OK):
        raise click.BadParameter(f"{path}: directory {parent} is not writable", param_hint=hint)


def write_reports(report: Report, reports: list[tuple[ReportFormat, str]]) -> None:
    """Every --report, atomically (``fix``: stdout is the fixed document); markdown also to the step summary."""
    texts = {f: f.to_renderer()(report) for f in {f for f, _ in reports}}
    for f, path in reports:
        if path == "-":
            click.echo(texts[f], nl=False, err=True)  # stdout is the document
        else:
            write_atomically(path, texts[f])
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and ReportFormat.MARKDOWN in texts:
        with open(summary, "a", encoding="utf-8") as out:
            out.write(texts[ReportFormat.MARKDOWN])


def emit(report: Report, fmt: str, reports: list[tuple[ReportFormat, str]]) -> None:
    """Write the main format to stdout and every --report, atomically; markdown also to the step summary."""
    texts = {f: f.to_renderer()(report) for f in {ReportFormat(fmt), *(f for f, _ in reports)}}
    for f, path in reports:
        write_atomically(path, texts[f])
    if ReportFormat(fmt) not in {f for f, p in reports if p == "-"}:
        click.echo(texts[ReportFormat(fmt)], nl=False)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and ReportFormat.MARKDOWN in texts:
        with open(summary, "a", encoding="utf-8") as out:
            out.write(texts[ReportFormat.MARKDOWN])


def read_images(path: str) -> list[str]:
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    except OSError as e:
        raise click.BadParameter(f"{path}: {e.strerror}", param_hint="--images-from") from None
    except UnicodeDecodeError:
        raise click.BadParameter(f"{path}: not a text file of image names", param_hint="--images-from") from None
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def parse_images(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for v in values:
        name, sep, local = v.partition("=")
        if not sep or not name or not local:
            raise click.BadParameter(f"{v!r}: expected NAME=LOCAL", param_hint="--image")
        out[name] = local
    return out


def write_atomically(path: str, text: str) -> None:
    import os
    import tempfile

    if path == "-":
        click.echo(text, nl=False)
        return
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".ecs5probe-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
