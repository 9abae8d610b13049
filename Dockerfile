# ecs5probe in a container: it drives the host's Docker through its socket.
#   docker build -t ecs5probe .
#   docker run --rm -v /var/run/docker.sock:/var/run/docker.sock ecs5probe probe IMAGE
#   docker run --rm -v "$PWD:/work" -w /work ecs5probe scan infra/      (no socket needed)
# BASE: any Debian bookworm image (Python 3.11, the version constraints.txt was pinned with).
ARG BASE=debian:bookworm-slim
FROM ${BASE}
# strace: the probe bundles this strace (and its libraries) into the image it injects into containers;
# busybox-static: Kubernetes httpGet/tcpSocket probes are checked with it.
# container/ca/*.crt: extra certificate authorities (a TLS-inspecting proxy's), trusted from here on.
COPY container/ca/ /usr/local/share/ca-certificates/
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv strace busybox-static ca-certificates \
 && update-ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY ecs5probe ./ecs5probe
COPY sample_images ./sample_images
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
RUN python3 -m venv /opt/ecs5probe \
 && /opt/ecs5probe/bin/pip install --no-cache-dir -q -c constraints.txt . \
 && rm -rf /src
ENV PATH=/opt/ecs5probe/bin:$PATH PYTHONUNBUFFERED=1
WORKDIR /work
ENTRYPOINT ["ecs5probe"]
CMD ["--help"]
