#!/usr/bin/env bash
# Starts (or stops) an OpenStack Swift all-in-one on 127.0.0.1 for the swift driver's tests:
# proxy (tempauth, slo, dlo, tempurl, bulk, s3api), account, container and object servers
# and a memcached of its own, with rings, configs and data under .state/swift/.
#
#   swift.sh start   prints `export` lines for the tests (BERTH_TEST_SWIFT_AUTHURL, …)
#   swift.sh stop    stops only what this script started (its pidfiles)
#   swift.sh env     prints the same export lines without starting anything
#   swift.sh stop-proxy  stops only the proxy (fault tests); `start` brings it back
#
# BERTH_SWIFT_PORT picks another proxy port (and state directory) for a private instance;
# BERTH_SWIFT_TOKEN_LIFE sets tempauth's token lifetime in seconds (default one day).
#
# A proxy already answering on the port with a working auth is reused, so start is
# idempotent. The reason for each choice is in the comment beside it.
set -euo pipefail

action=${1:?usage: swift.sh start|stop|stop-proxy|env}
proxy_port=${BERTH_SWIFT_PORT:-8180}
# The storage servers sit at fixed offsets from the proxy so two instances on other
# proxy ports never collide.
object_port=$((proxy_port - 1870))    # 6310 by default
container_port=$((proxy_port - 1869)) # 6311
account_port=$((proxy_port - 1868))   # 6312
memcached_port=$((proxy_port + 3431)) # 11611
token_life=${BERTH_SWIFT_TOKEN_LIFE:-86400}
state_dir="$(cd "$(dirname "$0")/../.." && pwd)/.state/swift-$proxy_port"
etc="$state_dir/etc"
run="$state_dir/run"
devices="$state_dir/srv"
# Debian's Swift runs on the system Python; a python3 earlier on PATH (pyenv) has no swift module.
python=/usr/bin/python3

auth_url="http://127.0.0.1:$proxy_port/auth/v1.0"
user='admin:admin'
key='admin'

print_env() {
  echo "export BERTH_TEST_SWIFT_AUTHURL=$auth_url"
  echo "export BERTH_TEST_SWIFT_USERNAME=$user"
  echo "export BERTH_TEST_SWIFT_PASSWORD=$key"
}

# 0 when the proxy hands out a token and the account takes a write with it (a Swift left
# running after its state directory was removed still authenticates, but stores nothing).
auth_works() {
  local headers token storage
  headers=$(curl -fsS -m 3 -D - -o /dev/null -H "X-Auth-User: $user" -H "X-Auth-Key: $key" "$auth_url" 2>/dev/null) || return 1
  token=$(printf '%s' "$headers" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-auth-token"{print $2}')
  storage=$(printf '%s' "$headers" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-storage-url"{print $2}')
  [ -n "$token" ] && [ -n "$storage" ] || return 1
  curl -fsS -m 3 -o /dev/null -X PUT -H "X-Auth-Token: $token" "$storage/berth-probe" 2>/dev/null
}

write_configs() {
  mkdir -p "$etc" "$run" "$devices/d1"
  # Swift reads its hash salt from swift.conf in its swift_dir; the launcher below points
  # that at $etc, so /etc/swift is never touched. The salt is fixed per state directory:
  # rings and data stay valid across restarts.
  if [ ! -f "$etc/swift.conf" ]; then
    cat >"$etc/swift.conf" <<EOF
[swift-hash]
swift_hash_path_suffix = berth-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
swift_hash_path_prefix = berth

[storage-policy:0]
name = Policy-0
default = yes
EOF
  fi

  # Runs as root here; the servers would otherwise drop to user swift and answer every
  # PUT with 503, unable to write this root-owned directory.
  local run_as
  run_as=$(id -un)
  local common="bind_ip = 127.0.0.1
swift_dir = $etc
devices = $devices
mount_check = false
disable_fallocate = true
user = $run_as
log_level = WARNING
workers = 1"

  cat >"$etc/object-server.conf" <<EOF
[DEFAULT]
$common
bind_port = $object_port

[pipeline:main]
pipeline = object-server

[app:object-server]
use = egg:swift#object
EOF
  cat >"$etc/container-server.conf" <<EOF
[DEFAULT]
$common
bind_port = $container_port

[pipeline:main]
pipeline = container-server

[app:container-server]
use = egg:swift#container
EOF
  cat >"$etc/account-server.conf" <<EOF
[DEFAULT]
$common
bind_port = $account_port

[pipeline:main]
pipeline = account-server

[app:account-server]
use = egg:swift#account
EOF
  cat >"$etc/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $proxy_port
swift_dir = $etc
user = $run_as
log_level = WARNING
# Two workers: one Python process tops out below the rate the driver suite streams at.
workers = 2

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl s3api tempauth staticweb copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$memcached_port
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:tempurl]
use = egg:swift#tempurl
[filter:s3api]
use = egg:swift#s3api
[filter:tempauth]
use = egg:swift#tempauth
user_admin_admin = admin .admin .reseller_admin
user_test_tester = testing .admin
token_life = $token_life
[filter:staticweb]
use = egg:swift#staticweb
[filter:copy]
use = egg:swift#copy
# Swift slows large-object GETs to one segment a second after the tenth by default: a
# 256 MiB read of 5 MiB segments would take most of a minute. Operators tune this too.
[filter:slo]
use = egg:swift#slo
rate_limit_segments_per_sec = 0
[filter:dlo]
use = egg:swift#dlo
rate_limit_segments_per_sec = 0
EOF

  # One device per ring, 2^8 partitions, one replica: an all-in-one needs no more.
  local ring port
  for ring in account container object; do
    [ -f "$etc/$ring.ring.gz" ] && continue
    case $ring in
      account) port=$account_port ;;
      container) port=$container_port ;;
      object) port=$object_port ;;
    esac
    (
      cd "$etc"
      swift-ring-builder "$ring.builder" create 8 1 1 >/dev/null
      swift-ring-builder "$ring.builder" add "r1z1-127.0.0.1:$port/d1" 1 >/dev/null
      swift-ring-builder "$ring.builder" rebalance >/dev/null
    )
  done
}

