# shellcheck shell=bash
# An S3-compatible endpoint for the backup storage tests: moto's server (PyPI, pinned by
# hash in s3-requirements.txt) from a venv in the cache dir, in memory, on loopback.
# It reuses local-stt's venv helper (stt_python, and its venv fallbacks).

S3_REQUIREMENTS="$INFRA_D/s3-requirements.txt"
S3_HOME="$CACHE_DIR/s3"
S3_VENV="$S3_HOME/venv"
S3_VENV_STAMP="$S3_VENV/.requirements.sha256"
S3_PID="$RUN_DIR/s3.pid"
S3_LOG="$LOG_DIR/s3.log"

s3_install() {
  local py want
  want=$(sha256sum "$S3_REQUIREMENTS" | cut -d' ' -f1)
  [[ -f $S3_VENV_STAMP && $(<"$S3_VENV_STAMP") == "$want" ]] && return
  py=$(stt_python) || die "the S3 test server needs CPython 3.11 (python3 or python3.11 on PATH)"
  log "installing moto's S3 server into $S3_VENV ($py, pip --require-hashes)"
  rm -rf "$S3_VENV"
  mkdir -p "$S3_HOME"
  STT_VENV="$S3_VENV" stt_make_venv "$py"
  if ! "$S3_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    --require-hashes --only-binary :all: -r "$S3_REQUIREMENTS" >"$S3_HOME/pip.log" 2>&1; then
    cat "$S3_HOME/pip.log" >&2
    die "pip could not install $S3_REQUIREMENTS (output above)"
  fi
  rm -f "$S3_HOME/pip.log"
  echo "$want" >"$S3_VENV_STAMP"
}

s3_ours() { pid_alive "$S3_PID" moto_server; }

s3_healthy() {
  local reply
  reply=$(http_get "$S3_PORT" /moto-api/) || return 1
  [[ $reply == "HTTP/1."[01]" 200 "* ]]
}

s3_start() {
  s3_ours && return
  port_open "$S3_PORT" && die "port $S3_PORT is in use by another process; set PARLEY_S3_PORT"
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  setsid nohup "$S3_VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" >>"$S3_LOG" 2>&1 </dev/null &
  echo $! >"$S3_PID"
  S3_STARTED=1
}

s3_wait() {
  local deadline=$((SECONDS + 60))
  until s3_healthy; do
    s3_ours || fail_with_log "s3 (process exited)" "$S3_LOG"
    ((SECONDS < deadline)) || fail_with_log "s3 (no answer in 60s)" "$S3_LOG"
    sleep 0.2
  done
  if [[ -n ${S3_STARTED:-} ]]; then log "s3 started on :$S3_PORT"; else log "s3 already running on :$S3_PORT"; fi
}

s3_down() {
  s3_ours || { rm -f "$S3_PID"; return 0; }
  stop_pid "$(<"$S3_PID")" s3 10
  rm -f "$S3_PID"
  log "s3 stopped"
}

s3_running() { s3_ours && s3_healthy; }
s3_status_line() { status_line s3 "$S3_PORT" s3_running; }
