"""Errors ecs5probe raises: each one is a clear, one-line message for the user."""

from __future__ import annotations


class Ecs5ProbeError(Exception):
    """Base class. ``exit_code`` is what the CLI exits with (2: bad input or environment)."""

    exit_code = 2


class UsageError(Ecs5ProbeError):
    """A bad option or argument."""


class SmokeTestFailed(Ecs5ProbeError):
    """A smoke test fails even with a writable root filesystem: the test (or the app) is to be fixed first."""


class ImageNotFound(Ecs5ProbeError):
    """The image is not present locally (and was not to be pulled)."""


class RegistryError(Ecs5ProbeError):
    """A pull failed: unknown image, access denied, registry unreachable (the message names which)."""


class DaemonUnavailable(Ecs5ProbeError):
    """No Docker daemon answers."""


class TaskDefinitionError(Ecs5ProbeError):
    """A task definition is malformed or cannot be used."""


class Cancelled(Ecs5ProbeError):
    """The run was interrupted (Ctrl-C or SIGTERM); everything was cleaned up."""

    exit_code = 130