# Starts the four stock Swift WSGI servers from one Python process that has already loaded
# their apps, forking one child per server: four separate interpreters each spend seconds
# importing the same modules, which on two busy cores took 13 s before the first bind.
# swift_dir is set before anything reads it, so the hash salt comes from $etc/swift.conf
# rather than /etc/swift/swift.conf. Each child's pid lands in $run/<server>.pid.
start_servers() {
  local missing=() name
  for name in account-server container-server object-server proxy-server; do
    if [ -f "$run/$name.pid" ] && running "$(cat "$run/$name.pid")"; then continue; fi
    missing+=("$name")
  done
  [ ${#missing[@]} -eq 0 ] && return
  "$python" - "$etc" "$run" "${missing[@]}" >"$run/launcher.log" 2>&1 <<'PYTHON'
import os
import sys

etc, run, names = sys.argv[1], sys.argv[2], sys.argv[3:]
from swift.common.utils import set_swift_dir

set_swift_dir(etc)
from swift.common import wsgi
from swift.obj import server as object_server

def conf(name):
    return os.path.join(etc, name + '.conf')

# Imports every module the pipelines use, and fails here, loudly, on a bad config.
for name in names:
    wsgi.loadapp(conf(name))

for name in names:
    pid = os.fork()
    if pid == 0:
        os.setsid()
        log = os.open(os.path.join(run, name + '.log'), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        extra = {'global_conf_callback': object_server.global_conf_callback} if name == 'object-server' else {}
        os._exit(wsgi.run_wsgi(conf(name), name, **extra) or 0)
    with open(os.path.join(run, name + '.pid'), 'w') as pidfile:
        pidfile.write(str(pid))
PYTHON
}

start_memcached() {
  local pidfile="$run/memcached.pid"
  if [ -f "$pidfile" ] && running "$(cat "$pidfile")"; then return; fi
  # -u: memcached refuses to run as root without naming a user.
  memcached -d -l 127.0.0.1 -p "$memcached_port" -U 0 -m 64 -u "$(id -un)" -P "$pidfile"
}

# 0 while `pid` runs; a zombie waiting for its reaper counts as gone.
running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$state" != Z ]
}

# SIGTERM to the proxy alone: its workers go with it (Swift's master kills its process group).
stop_proxy() {
  local pidfile="$run/proxy-server.pid" pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  rm -f "$pidfile"
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do
    running "$pid" || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

# SIGTERM to every process this script started (by the pids in its pidfiles), then waits
# for all of them at once; SIGKILL for any still there after 5 s.
stop_all() {
  local pids=() pidfile pid
  for pidfile in "$run"/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    rm -f "$pidfile"
    kill "$pid" 2>/dev/null && pids+=("$pid")
  done
  for _ in $(seq 50); do
    local alive=()
    for pid in "${pids[@]}"; do running "$pid" && alive+=("$pid"); done
    [ ${#alive[@]} -eq 0 ] && return
    pids=("${alive[@]}")
    sleep 0.1
  done
  kill -9 "${pids[@]}" 2>/dev/null || true
}

case "$action" in
  start)
    if auth_works; then
      print_env
      exit 0
    fi
    if curl -fsS -m 2 "http://127.0.0.1:$proxy_port/healthcheck" >/dev/null 2>&1; then
      echo "swift.sh: a Swift answers on port $proxy_port but cannot store (its state directory gone?); stop it first:" >&2
      pgrep -af "swift-$proxy_port/etc" >&2 || true
      exit 1
    fi
    started=$(date +%s%N)
    write_configs
    start_memcached
    start_servers
    healthy=''
    for _ in $(seq 200); do
      if curl -fsS -m 2 "http://127.0.0.1:$proxy_port/healthcheck" >/dev/null 2>&1 && auth_works; then
        healthy=yes
        break
      fi
      sleep 0.1
    done
    if [ -z "$healthy" ]; then
      echo "swift.sh: Swift did not answer on $auth_url within 20 s; logs in $run:" >&2
      tail -n 20 "$run"/*.log >&2 || true
      exit 1
    fi
    echo "swift.sh: Swift ready on $auth_url in $(( ($(date +%s%N) - started) / 1000000 )) ms" >&2
    print_env
    ;;
  stop)
    stop_all
    ;;
  stop-proxy)
    stop_proxy
    ;;
  env)
    print_env
    ;;
  *)
    echo "usage: swift.sh start|stop|stop-proxy|env" >&2
    exit 2
    ;;
esac
