"""The bundled sample images: where they are, what each expects, and how to build them."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecs5probe.errors import Ecs5ProbeError

BUSYBOX_BASE = "ecs5probe/busybox:latest"
DEBIAN_BASE = "ecs5probe/debian:bookworm"
PREFIX = "ecs5probe-sample/"


@dataclass(frozen=True)
class Sample:
    """One sample folder: its Dockerfile's image tag and its expected.json."""

    name: str
    path: Path
    expected: dict[str, Any] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        return f"{PREFIX}{self.name}:latest"

    @property
    def base(self) -> str:
        return str(self.expected.get("base", "busybox"))

    @property
    def options(self) -> dict[str, Any]:
        """ProbeOptions keyword arguments the sample needs (lists become tuples)."""
        return {k: tuple(v) if isinstance(v, list) else v for k, v in self.expected.get("options", {}).items()}


def samples_dir() -> Path:
    """The sample_images folder: packaged with the wheel, or the source checkout's."""
    here = Path(__file__).resolve().parent.parent
    for p in (here / "_samples", here.parent / "sample_images"):
        if p.is_dir():
            return p
    raise Ecs5ProbeError("the bundled sample_images folder is missing from this installation")


def load_samples(root: Path | None = None) -> list[Sample]:
    root = root or samples_dir()
    out = []
    for d in sorted(root.iterdir()):
        if d.is_dir() and not d.name.startswith("_") and (d / "Dockerfile").exists():
            exp = json.loads((d / "expected.json").read_text()) if (d / "expected.json").exists() else {}
            out.append(Sample(d.name, d, exp))
    return out


def is_static_elf(path: Path) -> bool:
    """True for an ELF executable with no program interpreter (statically linked)."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit only
        return False
    e = "<" if data[5] == 1 else ">"
    (phoff,) = struct.unpack_from(e + "Q", data, 0x20)
    phentsize, phnum = struct.unpack_from(e + "HH", data, 0x36)
    for i in range(phnum):
        (p_type,) = struct.unpack_from(e + "I", data, phoff + i * phentsize)
        if p_type == 3:  # PT_INTERP
            return False
    return True


def find_static_busybox() -> Path:
    for p in (Path("/bin/busybox"), Path("/usr/bin/busybox"), Path("/usr/local/bin/busybox")):
        if p.exists() and is_static_elf(p.resolve()):
            return p.resolve()
    raise Ecs5ProbeError("no static busybox found: install Debian's busybox-static (apt-get install busybox-static)")


def build_samples(
    samples: list[Sample],
    build: Callable[[str, str], None],
    exists: Callable[[str], bool],
    log: Callable[[str], None] = lambda s: None,
    rebuild: bool = False,
) -> None:
    """Build the base images and every sample that is missing (or all, with ``rebuild``)."""
    root = samples[0].path.parent if samples else samples_dir()
    if any(s.base == "busybox" for s in samples) and (rebuild or not exists(BUSYBOX_BASE)):
        log(f"building {BUSYBOX_BASE} from the host's static busybox")
        with tempfile.TemporaryDirectory(prefix="ecs5probe-base-") as ctx:
            shutil.copy(root / "_base" / "busybox" / "Dockerfile", Path(ctx) / "Dockerfile")
            shutil.copy(find_static_busybox(), Path(ctx) / "busybox")
            build(ctx, BUSYBOX_BASE)
    if any(s.base == "debian" for s in samples) and not exists(DEBIAN_BASE):
        if shutil.which("debootstrap") is None:
            raise Ecs5ProbeError("debootstrap is needed for the Debian samples (apt-get install debootstrap)")
        log(f"building {DEBIAN_BASE} with debootstrap (about a minute)")
        proc = subprocess.run(
            ["bash", str(root / "_base" / "debian" / "build.sh"), DEBIAN_BASE],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise Ecs5ProbeError(f"building {DEBIAN_BASE} failed: {proc.stderr.strip()[-300:]}")
    for s in samples:
        if rebuild or not exists(s.tag):
            log(f"building {s.tag}")
            build(str(s.path), s.tag)
