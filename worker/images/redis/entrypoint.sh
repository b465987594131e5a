#!/bin/sh
# As the official image does: redis-server runs as the redis user, in /data, reachable from other containers
# (protected mode off: no config file here; a later --protected-mode in the command still wins).
set -eu
if [ "${1:-}" = redis-server ]; then
  shift
  chown redis:redis /data
  exec setpriv --reuid=redis --regid=redis --init-groups redis-server --dir /data --protected-mode no "$@"
fi
exec "$@"
