"""Fix a document: probe each container's image as the document runs it, then patch it (any platform)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ecs5probe.app.probing import probe_deployment  # the core's, with the result cache in front
from ecs5probe.core.options import Observer, ProbeOptions, teller
from ecs5probe.core.ports import Runtime
from ecs5probe.core.together import DeploymentResult, MemberResult
from ecs5probe.errors import ImageNotFound, RegistryError, TaskDefinitionError, UsageError
from ecs5probe.model import Mount, PlatformName, ProbeResult
from ecs5probe.platforms.interface import Document, Platform

#: One container's probe, named exactly as the document names it, with what kind of container it is.
ContainerResult = MemberResult


@dataclass(frozen=True)
class FixResult:
    """The patched document, the notes for the user, and each container's probe."""

    document: dict[str, Any]
    notes: list[str]
    containers: list[ContainerResult]
    deployment: DeploymentResult  # every container's probe, and (not alone) their run together

    @property
    def together(self) -> DeploymentResult | None:
        """The run of the containers together; None where one container was probed alone."""
        return None if self.deployment.alone else self.deployment

    @property
    def results(self) -> dict[str, ProbeResult]:
        return {c.name: c.result for c in self.containers}

    @property
    def cannot(self) -> list[str]:
        """Controls asked for with --harden that cannot be met without changing an image, and why."""
        return [f"{c.name}: {why}" for c in self.containers if c.result.privilege for why in c.result.privilege.cannot]

    @property
    def verified(self) -> bool:
        return self.deployment.verified and all(c.result.verified for c in self.containers)


def fix(
    runtime: Runtime,
    platform: Platform,
    doc: Mapping[str, Any],
    images: Mapping[str, str],
    base: ProbeOptions,
    target: str | None = None,
    observer: Observer | None = None,
    pull: str = "never",
    attach: str | None = None,
    name: str = "deployment",
) -> FixResult:
    """Every image is checked (and pulled, by the ``pull`` policy) first, so that nothing is probed
    when one is missing; then the deployment is probed as its platform runs it, then the document patched."""
    from ecs5probe.app.pull import ensure

    deployment = platform.deployment(doc, name)
    for c in deployment.members:
        local = images.get(c.image, c.image)
        try:
            ensure(runtime, local, pull, teller(observer, local))
        except ImageNotFound:
            raise ImageNotFound(
                f"container {c.name}: image {c.image} is not local; build or pull it (--pull missing), or map "
                f"it with --image {c.image}=LOCAL:TAG"
            ) from None
        except RegistryError as e:
            raise RegistryError(f"container {c.name}: {e}; or map it with --image {c.image}=LOCAL:TAG") from None
    local_images = tuple(replace(m, image=images.get(m.image, m.image)) for m in deployment.members)
    base = replace(base, platform=platform.name)
    result = probe_deployment(runtime, replace(deployment, members=local_images), base, platform, observer, attach)
    done = [
        replace(c, result=replace(c.result, deployment=name, container=c.name, container_kind=c.kind))
        for c in result.members
    ]
    mounts: dict[str, list[Mount]] = {c.name: c.result.mounts for c in done}
    patched, notes = platform.patch(doc, mounts, target)
    privileges = {c.name: c.result.privilege for c in done if c.result.privilege is not None}
    if privileges:
        notes = [*notes, *platform.harden(patched, privileges, target)]
    return FixResult(patched, notes, done, result)


@dataclass(frozen=True)
class FileFix:
    """One file fixed: each document's fix, and the file's new text (None: a container cannot be made
    to work read-only, so nothing is to be written). ``before``/``after`` compare it for a dry run."""

    path: str
    fixes: list[tuple[str, FixResult]]  # (document name, its fix)
    text: str | None
    notes: list[str]  # what the output format has no place for (named, left out)
    before: str = ""
    after: str = ""

    @property
    def verified(self) -> bool:
        return all(f.verified for _, f in self.fixes)


