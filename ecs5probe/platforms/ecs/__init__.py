"""Amazon ECS: Security Hub ECS.5 (readonlyRootFilesystem), task definitions in JSON, Terraform and
CloudFormation, and ECS's storage semantics (tmpfs, bind task volumes, Docker volumes on EC2)."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ecs5probe.core.deployment import Deployment
from ecs5probe.core.ports import MountSpec
from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import Mount, PlatformName, Privilege
from ecs5probe.platforms.ecs import cloudformation, fragment, sources, taskdef, terraform
from ecs5probe.platforms.interface import Document, Platform, Verdict


class Ecs(Platform):
    name: ClassVar[PlatformName] = PlatformName.ECS
    controls: ClassVar[tuple[str, ...]] = ("ECS.5", "ECS.20", "ECS.4")
    formats: ClassVar[tuple[str, ...]] = ("json", "terraform", "cloudformation")
    unprivileged_port_start: int | None = 1024  # the kernel's: ECS does not set it (containers-roadmap#1721)

    def mount_spec(
        self, mount: Mount, image_volumes: Collection[str], storage: Mapping[str, str] | None = None
    ) -> MountSpec:
        """tmpfs: empty; a bind task volume: empty, root 0755, except on an image VOLUME path, which ECS
        fills with the image's content; a Docker volume (EC2): copies the image's content in."""
        copy = mount.kind == "volume" or (mount.kind == "bind" and mount.container_path in image_volumes)
        return MountSpec(mount.container_path, mount.kind, mount.mount_options, mount.size_mib, copy_content=copy)

    def reads(self, path: Path) -> bool:
        return path.suffix in sources.SUFFIXES

    def read(self, path: Path, text: str, strict: bool) -> Iterator[Document]:
        return sources.read(path, text, strict)

    def evaluate(self, doc: Mapping[str, Any], controls: Collection[str] | None = None) -> list[Verdict]:
        from ecs5probe.platforms.ecs import controls as checks

        return checks.evaluate(doc, controls)

    def deployment(self, doc: Mapping[str, Any], name: str) -> Deployment:
        from ecs5probe.platforms.ecs.deployment import deployment

        return deployment(taskdef.unwrap(doc))

    def patch(
        self, doc: Mapping[str, Any], mounts: Mapping[str, Sequence[Mount]], target: str | None = None
    ) -> tuple[dict[str, Any], list[str]]:
        return taskdef.patch(doc, mounts, taskdef.launch_type(taskdef.unwrap(doc), target))

    def harden(
        self, doc: Mapping[str, Any], privileges: Mapping[str, Privilege], target: str | None = None
    ) -> list[str]:
        from ecs5probe.platforms.ecs import hardening

        return hardening.harden(doc, privileges, taskdef.launch_type(doc, target) == "FARGATE")

    def render(self, doc: Mapping[str, Any], fmt: str, name: str) -> str:
        if fmt == "terraform":
            return terraform.render(doc, name)
        if fmt == "cloudformation":
            return cloudformation.render(doc, name)
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"

    def unrepresented(self, doc: Mapping[str, Any], fmt: str) -> list[str]:
        if fmt == "terraform":
            return [
                f"{k} has no aws_ecs_task_definition argument: left out (a comment names it)"
                for k in terraform.unrepresented(doc)
            ]
        if fmt == "cloudformation":
            return [
                f"{k} has no AWS::ECS::TaskDefinition property in CloudFormation's schema: left out"
                for k in cloudformation.unrepresented(doc)
            ]
        return []

    def write(self, docs: Sequence[Document], patched: Sequence[Mapping[str, Any] | None], fmt: str) -> str:
        """One task definition per file; Terraform names the resource after the family."""
        if len(docs) != 1 or patched[0] is None:
            raise TaskDefinitionError(
                f"{docs[0].file if docs else 'this file'}: fix takes one task definition per file"
            )
        td = patched[0]
        name = re.sub(r"[^A-Za-z0-9_]", "_", str(td.get("family", "this"))) if fmt == "terraform" else "TaskDefinition"
        return self.render(td, fmt, name)

    def fragment(self, mounts: Sequence[Mount], target: str | None = None, image: str = "") -> str:
        return fragment.render(mounts, "FARGATE" if (target or "").upper() == "FARGATE" else "EC2")
