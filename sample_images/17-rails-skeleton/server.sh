#!/bin/sh
grep -q production config/app.yml || exit 1
echo $$ > tmp/pids/server.pid || exit 1
echo compiled > tmp/cache/assets.bin || exit 1
echo "booted" >> log/production.log || exit 1
trap 'rm -f tmp/pids/server.pid; exit 0' TERM
while :; do sleep 1; done
