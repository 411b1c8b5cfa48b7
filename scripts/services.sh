# Starts the real services the tests use, on free loopback ports, unless the caller
# already did (FACEID_TEST_MOTO_ENDPOINT / FACEID_TEST_MONGO_URI set). Source it.
#   moto_server  (S3 + DynamoDB)         PyPI: moto[server]
#   nx-27017     (MongoDB wire protocol) PyPI: nx-27017

source "$(dirname "${BASH_SOURCE[0]}")/free-port.sh"

wait_for_port() { # port, name
  for _ in $(seq 1 100); do
    if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$1)))" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "$2 did not start on port $1" >&2; return 1
}

FACEID_SERVICE_PIDS=""
start_services() {
  local logdir="${FACEID_SERVICE_LOGS:-${TMPDIR:-/tmp}/faceid-services}"
  mkdir -p "$logdir"
  if [ -z "${FACEID_TEST_MOTO_ENDPOINT:-}" ]; then
    command -v moto_server >/dev/null || { echo "moto_server not found: pip install 'moto[server]'" >&2; return 1; }
    local p; p=$(free_port)
    moto_server -H 127.0.0.1 -p "$p" >"$logdir/moto.log" 2>&1 &
    FACEID_SERVICE_PIDS="$FACEID_SERVICE_PIDS $!"
    wait_for_port "$p" moto_server
    export FACEID_TEST_MOTO_ENDPOINT="http://127.0.0.1:$p"
  fi
  if [ -z "${FACEID_TEST_MONGO_URI:-}" ]; then
    command -v nx-27017 >/dev/null || { echo "nx-27017 not found: pip install nx-27017" >&2; return 1; }
    local p; p=$(free_port)
    # A pid file per port: nx-27017 refuses to start while another instance's default
    # /tmp/nx_27017.pid names a live process (a developer's own, another test run).
    nx-27017 --db memory --host 127.0.0.1 -p "$p" --pid-file "$logdir/nx-27017-$p.pid" \
      --log-file "$logdir/nx-27017-$p.server.log" >"$logdir/nx-27017.log" 2>&1 &
    FACEID_SERVICE_PIDS="$FACEID_SERVICE_PIDS $!"
    wait_for_port "$p" nx-27017
    export FACEID_TEST_MONGO_URI="mongodb://127.0.0.1:$p"
  fi
  echo "services: moto at $FACEID_TEST_MOTO_ENDPOINT, MongoDB wire server at $FACEID_TEST_MONGO_URI"
}

stop_services() {
  for pid in $FACEID_SERVICE_PIDS; do kill "$pid" 2>/dev/null || true; done
  FACEID_SERVICE_PIDS=""
}
