"""Kubernetes: CKV_K8S_22 (securityContext.readOnlyRootFilesystem), manifests in YAML (multi-document,
``kind: List``, Helm output), and the storage semantics of ``emptyDir``.

``emptyDir`` starts empty (the image's files at that path are hidden, never copied) with mode 0777
(kubelet's ``const perm os.FileMode = 0777``); with the pod's ``fsGroup`` its group is fsGroup and the
setgid bit is set. Verification reproduces exactly that: an empty tmpfs of mode 0777 (2777 and that
group with fsGroup) whose root keeps that mode even over a directory the image has (Docker's own
--tmpfs would take the image directory's mode; a tmpfs-backed volume does not). Disk-backed emptyDirs
have the same filesystem semantics; only the bytes live elsewhere. Where the app needs the image's
files at a writable path, the patch adds an initContainer that copies them in, which the probe
verifies as a copy of the image's content.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ecs5probe.core.deployment import Deployment
from ecs5probe.core.ports import MountSpec
from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import Mount, PlatformName, Privilege
from ecs5probe.platforms import yamlio
from ecs5probe.platforms.interface import Document, Platform, Verdict, container_name
from ecs5probe.platforms.kubernetes import manifests, patch

SUFFIXES = (".yaml", ".yml")


class Kubernetes(Platform):
    name: ClassVar[PlatformName] = PlatformName.KUBERNETES
    controls: ClassVar[tuple[str, ...]] = ("CKV_K8S_22", "CKV_K8S_23", "CKV_K8S_20", "CKV_K8S_37", "CKV_K8S_16")
    formats: ClassVar[tuple[str, ...]] = ("yaml",)
    many_per_file: ClassVar[bool] = True
    unprivileged_port_start: int | None = 1024  # containerd 1.x and CRI-O leave the kernel's (2.0 sets 0)

    def mount_spec(
        self, mount: Mount, image_volumes: Collection[str], storage: Mapping[str, str] | None = None
    ) -> MountSpec:
        if mount.kind == "volume":  # an emptyDir the initContainer fills with the image's files
            return MountSpec(mount.container_path, "volume", (), mount.size_mib, copy_content=True)
        fs_group = (storage or {}).get("fsGroup")
        options = ("mode=2777", f"gid={fs_group}") if fs_group else ("mode=0777",)
        return MountSpec(mount.container_path, "tmpfs", options, mount.size_mib, fresh=True)

    def reads(self, path: Path) -> bool:
        return path.suffix in SUFFIXES

    def claims(self, path: Path, text: str) -> bool:
        return manifests.claims(text)

    def read(self, path: Path, text: str, strict: bool) -> Iterator[Document]:
        return manifests.read(path, text, strict)

    def evaluate(self, doc: Mapping[str, Any], controls: Collection[str] | None = None) -> list[Verdict]:
        from ecs5probe.platforms.kubernetes import controls as checks

        return checks.evaluate(doc, controls)

    def deployment(self, doc: Mapping[str, Any], name: str) -> Deployment:
        from ecs5probe.platforms.kubernetes.deployment import deployment

        spec = manifests.pod_spec(doc)
        if spec is None:
            raise TaskDefinitionError(f"{doc.get('kind')}: not a workload with containers")
        return deployment(name, spec)

    def patch(
        self, doc: Mapping[str, Any], mounts: Mapping[str, Sequence[Mount]], target: str | None = None
    ) -> tuple[dict[str, Any], list[str]]:
        patched, notes = patch.patch(doc, mounts)
        return patched, notes

    def harden(
        self, doc: Mapping[str, Any], privileges: Mapping[str, Privilege], target: str | None = None
    ) -> list[str]:
        from ecs5probe.platforms.kubernetes import hardening

        pod = manifests.pod_spec(doc)
        if pod is None:
            return []
        return hardening.harden(pod, [c for _, c in manifests.containers(pod)], privileges)

    def render(self, doc: Mapping[str, Any], fmt: str, name: str) -> str:
        return yamlio.dump(doc)

    def write(self, docs: Sequence[Document], patched: Sequence[Mapping[str, Any] | None], fmt: str) -> str:
        """The whole file again, every other document and comment kept, the patched workloads in place."""
        stream = docs[0].stream[0]
        for doc, new in zip(docs, patched, strict=True):
            if new is None:
                continue
            _, top, item = doc.stream
            if item is None:
                stream[top] = new
            else:
                stream[top]["items"][item] = new
        text = Path(docs[0].file).read_text(encoding="utf-8", errors="replace")
        return yamlio.dump_all(stream, explicit_start=text.lstrip().startswith("---"), like=text)

    def fragment(self, mounts: Sequence[Mount], target: str | None = None, image: str = "") -> str:
        name = container_name(image)
        body = patch.strategic_patch(mounts, name, image or "IMAGE")
        head = f"# strategic-merge patch for {image or 'the image'}\n"
        head += "# kubectl patch deployment NAME --patch-file this.yaml\n"
        head += f"# (the container is named {name} here: use your container's name)\n"
        return head + yamlio.dump(body)
