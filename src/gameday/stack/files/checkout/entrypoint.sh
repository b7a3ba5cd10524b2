#!/bin/sh
# checkout's entrypoint. clock_skew (docs/faults.md) writes /run/gameday/clock.env (libfaketime's LD_PRELOAD
# and FAKETIME) and restarts the container; revert removes it and restarts again. A container's environment
# is fixed when it is created, so a file read at start is how a restart can change it in place.
if [ -r /run/gameday/clock.env ]; then
    set -a
    . /run/gameday/clock.env
    set +a
fi
exec python3 /opt/checkout/checkout.py
