"""Docker Compose: ``read_only: true`` per service, Compose files in and out (the whole file patched, or
an override file), and Compose's storage semantics: ``tmpfs:`` entries (Docker's --tmpfs, with uid,
gid, mode and size), named volumes (the image's files copied in on first use) and ``nocopy`` volumes
(empty)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ecs5probe.core.deployment import Deployment
from ecs5probe.core.ports import MountSpec
from ecs5probe.model import Mount, PlatformName, Privilege
from ecs5probe.platforms import yamlio
from ecs5probe.platforms.compose import patch, project
from ecs5probe.platforms.interface import Document, Platform, Verdict, container_name

SUFFIXES = (".yaml", ".yml")
OVERRIDE = "override"


class Compose(Platform):
    name: ClassVar[PlatformName] = PlatformName.COMPOSE
    controls: ClassVar[tuple[str, ...]] = ("read_only", "user", "privileged")
    formats: ClassVar[tuple[str, ...]] = ("yaml", OVERRIDE)
    unprivileged_port_start: int | None = None  # docker compose runs on Docker: its 0 holds

    def mount_spec(
        self, mount: Mount, image_volumes: Collection[str], storage: Mapping[str, str] | None = None
    ) -> MountSpec:
        copy = mount.kind == "volume"  # a named volume copies; a nocopy volume and a tmpfs start empty
        return MountSpec(mount.container_path, mount.kind, mount.mount_options, mount.size_mib, copy_content=copy)

    def reads(self, path: Path) -> bool:
        return path.suffix in SUFFIXES

    def claims(self, path: Path, text: str) -> bool:
        return project.claims(text)

    def read(self, path: Path, text: str, strict: bool) -> Iterator[Document]:
        return project.read(path, text, strict)

    def evaluate(self, doc: Mapping[str, Any], controls: Collection[str] | None = None) -> list[Verdict]:
        from ecs5probe.platforms.compose import controls as checks

        return checks.evaluate(doc, controls)

    def deployment(self, doc: Mapping[str, Any], name: str) -> Deployment:
        from ecs5probe.platforms.compose.deployment import deployment

        return deployment(name, doc)

    def patch(
        self, doc: Mapping[str, Any], mounts: Mapping[str, Sequence[Mount]], target: str | None = None
    ) -> tuple[dict[str, Any], list[str]]:
        patched, notes = patch.patch(doc, mounts)
        return patched, notes

    def harden(
        self, doc: Mapping[str, Any], privileges: Mapping[str, Privilege], target: str | None = None
    ) -> list[str]:
        from ecs5probe.platforms.compose import hardening

        notes: list[str] = []
        for name, s in project.services(doc).items():
            if str(name) in privileges:
                hardening.harden(str(name), s, privileges[str(name)], notes)
        return notes

    def render(self, doc: Mapping[str, Any], fmt: str, name: str) -> str:
        """The patched file; or, as an override with nothing to compare against, all its storage."""
        if fmt == OVERRIDE:
            return yamlio.dump(patch.override({"services": {}}, doc))
        return yamlio.dump(doc)

    def write(self, docs: Sequence[Document], patched: Sequence[Mapping[str, Any] | None], fmt: str) -> str:
        text = Path(docs[0].file).read_text(encoding="utf-8", errors="replace")
        new = patched[0] if patched and patched[0] is not None else docs[0].body
        if fmt == OVERRIDE:
            made = patch.override(docs[0].body, new)
            present = project.default_overrides(Path(docs[0].file))
            if present and project.files_of(docs[0].body)[1:] == (str(present[0]),):
                # the project's override, which the probe ran with: kept, what fix adds merged in
                old_text = present[0].read_text(encoding="utf-8", errors="replace")
                old = yamlio.load_all(present[0], old_text)
                if old and isinstance(old[0], dict):
                    return yamlio.dump(patch.merge_override(old[0], made), like=old_text)
            return yamlio.dump(made, like=text)
        return yamlio.dump(new, like=text)

    def fragment(self, mounts: Sequence[Mount], target: str | None = None, image: str = "") -> str:
        service = container_name(image)
        empty: dict[str, Any] = {"services": {service: {}}}
        patched, _ = patch.patch(empty, {service: mounts})
        head = f"# docker-compose.override.yml for {image or 'the image'} (service named {service} here)\n"
        return head + yamlio.dump(patch.override(empty, patched))
