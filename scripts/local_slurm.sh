#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for tagbench's SLURM test and for trying
# profiles/slurm without a cluster. Debian's slurm-wlm (slurmctld + slurmd + client) and munge,
# run as root without systemd, cgroups or accounting; optional fake GPUs backed by /dev/null.
#
#   scripts/local_slurm.sh start     install what is missing, (re)write the config if it
#                                    changed, start the daemons, wait until the node is idle
#   scripts/local_slurm.sh stop      stop the daemons this script started (by PID)
#   scripts/local_slurm.sh status
#
# Idempotent: a second `start` installs nothing and leaves running daemons alone unless the
# config changed. Knobs: TAGBENCH_SLURM_PARTITION (default tagbench), TAGBENCH_SLURM_GPUS
# (fake GPUs, default 1), TAGBENCH_SLURM_GPU_TYPE (default testgpu), TAGBENCH_SLURM_WAIT (s, 60).
#
# Facts this relies on (Slurm 22.05, Debian 12): without slurmdbd `sacct` fails, so Snakemake's
# slurm plugin must poll with `--slurm-status-command squeue`, which needs finished jobs kept
# >= 120 s (MinJobAge); a job without --mem gets the whole node unless DefMemPerCPU is set;
# `slurmd` run with anything but -C/-V starts a second daemon that kills the first.
set -euo pipefail

partition="${TAGBENCH_SLURM_PARTITION:-tagbench}"
gpus="${TAGBENCH_SLURM_GPUS:-1}"
gpu_type="${TAGBENCH_SLURM_GPU_TYPE:-testgpu}"
wait_s="${TAGBENCH_SLURM_WAIT:-60}"
conf=/etc/slurm
run=/run/slurm
state=/var/lib/slurm
logs=/var/log/slurm

say() { echo "local_slurm: $*" >&2; }
fail() { say "error: $*"; exit 1; }

running() {  # running PIDFILE NAME: the PID in the file is alive and is that program
    local pid
    pid="$(cat "$1" 2>/dev/null)" || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

halt() {  # halt PIDFILE NAME: TERM, wait up to 10 s, then KILL
    running "$1" "$2" || return 0
    local pid
    pid="$(cat "$1")"
    say "stopping $2 ($pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$1"
}

install_slurm() {
    local need=()
    for pkg in munge slurmctld slurmd slurm-client; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need+=("$pkg")
    done
    [ "${#need[@]}" -eq 0 ] && return 0
    say "apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # exit 3: the packages cannot be had here (tests/test_slurm.py skips on it, outside CI alone)
    apt-get update -qq >/dev/null || { say "error: apt-get update failed"; exit 3; }
    # their postinst scripts cannot start services without systemd; we start them below
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
        || { say "error: apt-get could not install ${need[*]}"; exit 3; }
}

start_munge() {
    [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key --force
    chown munge:munge /etc/munge/munge.key
    chmod 600 /etc/munge/munge.key
    install -d -o munge -g munge -m 755 /run/munge
    install -d -o munge -g munge -m 700 /var/lib/munge /var/log/munge
    running /run/munge/munged.pid munged || runuser -u munge -- /usr/sbin/munged
    munge -n | unmunge >/dev/null || fail "munge does not work"
}

slurm_conf() {
    local host="$1" gres=""
    [ "$gpus" -gt 0 ] && gres=" Gres=gpu:${gpu_type}:${gpus}"
    cat <<CONF
# written by tagbench scripts/local_slurm.sh: one node, no cgroups, no accounting
ClusterName=tagbench
SlurmctldHost=$host
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=$run/slurmctld.pid
SlurmdPidFile=$run/slurmd.pid
SlurmctldLogFile=$logs/slurmctld.log
SlurmdLogFile=$logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MinJobAge=300
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ReturnToService=2
$([ "$gpus" -gt 0 ] && echo "GresTypes=gpu")
$(slurmd -C | head -n 1)$gres State=UNKNOWN
PartitionName=$partition Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

start() {
    local t0 host new changed=0 node_state=""
    t0=$(date +%s)
    install_slurm
    start_munge
    host="$(hostname -s)"
    getent hosts "$host" >/dev/null || echo "127.0.0.1 $host" >>/etc/hosts
    install -d -o slurm -g slurm -m 755 "$run" "$logs" "$state/ctld" "$state/d"
    mkdir -p "$conf"
    new="$(mktemp)"
    slurm_conf "$host" >"$new"
    if ! cmp -s "$new" "$conf/slurm.conf"; then install -m 644 "$new" "$conf/slurm.conf"; changed=1; fi
    rm -f "$new"
    if [ "$gpus" -gt 0 ]; then
        new="NodeName=$host Name=gpu Type=$gpu_type File=/dev/null Count=$gpus"
        [ "$(cat "$conf/gres.conf" 2>/dev/null)" = "$new" ] || { echo "$new" >"$conf/gres.conf"; changed=1; }
    elif [ -e "$conf/gres.conf" ]; then
        rm -f "$conf/gres.conf"; changed=1
    fi
    if [ "$changed" -eq 1 ]; then
        say "config written to $conf"
        halt "$run/slurmd.pid" slurmd
        halt "$run/slurmctld.pid" slurmctld
    fi
    running "$run/slurmctld.pid" slurmctld || /usr/sbin/slurmctld
    running "$run/slurmd.pid" slurmd || /usr/sbin/slurmd
    for _ in $(seq $((wait_s * 5))); do
        node_state="$(sinfo -h -n "$host" -o %T 2>/dev/null | head -n 1 || true)"
        case "$node_state" in
            idle|mixed|allocated) say "node $host $node_state after $(( $(date +%s) - t0 )) s"; sinfo; return 0 ;;
            *drain*|*inval*|down*) scontrol update nodename="$host" state=resume 2>/dev/null || true ;;
        esac
        sleep 0.2
    done
    tail -n 20 "$logs/slurmctld.log" "$logs/slurmd.log" >&2 || true
    fail "node $host not idle after $wait_s s (state: ${node_state:-unknown})"
}

[ "$(id -u)" -eq 0 ] || fail "run as root (it installs packages and starts daemons)"
case "${1:-start}" in
    start) start ;;
    stop)
        halt "$run/slurmd.pid" slurmd
        halt "$run/slurmctld.pid" slurmctld
        halt /run/munge/munged.pid munged ;;
    status)
        for d in "/run/munge/munged.pid munged" "$run/slurmctld.pid slurmctld" "$run/slurmd.pid slurmd"; do
            set -- $d
            if running "$1" "$2"; then echo "$2 running ($(cat "$1"))"; else echo "$2 stopped"; fi
        done ;;
    *) fail "usage: $0 [start|stop|status]" ;;
esac
