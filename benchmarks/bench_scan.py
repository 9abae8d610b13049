#!/usr/bin/env python3
"""``scan`` on a rendered chart the size of a controller install manifest (CRDs with large schemas, then
the controller's workloads): generates a file of about --mb megabytes and times the scan of it.

The target (issue 29): a 3 MB file in under 3 s. Timings on a shared 2-core machine are noisy.
Usage: python benchmarks/bench_scan.py [--mb 3] [--repeat 3] [--keep FILE]   (prints a Markdown table)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def _schema(depth: int, width: int) -> list[str]:
    """An openAPIV3Schema body, as CRDs carry them (most of such a file's bytes)."""
    out: list[str] = []

    def node(level: int, indent: str) -> None:
        out.append(f"{indent}type: object")
        out.append(f"{indent}description: A field of the custom resource, documented at length as generated CRDs are.")
        out.append(f"{indent}properties:")
        for i in range(width):
            out.append(f"{indent}  field{level}x{i}:")
            if level < depth:
                node(level + 1, indent + "    ")
            else:
                out.append(f"{indent}    type: string")
                out.append(f"{indent}    description: containers image securityContext readOnlyRootFilesystem")

    node(0, "              ")
    return out


def crd(i: int, schema: list[str]) -> str:
    head = f"""---
# Source: controller/crds/crd-{i}.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: things{i}.example.com
spec:
  group: example.com
  names:
    kind: Thing{i}
    plural: things{i}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
"""
    return head + "\n".join(schema) + "\n"


def workload(i: int) -> str:
    return f"""---
# Source: controller/templates/deployment-{i}.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: controller-{i}
  namespace: system
spec:
  template:
    spec:
      initContainers:
        - name: init
          image: registry.example/init:1
      containers:
        - name: manager
          image: registry.example/controller:1
          securityContext:
            readOnlyRootFilesystem: true
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            capabilities: {{drop: [ALL]}}
        - name: kube-rbac-proxy
          image: registry.example/proxy:1
"""


def generate(mb: float) -> str:
    schema = _schema(depth=3, width=4)
    parts, size, i = [], 0, 0
    while size < mb * 2**20:
        parts.append(crd(i, schema))
        size += len(parts[-1])
        if i % 10 == 0:
            parts.append(workload(i))
            size += len(parts[-1])
        i += 1
    return "".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=3.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", help="also write the generated file here")
    args = ap.parse_args()

    from ecs5probe.app.scanning import collect

    text = generate(args.mb)
    if args.keep:
        Path(args.keep).write_text(text)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "install.yaml"
        path.write_text(text)
        times, rows = [], 0
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            result = collect([str(path)])
            times.append(time.perf_counter() - t0)
            rows = len(result.rows)
    print("| file | MB | documents | rows | median s | min s |")
    print("|---|---|---|---|---|---|")
    print(
        f"| install.yaml | {len(text) / 2**20:.2f} | {result.documents} | {rows} | "
        f"{statistics.median(times):.2f} | {min(times):.2f} |"
    )


if __name__ == "__main__":
    main()
