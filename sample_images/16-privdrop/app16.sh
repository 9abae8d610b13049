#!/bin/sh
exec setpriv --reuid=app16 --regid=app16 --init-groups sh -c '
  cd /var/lib/app16 || exit 1
  date > state || exit 1
  trap "date >> state; exit 0" TERM
  while :; do sleep 1; done'
