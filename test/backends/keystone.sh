#!/usr/bin/env bash
# Starts (or stops) a real OpenStack Keystone (identity v3) for the swift driver's auth tests,
# and a second Swift proxy that trusts it (authtoken + keystoneauth) in front of the storage
# servers, rings and memcached of test/backends/swift.sh. State (sqlite database, fernet and
# credential keys, configs, logs) lives under .state/keystone-<swift port>/.
#
#   keystone.sh start   prints `export` lines for the tests (BERTH_TEST_KEYSTONE_AUTHURL, …)
#   keystone.sh stop    stops only what this script started (its pidfiles)
#   keystone.sh env     prints the same export lines without starting anything
#
# BERTH_SWIFT_PORT selects the Swift instance to stand in front of (default 8180). Ports sit at
# fixed offsets from it that swift.sh does not use (it takes -1870…-1868, 0 and +3431):
#   -1865  the Keystone-backed Swift proxy          (6315 by default)
#   -1864  Keystone                                  (6316)
#   -1863  the same Keystone, short-lived tokens     (6317)
# The second Keystone process shares the database and keys of the first and differs only in
# `[token] expiration` (BERTH_KEYSTONE_SHORT_TOKEN_LIFE, default 8 s): its fernet tokens
# carry that expiry, so Swift refuses them once it passes, whichever process validates them.
#
# Start is idempotent: a Keystone that hands out tokens the proxy honours is reused.
set -euo pipefail

action=${1:?usage: keystone.sh start|stop|env}
here="$(cd "$(dirname "$0")" && pwd)"
swift_port=${BERTH_SWIFT_PORT:-8180}
proxy_port=$((swift_port - 1865))
keystone_port=$((swift_port - 1864))
short_port=$((swift_port - 1863))
memcached_port=$((swift_port + 3431)) # swift.sh's memcached: Swift's cache and authtoken's
short_token_life=${BERTH_KEYSTONE_SHORT_TOKEN_LIFE:-8}
state_dir="$(cd "$here/../.." && pwd)/.state/keystone-$swift_port"
swift_etc="$(cd "$here/../.." && pwd)/.state/swift-$swift_port/etc"
# swift.sh reuses a Swift that another checkout started on the port: the rings and swift.conf
# this proxy must share are then that checkout's, named in its servers' command lines.
if [ ! -f "$swift_etc/swift.conf" ]; then
  running_etc=$(ps -eo args | grep -o "[^ ]*/\.state/swift-$swift_port/etc" | head -n 1 || true)
  if [ -n "$running_etc" ] && [ -f "$running_etc/swift.conf" ]; then swift_etc=$running_etc; fi
fi
run="$state_dir/run"
# Keystone and Swift run on the system Python; a python3 earlier on PATH (pyenv) has neither.
python=/usr/bin/python3

auth_url="http://127.0.0.1:$keystone_port/v3"
short_auth_url="http://127.0.0.1:$short_port/v3"
admin_password=berth-admin
# The service user authtoken validates tokens as.
swift_service_password=berth-swift

print_env() {
  echo "export BERTH_TEST_KEYSTONE_AUTHURL=$auth_url"
  echo "export BERTH_TEST_KEYSTONE_SHORT_AUTHURL=$short_auth_url"
  echo "export BERTH_TEST_KEYSTONE_SHORT_TOKEN_LIFE=$short_token_life"
  echo "export BERTH_TEST_KEYSTONE_USERNAME=admin"
  echo "export BERTH_TEST_KEYSTONE_PASSWORD=$admin_password"
}

# 0 when Keystone hands the admin a project token whose catalog's object-store endpoint
# takes a write with it through the Keystone-backed proxy.
auth_works() {
  "$python" - "$1" "$admin_password" <<'PYTHON' >/dev/null 2>&1
import json, sys, urllib.request

url, password = sys.argv[1], sys.argv[2]
body = {'auth': {'identity': {'methods': ['password'], 'password': {'user': {'name': 'admin', 'password': password, 'domain': {'id': 'default'}}}},
                 'scope': {'project': {'name': 'admin', 'domain': {'id': 'default'}}}}}
request = urllib.request.Request(url + '/auth/tokens', json.dumps(body).encode(), {'content-type': 'application/json'})
with urllib.request.urlopen(request, timeout=5) as answer:
    token = answer.headers['x-subject-token']
    catalog = json.load(answer)['token']['catalog']
storage = next(e['url'] for s in catalog if s['type'] == 'object-store' for e in s['endpoints'] if e['interface'] == 'public')
probe = urllib.request.Request(storage + '/berth-probe', b'', {'x-auth-token': token}, method='PUT')
urllib.request.urlopen(probe, timeout=5).close()
PYTHON
}

