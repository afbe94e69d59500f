#!/usr/bin/env bash
# stop-local-slurm.sh - stop the one-node Slurm cluster that
# start-local-slurm.sh started. Packages, configuration and the munge key
# are left in place, so the next start is quick.
#
# It stops daemons only through their own pid files, and only those that
# start-local-slurm.sh recorded as started by it (a munged or slurmd run by
# something else, e.g. systemd, is left alone). No pkill/killall.
# Idempotent: running it when nothing is up does nothing and exits 0.
#
# Copied from the team's shared recipe (/work/shared/slurm) with its start
# counterpart, tools/slurm/start-local-slurm.sh.
#
# Usage:  sudo tools/slurm/stop-local-slurm.sh

set -uo pipefail

STATE_DIR=/run/local-slurm

log() { echo "[local-slurm] $*"; }

# alive PID: true while PID exists and is not a zombie (a killed daemon may
# stay a zombie for a moment until its parent reaps it).
alive() {
    kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# stop_daemon NAME PIDFILE: TERM the process named in PIDFILE if it is a live
# NAME process; wait up to 10 s, then KILL it if it is still there.
stop_daemon() {
    local name="$1" pidfile="$2" pid
    [ -s "$pidfile" ] || { log "$name: no pid file, not running"; return 0; }
    pid="$(cat "$pidfile" 2>/dev/null)"
    if [ -z "$pid" ] || ! alive "$pid" || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$name" ]; then
        log "$name: stale pid file, not running"
        rm -f "$pidfile"
        return 0
    fi
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do
        alive "$pid" || break
        sleep 0.2
    done
    if alive "$pid"; then
        log "$name (pid $pid) ignored TERM; sending KILL"
        kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$pidfile"
}

# 1. Cancel any jobs still queued or running, so no job processes
#    (slurmstepd and its children) outlive the daemons. Only while our
#    controller is up; scancel talks to it, so this touches only this cluster.
if [ -f "$STATE_DIR/started-slurmctld" ] && scontrol ping 2>/dev/null | grep -q 'is UP'; then
    jobs="$(squeue -h -o '%A' 2>/dev/null | sort -u)"
    if [ -n "$jobs" ]; then
        log "cancelling jobs: $(echo "$jobs" | tr '\n' ' ')"
        # shellcheck disable=SC2086
        scancel $jobs 2>/dev/null
        for _ in $(seq 1 50); do
            [ -z "$(squeue -h 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
fi

# 2. Compute daemon first, then controller, then munge (the reverse of the
#    start order), each only if start-local-slurm.sh started it.
[ -f "$STATE_DIR/started-slurmd" ]    && stop_daemon slurmd    /run/slurmd.pid
[ -f "$STATE_DIR/started-slurmctld" ] && stop_daemon slurmctld /run/slurmctld.pid
[ -f "$STATE_DIR/started-munged" ]    && stop_daemon munged    /run/munge/munged.pid

rm -f "$STATE_DIR/started-slurmd" "$STATE_DIR/started-slurmctld" "$STATE_DIR/started-munged"
log "stopped"
exit 0
