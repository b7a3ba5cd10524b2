#!/bin/sh
# Redis for the demo stack: ACL users written from the stack's env file at each start (never on the
# command line), the default user off, no persistence, 127.0.0.1 only.
set -eu
. /run/gameday/stack.env
ACL=/etc/redis/gameday-users.acl
mkdir -p /etc/redis
umask 077
cat > "$ACL" <<ACLS
user default off
user admin on >$GAMEDAY_DEMO_REDIS_ADMIN_PASSWORD ~* &* +@all
user checkout on >$GAMEDAY_DEMO_REDIS_CHECKOUT_PASSWORD ~* &* +@all -@dangerous
ACLS
exec redis-server --bind 127.0.0.1 --port "$GAMEDAY_DEMO_REDIS_PORT" --protected-mode yes \
    --save '' --appendonly no --daemonize no --aclfile "$ACL" --loglevel warning
