#!/usr/bin/env bash
# The main job on a built-in default: build cove and run an "agent" in a
# fresh sandbox under the default agent policy. The agent tries to read
# ~/.ssh and the project's .env, write outside its workspace, reach the
# network, fork-bomb and eat memory; each attempt is shown with what
# stopped it, followed by the audit log lines of the run. Done as root and
# again as an unprivileged user.
# Last, an agent calls a local credentialed HTTPS API (policy/examples/
# credentials.json) without ever seeing the key: the proxy presents it.
#   scripts/demo.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022
build=${1:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
cove=$(realpath "$build/cove")
user=${COVE_DEMO_USER:-covetest}
id "$user" >/dev/null 2>&1 || useradd --create-home "$user"

work=$(mktemp -d /tmp/cove-demo.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

# What the "agent" does. Every line says what it tried and what happened.
cat >"$work/agent.sh" <<'AGENT'
#!/bin/sh
try() { # LABEL CMD...: run CMD, report blocked (non-zero) or NOT blocked
  label=$1; shift
  if out=$("$@" 2>&1); then
    printf '  %-44s NOT BLOCKED: %s\n' "$label" "$(echo "$out" | head -c 60 | tr '\n' ' ')"
  else
    printf '  %-44s blocked: %s\n' "$label" "$(echo "$out" | tail -n1 | cut -c1-70)"
  fi
}
echo "agent: I am $(id -un) (uid $(id -u)) in $(pwd), pid $$"
try "read ~/.ssh/id_rsa (sandbox home)"       cat "$HOME/.ssh/id_rsa"
try "read $CALLER_HOME/.ssh/id_rsa (host home)" cat "$CALLER_HOME/.ssh/id_rsa"
try "read /workspace/.env"                      sh -c 'c=$(cat /workspace/.env) && [ -n "$c" ] && echo "$c"'
try "read /workspace/deploy/.ssh/id_ed25519"    cat /workspace/deploy/.ssh/id_ed25519
try "read /etc/shadow"                          sh -c 'c=$(cat /etc/shadow) && [ -n "$c" ] && echo "$c"'
try "write /workspace/evil (read-only)"         sh -c 'echo x > /workspace/evil'
try "write /etc/cron.d/evil (host OS dir)"      sh -c 'echo x > /etc/cron.d/evil'
try "write $CALLER_HOME/.bashrc (host home)"    sh -c "echo x >> $CALLER_HOME/.bashrc"
try "network: connect to 1.1.1.1:443"           python3 -c 'import socket; socket.create_connection(("1.1.1.1", 443), timeout=3)'
try "network: resolve example.com"              python3 -c 'import socket; socket.getaddrinfo("example.com", 443)'
try "create a user namespace (unshare -U)"      unshare -U true
# A bounded fork bomb: 400 sleepers. With the default pids limit (256) the
# kernel refuses the rest; without enforced limits they all start.
# (in a child shell: dash exits when fork fails, and the agent must go on)
sh -c 'i=0; while [ $i -lt 400 ]; do sleep 30 & i=$((i+1)); done' >/dev/null 2>&1
set -- /proc/[0-9]*; live=$#  # a glob, not a pipeline: no fork needed at the limit
if [ "$live" -lt 300 ]; then
  printf '  %-44s blocked: only %s processes could exist (pids limit)\n' "fork bomb (400 processes)" "$live"
else
  printf '  %-44s NOT BLOCKED: %s processes running\n' "fork bomb (400 processes)" "$live"
fi
kill -KILL -1 2>/dev/null; wait 2>/dev/null # everything but me (PID 1)
python3 -c 'b = bytearray(768 << 20); print("allocated", len(b) >> 20, "MiB")' >/tmp/mem.out 2>&1
rc=$?
if [ $rc -ne 0 ]; then
  printf '  %-44s blocked: exit %s (memory limit, OOM killed)\n' "eat 768 MiB of memory" "$rc"
else
  printf '  %-44s NOT BLOCKED: %s\n' "eat 768 MiB of memory" "$(cat /tmp/mem.out)"
fi
AGENT
chmod 755 "$work/agent.sh"

# A project workspace with secrets a careless checkout might contain.
mkproject() { # DIR OWNER HOME
  mkdir -p "$1/deploy/.ssh" "$1/src"
  # the agent knows where its caller's home is (the environment is not
  # passed into the sandbox, so it is written into the script)
  sed "s|\$CALLER_HOME|$3|g" "$work/agent.sh" >"$1/agent.sh"
  chmod 755 "$1/agent.sh"
  echo 'API_TOKEN=sk-live-demo-1234' >"$1/.env"
  echo 'PRIVATE KEY (demo)' >"$1/deploy/.ssh/id_ed25519"
  echo 'print("hello")' >"$1/src/main.py"
  chown -R "$2" "$1"
}

show_run() { # OWNER HOMEDIR LABEL [policy]
  local who=$1 home=$2 label=$3 policy=${4:-}
  local ws="$work/$who/project" out="$work/$who/result.json"
  mkdir -p "$work/$who"
  chown "$who" "$work/$who"
  mkproject "$ws" "$who" "$home"
  local args=(agent run --group demo --workspace "$ws" --json)
  [ -n "$policy" ] && args+=(--policy "$policy")
  echo "== $label: cove ${args[*]} -- /workspace/agent.sh"
  set +e
  setpriv --reuid="$who" --regid="$who" --init-groups \
    env -i PATH=/usr/bin:/bin HOME="$home" \
    "$cove" "${args[@]}" -- /workspace/agent.sh >"$out" 2>"$work/$who/err"
  local rc=$?
  set -e
  grep -v '^{' "$out" || true
  cat "$work/$who/err"
  local rec id log
  rec=$(grep '^{' "$out" | tail -n1)
  id=$(jq -r .id <<<"$rec")
  log=$(jq -r .audit_log <<<"$rec")
  echo "-- result record (exit status $rc):"
  jq -c '{id, status, exit_code, duration_ms, timed_out, oom_killed, limits_enforced, denials}' <<<"$rec"
  echo "-- audit log of this run ($log):"
  grep -F "\"run\":\"$id\"" "$log" 2>/dev/null | jq -c 'del(.time, .run, .group)' | sed 's/^/   /'
  LAST_RC=$rc
}

root_home=$(getent passwd root | cut -d: -f6)
user_home=$(getent passwd "$user" | cut -d: -f6)
[ -d "$user_home" ] || user_home=/tmp

echo "cove $("$cove" --version | head -1 | cut -d' ' -f3): the agent sandbox demo"
echo
echo '{"allow_unlimited": true}' >"$work/unlimited.json"
chmod 644 "$work/unlimited.json"
# WHO HOME NAME: the default policy; when the host cannot enforce its
# limits for WHO, the refusal (fail closed) is shown, then a run with a
# policy that explicitly allows running unlimited shows the rest.
demo_as() {
  show_run "$1" "$2" "as $3, default policy"
  if [ "$LAST_RC" -ne 0 ] && grep -q "limits cannot be enforced" "$work/$1/err"; then
    echo
    echo "Limits cannot be enforced for $3 on this host: refused (fail closed)."
    echo "Running again with a policy that explicitly allows running unlimited:"
    echo
    show_run "$1" "$2" "as $3, policy {\"allow_unlimited\": true}" "$work/unlimited.json"
  fi
}
demo_as root "$root_home" root
echo
demo_as "$user" "$user_home" "unprivileged user '$user'"
echo

# Credentials the agent can use but never holds: a local HTTPS API on
# localhost:8443 (a throwaway CA made here) wants a bearer token. The
# orchestrator has it (DEMO_API_TOKEN, trusted CA via SSL_CERT_FILE); the
# agent gets a placeholder, and the proxy sets the real header.
demo_credentials() {
  local d="$work/creds" token
  mkdir -p "$d"
  token="demo-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  (cd "$d" &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 1 \
      -subj /CN=demo-ca 2>/dev/null &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj /CN=localhost 2>/dev/null &&
    printf 'subjectAltName=DNS:localhost\n' >ext &&
    openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext -out srv.pem 2>/dev/null) ||
    { echo "(skipped: openssl could not make a certificate)"; return 0; }
  cat >"$d/api.py" <<'PY'
import http.server, ssl, sys
token = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        ok = self.headers.get("Authorization") == "Bearer " + token
        b = (b"200 hello, authorized caller\n" if ok else b"401 bad token\n")
        self.send_response(200 if ok else 401); self.send_header("Content-Length", str(len(b))); self.end_headers()
        self.wfile.write(b)
        print("   api server: Authorization %s" % ("is the real token" if ok else "is NOT the token: %r" % self.headers.get("Authorization")), flush=True)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 8443), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(sys.argv[2], sys.argv[3])
s.socket = c.wrap_socket(s.socket, server_side=True)
s.serve_forever()
PY
  python3 "$d/api.py" "$token" "$d/srv.pem" "$d/srv.key" &
  local api=$!
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/8443) 2>/dev/null && break; sleep 0.1; done
  if ! kill -0 "$api" 2>/dev/null; then echo "(skipped: port 8443 is busy)"; return 0; fi
  mkdir -p "$d/ws"
  cat >"$d/ws/agent.sh" <<'AGENT'
