# shellcheck shell=bash
# Starting and stopping the control-plane processes (sourced by control.sh).
# Every process gets a pid file the moment it starts; stopping also sweeps
# /proc for our binaries whose command line points into $CLUSTER_DIR, so
# nothing survives even when a pid file was never written.

RUN_DIR=$CLUSTER_DIR/run
LOG_DIR=$CLUSTER_DIR/logs

# start_component NAME ARGS...: runs $K8S_BIN_DIR/NAME detached in its own
# session (a Ctrl-C in the caller's terminal must not reach it), without the
# caller's lock descriptors (a daemon holding them would block the next run).
start_component() {
    local name=$1
    shift
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    rm -f "$RUN_DIR/$name.pid"
    # One log per run (the previous run's kept as .prev) so readiness checks
    # on the log never see an old run's lines.
    [[ -f "$LOG_DIR/$name.log" ]] && mv "$LOG_DIR/$name.log" "$LOG_DIR/$name.log.prev"
    # shellcheck disable=SC2016 # $$ is expanded by the inner shell, on purpose
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$RUN_DIR/$name.pid" \
        "$K8S_BIN_DIR/$name" "$@" </dev/null >"$LOG_DIR/$name.log" 2>&1 8>&- 9>&- &
    # Done once the pid file names the exec'd binary, not the wrapper shell.
    local i
    for ((i = 0; i < 50; i++)); do
        component_pid "$name" >/dev/null && return 0
        sleep 0.1
    done
    die "$name did not start (see $LOG_DIR/$name.log)"
}

# component_pid NAME: prints the pid of a live NAME process of this cluster.
component_pid() {
    local name=$1 pid
    pid=$(cat "$RUN_DIR/$name.pid" 2>/dev/null) || return 1
    ours "$pid" "$name" && echo "$pid"
}

# ours PID NAME: true when PID runs binary NAME with arguments in $CLUSTER_DIR
# (guards against pid reuse after a reboot or a crash).
ours() {
    local pid=$1 name=$2 argv=()
    mapfile -d '' -t argv 2>/dev/null <"/proc/$pid/cmdline" || return 1
    [[ ${#argv[@]} -gt 1 && "${argv[0]}" == */"$name" && "${argv[*]:1}" == *"$CLUSTER_DIR/"* ]]
}

# stray_pids: every process of ours, pid file or not.
stray_pids() {
    local d pid name
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        for name in "${COMPONENTS[@]}"; do
            ours "$pid" "$name" && echo "$pid"
        done
    done
}

stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    log "warning: process $pid did not exit"
}

# stop_all: controller-manager first, etcd last, then anything left over.
stop_all() {
    local i pid
    for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
        if pid=$(component_pid "${COMPONENTS[i]}"); then
            stop_pid "$pid"
        fi
        rm -f "$RUN_DIR/${COMPONENTS[i]}.pid"
    done
    for pid in $(stray_pids); do
        log "stopping leftover process $pid"
        stop_pid "$pid"
    done
}

port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_port NAME PORT SECONDS: until PORT listens, failing fast if NAME died.
wait_port() {
    local name=$1 port=$2 secs=$3 i
    for ((i = 0; i < secs * 5; i++)); do
        port_busy "$port" && return 0
        component_pid "$name" >/dev/null || die "$name exited (see $LOG_DIR/$name.log)"
        sleep 0.2
    done
    die "$name did not listen on 127.0.0.1:$port within ${secs}s (see $LOG_DIR/$name.log)"
}

# wait_log NAME TEXT SECONDS: until NAME's log contains TEXT.
wait_log() {
    local name=$1 text=$2 secs=$3 i
    for ((i = 0; i < secs * 5; i++)); do
        grep -qF -- "$text" "$LOG_DIR/$name.log" 2>/dev/null && return 0
        component_pid "$name" >/dev/null || die "$name exited (see $LOG_DIR/$name.log)"
        sleep 0.2
    done
    die "$name not ready within ${secs}s (see $LOG_DIR/$name.log)"
}
