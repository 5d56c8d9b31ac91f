#!/usr/bin/env bash
# Starts (or stops) a throwaway redis-server for the tests: `redis.sh start [PORT]` prints
# redis://127.0.0.1:PORT. When something already answers on PORT it is reused, so calling
# start twice, or with a developer's own redis running, is harmless.
set -euo pipefail

action=${1:?usage: redis.sh start|stop [PORT]}
port=${2:-${BERTH_REDIS_PORT:-6379}}
state_dir="$(cd "$(dirname "$0")/../.." && pwd)/.state/redis-$port"

case "$action" in
  start)
    if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
      mkdir -p "$state_dir"
      # No persistence: test data must not outlive the run, nor slow it down with fsyncs.
      redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$state_dir" --pidfile "$state_dir/redis.pid" --daemonize yes \
        --logfile "$state_dir/redis.log" >/dev/null
      for _ in $(seq 50); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && break
        sleep 0.1
      done
      redis-cli -p "$port" ping >/dev/null || { echo "redis.sh: redis-server did not answer on $port" >&2; exit 1; }
    fi
    echo "redis://127.0.0.1:$port"
    ;;
  stop)
    # Only the server this script started (its pidfile), never someone else's redis on the port.
    if [ -f "$state_dir/redis.pid" ]; then
      kill "$(cat "$state_dir/redis.pid")" 2>/dev/null || true
      rm -f "$state_dir/redis.pid"
    fi
    ;;
  *)
    echo "usage: redis.sh start|stop [PORT]" >&2
    exit 2
    ;;
esac