write_keystone_config() { # FILE TOKEN_LIFE
  cat >"$1" <<EOF
[DEFAULT]
log_dir = $run
log_file = keystone.log

[database]
connection = sqlite:///$state_dir/keystone.db

[fernet_tokens]
key_repository = $state_dir/fernet-keys

# Keystone refuses to start without receipt keys (multi-factor logins, unused here): the
# token keys serve.
[fernet_receipts]
key_repository = $state_dir/fernet-keys

[credential]
key_repository = $state_dir/credential-keys

[token]
expiration = $2

[identity]
# bcrypt's fewest rounds: the default (12) costs a core about a second per password checked,
# and every token asked for checks one.
password_hash_rounds = 4
EOF
}

# The database and keys, once per state directory; then the two Keystone processes, which
# load while `bootstrap` adds the admin user and the identity endpoints.
set_up_and_start_keystone() {
  if [ -f "$state_dir/bootstrapped" ]; then
    start_keystone keystone "$keystone_port"
    start_keystone keystone-short "$short_port"
    return
  fi
  rm -rf "$state_dir/keystone.db" "$state_dir/fernet-keys" "$state_dir/credential-keys"
  local manage=(keystone-manage --config-file "$state_dir/keystone.conf")
  # keystone-manage prints eventlet tracebacks at exit (harmless): its output goes to a log.
  # The key folders do not touch the database, so they are written while the schema is.
  "${manage[@]}" fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)" >>"$run/manage.log" 2>&1 &
  local fernet=$!
  "${manage[@]}" credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)" >>"$run/manage.log" 2>&1 &
  local credential=$!
  "${manage[@]}" db_sync >>"$run/manage.log" 2>&1
  wait "$fernet" "$credential"
  # A read transaction left open inside Keystone otherwise blocks every write ("database is locked").
  "$python" -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA journal_mode=WAL")' "$state_dir/keystone.db"
  start_keystone keystone "$keystone_port"
  start_keystone keystone-short "$short_port"
  "${manage[@]}" bootstrap --bootstrap-password "$admin_password" --bootstrap-region-id RegionOne \
    --bootstrap-public-url "$auth_url/" --bootstrap-internal-url "$auth_url/" --bootstrap-admin-url "$auth_url/" \
    >>"$run/manage.log" 2>&1
  touch "$state_dir/bootstrapped"
}

# What Swift needs in Keystone, created through its API where missing: a service project and
# user for authtoken, and the object-store endpoints (every interface) of the proxy.
provision() {
  "$python" - "$auth_url" "$admin_password" "$swift_service_password" "http://127.0.0.1:$proxy_port/v1/AUTH_%(project_id)s" <<'PYTHON'
import json, sys, urllib.parse, urllib.request

url, admin_password, swift_password, storage_url = sys.argv[1:]

def call(method, path, body=None, token=None):
    headers = {'content-type': 'application/json'}
    if token:
        headers['x-auth-token'] = token
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(urllib.request.Request(url + path, data, headers, method=method), timeout=10) as answer:
        return answer.headers, (json.load(answer) if answer.status != 204 else None)

headers, _ = call('POST', '/auth/tokens', {'auth': {
    'identity': {'methods': ['password'], 'password': {'user': {'name': 'admin', 'password': admin_password, 'domain': {'id': 'default'}}}},
    'scope': {'project': {'name': 'admin', 'domain': {'id': 'default'}}}}})
token = headers['x-subject-token']

def find_or_create(collection, query, body):
    _, found = call('GET', f'/{collection}?' + urllib.parse.urlencode(query), token=token)
    if found[collection]:
        return found[collection][0]['id']
    _, created = call('POST', f'/{collection}', body, token)
    return next(iter(created.values()))['id']

project = find_or_create('projects', {'name': 'service', 'domain_id': 'default'}, {'project': {'name': 'service', 'domain_id': 'default'}})
user = find_or_create('users', {'name': 'swift', 'domain_id': 'default'},
                      {'user': {'name': 'swift', 'password': swift_password, 'domain_id': 'default'}})
_, roles = call('GET', '/roles?name=admin', token=token)
call('PUT', f"/projects/{project}/users/{user}/roles/{roles['roles'][0]['id']}", token=token)
service = find_or_create('services', {'type': 'object-store'}, {'service': {'type': 'object-store', 'name': 'swift'}})
for interface in ('public', 'internal', 'admin'):
    find_or_create('endpoints', {'service_id': service, 'interface': interface},
                   {'endpoint': {'service_id': service, 'interface': interface, 'region_id': 'RegionOne', 'url': storage_url}})
PYTHON
}