#!/bin/sh
echo "agent: my DEMO_API_TOKEN is '$DEMO_API_TOKEN'"
echo "agent: calling https://localhost:8443/v1/hello with it:"
curl -sS -H "Authorization: Bearer $DEMO_API_TOKEN" https://localhost:8443/v1/hello | sed 's/^/  /'
AGENT
  chmod 755 "$d/ws/agent.sh"
  chmod -R a+rX "$d"
  local pol=policy/examples/credentials.json
  echo "== credentials: DEMO_API_TOKEN=<secret> cove agent run --policy $pol -- /workspace/agent.sh"
  SSL_CERT_FILE=$d/ca.pem DEMO_API_TOKEN=$token "$cove" agent run --group demo --policy "$pol" --workspace "$d/ws" \
    --json -- /workspace/agent.sh >"$d/out" 2>&1 || true
  grep -v '^{' "$d/out" || true
  local rec log id
  rec=$(grep '^{' "$d/out" | tail -n1)
  id=$(jq -r .id <<<"$rec")
  log=$(jq -r .audit_log <<<"$rec")
  echo "-- the proxy's record of the request (the credential by name, never its value):"
  grep -F "\"run\":\"$id\"" "$log" 2>/dev/null | jq -c 'select(.event == "proxy" and .path_len != null) | del(.time, .run, .group)' | sed 's/^/   /'
  kill "$api" 2>/dev/null
  wait "$api" 2>/dev/null || true
}
demo_credentials
echo
echo "Both sandboxes were destroyed; 'cove agent gc' finds nothing left:"
"$cove" agent gc
setpriv --reuid="$user" --regid="$user" --init-groups env -i PATH=/usr/bin:/bin HOME="$user_home" "$cove" agent gc
