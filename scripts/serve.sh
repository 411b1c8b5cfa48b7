# Sourced by scripts/load.sh and scripts/soak.sh: runs `faceid serve` on a free loopback
# port. Needs $faceid (the binary) and $out (a directory for server.log); start_server sets
# $port, $url and $server_pid. The caller exports the server's FACEID_* settings and calls
# stop_server from its EXIT trap.

server_pid=""

source "$(dirname "${BASH_SOURCE[0]}")/free-port.sh"

# Starts `faceid serve` (its data dir, and so the gallery, persists across restarts) and
# waits up to 60 s for /healthz; exits with the server log if it dies first.
start_server() {
  port="$(free_port)"
  url="http://127.0.0.1:$port"
  "$faceid" serve --addr "127.0.0.1:$port" >>"$out/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 600); do
    curl -fsS "$url/healthz" >/dev/null 2>&1 && return
    kill -0 "$server_pid" 2>/dev/null || { cat "$out/server.log" >&2; exit 1; }
    sleep 0.1
  done
  curl -fsS "$url/healthz" >/dev/null
}

# SIGINT (graceful shutdown: the audit spool is flushed), then waits for the exit.
stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -INT "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