write_proxy_config() {
  cat >"$state_dir/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $proxy_port
swift_dir = $swift_etc
user = $(id -un)
log_level = WARNING
workers = 2

# swift.sh's pipeline with authtoken and keystoneauth in place of s3api and tempauth: a
# pipeline with both would send every tempauth token to Keystone for validation as well.
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl authtoken keystoneauth staticweb copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = $auth_url
auth_url = $auth_url
auth_type = password
username = swift
password = $swift_service_password
project_name = service
user_domain_id = default
project_domain_id = default
memcached_servers = 127.0.0.1:$memcached_port
# keystoneauth decides on anonymous requests (TempURL, public containers).
delay_auth_decision = true
[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member

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
[filter:staticweb]
use = egg:swift#staticweb
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
rate_limit_segments_per_sec = 0
[filter:dlo]
use = egg:swift#dlo
rate_limit_segments_per_sec = 0
EOF
}

start_keystone() { # NAME PORT
  local pidfile="$run/$1.pid"
  if [ -f "$pidfile" ] && running "$(cat "$pidfile")"; then return; fi
  # No job control here, so setsid detaches the server without forking: $! is its pid.
  OS_KEYSTONE_CONFIG_FILES="$state_dir/$1.conf" setsid keystone-wsgi-public --host 127.0.0.1 --port "$2" \
    >>"$run/$1.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

# The stock proxy WSGI server, with swift_dir set first so the hash salt comes from the
# Swift instance's swift.conf (as swift.sh's launcher does).
start_proxy() {
  local pidfile="$run/proxy-server.pid"
  if [ -f "$pidfile" ] && running "$(cat "$pidfile")"; then return; fi
  "$python" - "$swift_etc" "$state_dir/proxy-server.conf" >>"$run/proxy-server.log" 2>&1 </dev/null <<'PYTHON' &
import os
import sys

from swift.common.utils import set_swift_dir

set_swift_dir(sys.argv[1])
from swift.common import wsgi

os.setsid()
sys.exit(wsgi.run_wsgi(sys.argv[2], 'proxy-server') or 0)
PYTHON
  echo $! >"$pidfile"
}

# 0 while `pid` runs; a zombie waiting for its reaper counts as gone.
running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$state" != Z ]
}

wait_for() { # WHAT SECONDS COMMAND…
  local what=$1 seconds=$2
  local deadline=$((SECONDS + seconds))
  shift 2
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "keystone.sh: $what did not answer within $seconds s; logs in $run:" >&2
      tail -n 20 "$run"/*.log >&2 || true
      exit 1
    fi
    sleep 0.1
  done
}

answers() { curl -fsS -m 2 -o /dev/null "$1" 2>/dev/null; }

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
    if auth_works "$auth_url" && auth_works "$short_auth_url"; then
      print_env
      exit 0
    fi
    if answers "$auth_url" && ! { [ -f "$run/keystone.pid" ] && running "$(cat "$run/keystone.pid")"; }; then
      echo "keystone.sh: a Keystone this script did not start (its state directory gone?) answers on $keystone_port; stop it first:" >&2
      pgrep -af "keystone-wsgi-public.*--port $keystone_port" >&2 || true
      exit 1
    fi
    started=$(date +%s%N)
    # The proxy serves the rings and storage servers of this Swift instance.
    BERTH_SWIFT_PORT=$swift_port bash "$here/swift.sh" start >/dev/null
    mkdir -p "$run"
    write_keystone_config "$state_dir/keystone.conf" 3600
    write_keystone_config "$state_dir/keystone-short.conf" "$short_token_life"
    # The proxy asks Keystone nothing before the first request: it loads meanwhile.
    write_proxy_config
    start_proxy
    set_up_and_start_keystone
    wait_for Keystone 60 answers "$auth_url"
    provision >>"$run/provision.log" 2>&1 || { echo "keystone.sh: provisioning failed:" >&2; tail -n 20 "$run/provision.log" >&2; exit 1; }
    wait_for "the Keystone-backed Swift proxy on $proxy_port" 60 auth_works "$auth_url"
    wait_for "the short-lived Keystone on $short_port" 60 auth_works "$short_auth_url"
    echo "keystone.sh: Keystone ready on $auth_url in $(( ($(date +%s%N) - started) / 1000000 )) ms" >&2
    print_env
    ;;
  stop)
    if [ -d "$run" ]; then stop_all; fi
    ;;
  env)
    print_env
    ;;
  *)
    echo "usage: keystone.sh start|stop|env" >&2
    exit 2
    ;;
esac
