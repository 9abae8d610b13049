"""Every report format, as one enum: each member maps to exactly one renderer (a test checks all)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import NoReturn

from ecs5probe.model import PlatformName
from ecs5probe.render.interface import Report


class ReportFormat(StrEnum):
    """Every report the CLI can write; each maps to exactly one renderer."""

    TABLE = "table"
    JSON = "json"
    MOUNTS = "mounts"
    MARKDOWN = "markdown"
    JUNIT = "junit"
    SARIF = "sarif"
    KUBERNETES = "kubernetes"
    COMPOSE = "compose"

    def to_renderer(self) -> Callable[[Report], str]:
        from ecs5probe.render import json, junit, markdown, sarif, table

        if self is ReportFormat.TABLE:
            return table.render
        if self is ReportFormat.JSON:
            return json.report
        if self is ReportFormat.MOUNTS:
            return _fragments
        if self is ReportFormat.MARKDOWN:
            return markdown.render
        if self is ReportFormat.JUNIT:
            return junit.render
        if self is ReportFormat.SARIF:
            return sarif.render
        if self is ReportFormat.KUBERNETES:
            return lambda report: _fragments(report, PlatformName.KUBERNETES)
        if self is ReportFormat.COMPOSE:
            return lambda report: _fragments(report, PlatformName.COMPOSE)
        return _assert_never(self)


def _fragments(report: Report, platform_name: PlatformName | None = None) -> str:
    """What to paste, per image, in a platform's own terms (by default the probe's platform: ECS's
    task-definition fragment, a Kubernetes strategic-merge patch, a Compose override)."""
    from ecs5probe.platforms import to_platform

    platform = to_platform(platform_name or report.platform)
    return "".join(platform.fragment(r.mounts, report.launch_type, r.image) for r in report.results)


def _assert_never(value: NoReturn) -> NoReturn:
    raise AssertionError(f"unhandled value: {value!r}")


FORMATS = tuple(f.value for f in ReportFormat)
