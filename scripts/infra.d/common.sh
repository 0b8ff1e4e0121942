# shellcheck shell=bash
# Shared settings and helpers for scripts/infra (sourced, never executed).

INFRA_DIR="${PARLEY_INFRA_DIR:-$REPO_ROOT/.infra}"
# Survives a fresh clone of the repo on the same machine (Kafka jars, etc.).
CACHE_DIR="${PARLEY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/parley}"
LOG_DIR="$INFRA_DIR/logs"
RUN_DIR="$INFRA_DIR/run"

PG_PRIMARY_PORT="${PARLEY_PG_PRIMARY_PORT:-55432}"
PG_REPLICA_PORT="${PARLEY_PG_REPLICA_PORT:-55433}"
REDIS_PORT="${PARLEY_REDIS_PORT:-56379}"
LOCAL_STT_PORT="${PARLEY_LOCAL_STT_PORT:-56380}"
S3_PORT="${PARLEY_S3_PORT:-56390}"
KAFKA_PORT="${PARLEY_KAFKA_PORT:-59092}"
KAFKA_CONTROLLER_PORT="${PARLEY_KAFKA_CONTROLLER_PORT:-59093}"

log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] error: %s\n' "$*" >&2; exit 1; }

# wait_until SECONDS CMD...: poll CMD until it succeeds; status 1 on timeout.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# http_get PORT PATH: the reply (status line, headers, body) to a GET on loopback,
# over bash's /dev/tcp (no curl needed); fails when nothing listens.
http_get() {
  (
    exec 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
    timeout 5 cat <&3
  )
}

# status_line NAME PORT CHECK...: `scripts/infra status`'s line for one server,
# running when CHECK succeeds; returns 1 when it does not.
status_line() {
  local name=$1 port=$2
  shift 2
  if "$@"; then
    printf '%-18s running  127.0.0.1:%s\n' "$name" "$port"
  else
    printf '%-18s stopped  127.0.0.1:%s\n' "$name" "$port"; return 1
  fi
}

# pid_alive PIDFILE [CMDLINE-PATTERN]: the pid in the file runs (and, guarding
# against pid reuse after a reboot, its command line matches the pattern).
pid_alive() {
  local pid
  [[ -s $1 ]] || return 1
  pid=$(<"$1")
  kill -0 "$pid" 2>/dev/null || return 1
  [[ -z ${2:-} ]] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

# A zombie counts as gone: PID 1 here may be slow to reap re-parented daemons.
pid_gone() {
  local _pid _comm state
  kill -0 "$1" 2>/dev/null || return 0
  read -r _pid _comm state _ <"/proc/$1/stat" 2>/dev/null || return 0
  [[ $state == Z ]]
}

# stop_pid PID NAME [SECONDS]: SIGTERM, bounded wait, then SIGKILL.
stop_pid() {
  local pid=$1 name=$2 bound=${3:-30}
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until "$bound" pid_gone "$pid"; then
    log "$name did not stop within ${bound}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 5 pid_gone "$pid" || true
  fi
}

# fail_with_log WHAT LOGFILE...: report a server that did not come up, and exit.
fail_with_log() {
  local what=$1 f; shift
  log "$what did not become healthy."
  for f in "$@"; do
    [[ -s $f ]] || continue
    log "last lines of $f:"
    tail -n 30 "$f" >&2
  done
  exit 1
}

as_root() { if ((EUID == 0)); then "$@"; else sudo "$@"; fi; }

# apt_install PKG...: install Debian packages; `apt-get update` only happens here,
# i.e. only when something is actually missing.
apt_install() {
  command -v apt-get >/dev/null || die "missing $*, and apt-get is not available to install it"
  log "installing Debian packages: $*"
  # Package postinst scripts would start Debian's own services (Debian cluster,
  # redis on 6379); a policy-rc.d that answers 101 keeps them from doing so.
  local policy=/usr/sbin/policy-rc.d added=""
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    added=1
  fi
  local rc=0
  {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
  } >&2 || rc=$?
  [[ -z $added ]] || as_root rm -f "$policy"
  ((rc == 0)) || die "apt-get install $* failed (exit $rc)"
}

write_env_lines() { # PREFIX: "export " or ""
  local p=$1
  printf '%sPARLEY_PG_PRIMARY_URL=postgres://parley:parley@127.0.0.1:%s/parley\n' "$p" "$PG_PRIMARY_PORT"
  printf '%sPARLEY_PG_REPLICA_URL=postgres://parley:parley@127.0.0.1:%s/parley\n' "$p" "$PG_REPLICA_PORT"
  printf '%sPARLEY_REDIS_URL=redis://127.0.0.1:%s\n' "$p" "$REDIS_PORT"
  printf '%sPARLEY_KAFKA_BROKERS=127.0.0.1:%s\n' "$p" "$KAFKA_PORT"
  printf '%sPARLEY_LOCAL_STT_URL=http://127.0.0.1:%s/v1\n' "$p" "$LOCAL_STT_PORT"
  # Backups: a replication login, the WAL archive's folder and the server binaries (restores).
  printf '%sPARLEY_PG_REPLICATION_URL=postgres://replicator@127.0.0.1:%s/postgres\n' "$p" "$PG_PRIMARY_PORT"
  printf '%sPARLEY_BACKUP_DIR=%s\n' "$p" "$INFRA_DIR/backups"
  printf '%sPARLEY_PG_BIN=%s\n' "$p" "$PG_BIN"
  # An S3-compatible endpoint (moto, in memory) for the backup storage tests.
  printf '%sPARLEY_S3_ENDPOINT=http://127.0.0.1:%s\n' "$p" "$S3_PORT"
  # Kafka's jars, for the fault-injection tests' own broker (restarted mid-test).
  printf '%sPARLEY_KAFKA_LIBS=%s\n' "$p" "$KAFKA_LIBS"
  printf '%sPARLEY_INFRA=local\n' "$p"
}
