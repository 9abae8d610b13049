#!/bin/sh
# A repository's own smoke test, as it runs in CI: ecs5probe runs it on this machine, in its working
# directory, against each run's container ($ECS5PROBE_HOST: a loopback address of that run's own, where
# the container's ports are published with their own numbers; also $ECS5PROBE_CONTAINER, $ECS5PROBE_IMAGE).
set -eu
curl -fsS "http://$ECS5PROBE_HOST:80/" >/dev/null
test "$(curl -sS -o /dev/null -w '%{http_code}' "http://$ECS5PROBE_HOST:80/no-such-page")" = 404
