#!/bin/sh
set -e
echo $$ > /run/app15.pid
lockdir=$(mktemp -d /var/lock/app15.XXXXXXXXXX)
echo "$lockdir" > /run/app15.lockdir
trap 'rm -rf "$lockdir" /run/app15.pid /run/app15.lockdir; exit 0' TERM
while :; do sleep 1; done
