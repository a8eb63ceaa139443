# Sourced by scripts/test and scripts/bench: moto's server on a free 127.0.0.1 port, and the
# environment that points the SDK at it (and never at real AWS).
# start_moto sets moto_pid and exports MOTO_ENDPOINT; stop_moto ends it.

moto_pid=""
moto_log=""

start_moto() {
  local port
  port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  moto_log=$(mktemp)
  .venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
  moto_pid=$!
  for _ in $(seq 1 100); do
    if .venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then
      break
    fi
    if ! kill -0 "$moto_pid" 2>/dev/null; then
      cat "$moto_log"; echo "moto_server did not start" >&2; exit 1
    fi
    sleep 0.2
  done
  echo "moto_server pid $moto_pid on 127.0.0.1:$port"
  export MOTO_ENDPOINT="http://127.0.0.1:$port" AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  # Static test credentials: the emulator accepts any, and nothing may reach real AWS.
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
}

stop_moto() {
  if [ -n "$moto_pid" ]; then
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
  fi
  if [ -n "$moto_log" ]; then rm -f "$moto_log"; fi
}
