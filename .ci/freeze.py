"""Print pins (name==version) for everything ecs5probe[test,aws] needs, as installed in this Python.

The closure is walked from the installed metadata (markers evaluated for this Python), so the output
is exactly the set of versions the tests just ran with; ecs5probe itself is left out."""

from __future__ import annotations

import sys
from importlib import metadata

from packaging.requirements import Requirement


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def closure(root: str, extras: set[str]) -> dict[str, str]:
    pins: dict[str, str] = {}
    todo: list[tuple[str, set[str]]] = [(root, extras)]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, want = todo.pop()
        key = (canonical(name), frozenset(want))
        if key in seen:
            continue
        seen.add(key)
        dist = metadata.distribution(name)
        if canonical(name) != canonical(root):
            pins[canonical(dist.metadata["Name"])] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            envs = [{"extra": e} for e in want] or [{"extra": ""}]
            if req.marker is not None and not any(req.marker.evaluate(env) for env in envs):
                continue
            todo.append((req.name, set(req.extras)))
    return pins


if __name__ == "__main__":
    pins = closure("ecs5probe", {"test", "aws"})
    print("# Versions the whole suite passed with (Python %d.%d). Refresh: .ci/lock; drift check: .ci/upstream" % sys.version_info[:2])
    for name in sorted(pins):
        if name in ("pip", "setuptools", "wheel"):  # the installer's own tools: never pinned here
            continue
        print(f"{name}=={pins[name]}")