def read_documents(path: str, compose_files: Sequence[str] = ()) -> tuple[Platform, list[Document]]:
    """The platform and the documents of one file, checked before anything is probed. ``compose_files``:
    Compose files merged over it, in order, as ``docker compose -f`` merges them (its default override
    file is then not read, as docker compose does not read it)."""
    from pathlib import Path

    from ecs5probe.platforms import get, read

    found = list(read(Path(path)))
    if compose_files:
        from ecs5probe.platforms.compose.project import attach

        for d in found:
            if d.platform is PlatformName.COMPOSE:
                attach(d.body, (d.file, *compose_files))
    if not found:
        raise TaskDefinitionError(f"{path}: no document to fix")
    platform = get(found[0].platform)
    if len(found) != 1 and not platform.many_per_file:
        raise TaskDefinitionError(f"{path}: holds {len(found)} task definitions; fix takes one per file")
    for doc in found:
        if doc.unresolved:
            raise TaskDefinitionError(f"{path}: {doc.unresolved}")
    return platform, found


def fix_file(
    runtime: Runtime,
    path: str,
    found: tuple[Platform, list[Document]],
    images: Mapping[str, str],
    base: ProbeOptions,
    fmt: str,
    target: str | None = None,
    observer: Observer | None = None,
    pull: str = "missing",
    attach: str | None = None,
) -> FileFix:
    """Probe and patch every document of one file; its text in ``fmt`` when every container verified."""
    import json
    from pathlib import Path

    platform, docs = found
    fixes = [
        (d.name, fix(runtime, platform, d.body, images, base, target, observer, pull, attach, d.name)) for d in docs
    ]
    if not all(f.verified for _, f in fixes):
        return FileFix(path, fixes, None, [])
    patched = [f.document for _, f in fixes]
    text = str(platform.write(docs, patched, fmt))
    notes = [f"{path}: {n}" for doc in patched for n in platform.unrepresented(doc, fmt)]
    if platform.name is PlatformName.ECS:  # any input format: compare the task definitions themselves
        before, after = (json.dumps(d, indent=2) + "\n" for d in (docs[0].body, patched[0]))
    else:  # YAML in, YAML out: compare the files
        before, after = Path(path).read_text(encoding="utf-8", errors="replace"), text
    return FileFix(path, fixes, text, notes, before, after)


SUFFIX = {"json": ".json", "terraform": ".tf", "cloudformation": ".cfn.json", "yaml": ".yaml", "override": ".yaml"}


def format_for(platform: Platform, fmt: str | None, output: str) -> str:
    """The format asked for, checked against the file's platform; else the platform's default."""
    import re

    if fmt is None:
        if "override" in platform.formats and re.search(r"override\.ya?ml$", output):
            return "override"
        return str(platform.formats[0])
    if fmt not in platform.formats:
        raise UsageError(f"--format: {fmt!r} is not a {platform.name} format (one of: {', '.join(platform.formats)})")
    return fmt


def target_path(path: str, output: str, fmt: str) -> str:
    """Where a fixed file goes in the ``output`` directory."""
    import os
    from pathlib import Path

    stem = Path(path).name.split(".")[0]
    middle = ".override" if fmt == "override" else ".fixed"
    return os.path.join(output, stem + middle + SUFFIX[fmt])


def probe_documents(
    runtime: Runtime,
    paths: Sequence[str],
    base: ProbeOptions,
    observer: Observer | None = None,
    pull: str = "missing",
    attach: str | None = None,
) -> list[ProbeResult]:
    """``probe FILE``: every container of each document probed as ``fix`` does (a deployment together),
    nothing written; one result per container, named ``deployment/container``."""
    found = [(p, read_documents(p)) for p in paths]  # read and check all before probing any
    out: list[ProbeResult] = []
    for _, (platform, docs) in found:
        for d in docs:
            done = fix(runtime, platform, d.body, {}, base, None, observer, pull, attach, d.name)
            out += [c.result for c in done.containers]
    return out
