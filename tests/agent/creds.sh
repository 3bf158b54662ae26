#!/usr/bin/env bash
# Credentials the agent can use but never holds (issue 15): the proxy sets
# the header on requests to the credential's host (plain HTTP and HTTPS,
# the latter intercepted with the run's CA), never elsewhere; the secret is
# nowhere the agent can look nor in anything the run leaves behind.
# Loopback only: HTTPS and HTTP upstreams on 127.0.0.1 with a test CA made
# here by openssl; the orchestrator trusts it through SSL_CERT_FILE.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"
command -v openssl >/dev/null || skip "openssl not installed"

SECRET="cove-test-secret-$$-$RANDOM$RANDOM"

# the test CA, a server certificate for localhost, and a self-signed one
# for localhost that no trust store knows
(
  cd "$T" || exit 1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 1 \
    -subj /CN=cove-test-ca 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj /CN=localhost 2>/dev/null
  printf 'subjectAltName=DNS:localhost\n' >ext
  openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext -out srv.pem 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout name.key -out name.csr -subj /CN=other.example 2>/dev/null
  printf 'subjectAltName=DNS:other.example\n' >ext2
  openssl x509 -req -in name.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext2 -out name.pem 2>/dev/null
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout self.key -out self.pem -days 1 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null
) || die "openssl could not make the test certificates"
chmod 644 "$T"/*.pem "$T"/*.key

# upstreams: record every request's headers (one JSON line each), answer
# keep-alive; /chunked answers chunked, /redirect redirects elsewhere,
# POST echoes the body length
cat >"$T/srv.py" <<'PY'
import http.server, json, ssl, sys
portfile, log, cert, key = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def rec(self, body=b""):
        with open(log, "a") as f:
            f.write(json.dumps({"path": self.path, "headers": [[k, v] for k, v in self.headers.items()], "body": len(body)}) + "\n")
    def reply(self, b, chunked=False):
        self.send_response(200)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
            for part in (b[:5], b[5:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def do_GET(self):
        self.rec()
        if self.path.startswith("/redirect"):
            self.send_response(302); self.send_header("Location", self.headers.get("X-Redirect-To", "/")); self.send_header("Content-Length", "0"); self.end_headers(); return
        if self.path.startswith("/slow"):
            import time; b = b"x" * 2000000
            self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b); return
        auth = self.headers.get("Authorization", "none")
        self.reply(("hello port %d auth-present=%s\n" % (port, auth != "none")).encode(), self.path.startswith("/chunked"))
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        if self.headers.get("Transfer-Encoding") == "chunked":
            body = b""
            while True:
                sz = int(self.rfile.readline().strip(), 16)
                if sz == 0:
                    self.rfile.readline(); break
                body += self.rfile.read(sz); self.rfile.readline()
        else:
            body = self.rfile.read(n)
        self.rec(body)
        self.reply(b"got %d\n" % len(body))
    def log_message(self, *a): pass
# a port of the kernel's choosing, told through portfile once listening:
# fixed ports collided when the root and rootless runs of this test, started
# together, had close pids, and the proxy then spoke TLS to a plain server
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
port = srv.server_address[1]
if cert != "-":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(port))
import os; os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
PY
PIDS=()
python3 "$T/srv.py" "$T/port-https" "$T/seen-https" "$T/srv.pem" "$T/srv.key" >/dev/null 2>&1 & PIDS+=($!)
python3 "$T/srv.py" "$T/port-https2" "$T/seen-https2" "$T/srv.pem" "$T/srv.key" >/dev/null 2>&1 & PIDS+=($!)
python3 "$T/srv.py" "$T/port-plain" "$T/seen-plain" - - >/dev/null 2>&1 & PIDS+=($!)
python3 "$T/srv.py" "$T/port-bad" "$T/seen-bad" "$T/self.pem" "$T/self.key" >/dev/null 2>&1 & PIDS+=($!)
python3 "$T/srv.py" "$T/port-badname" "$T/seen-badname" "$T/name.pem" "$T/name.key" >/dev/null 2>&1 & PIDS+=($!)
stop_servers() { kill "${PIDS[@]}" 2>/dev/null; wait "${PIDS[@]}" 2>/dev/null; return 0; }
# the servers go whatever ends the test (die included)
trap '_rc=$?; stop_servers; (exit $_rc); _agent_finish' EXIT
for f in https https2 plain bad badname; do
  for _ in $(seq 200); do [ -s "$T/port-$f" ] && break; sleep 0.05; done
  [ -s "$T/port-$f" ] || die "test server $f did not start"
done
HTTPS=$(cat "$T/port-https") HTTPS2=$(cat "$T/port-https2") PLAIN=$(cat "$T/port-plain")
BADCERT=$(cat "$T/port-bad") BADNAME=$(cat "$T/port-badname")

# in the sandbox: CONNECT through the proxy by hand, TLS with a chosen SNI
# (verification against the sandbox's bundle, or none with "-k"), one or
# more raw requests; prints the status lines, the body lines and the
# SHA-256 of the certificate the agent was shown
cat >"$WS/tls.py" <<'PY'
import hashlib, os, socket, ssl, sys
p = int(os.environ["HTTPS_PROXY"].rsplit(":", 1)[1])
target, sni, verify = sys.argv[1], sys.argv[2], sys.argv[3] != "-k"
s = socket.create_connection(("127.0.0.1", p))
s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
r = b""
while b"\r\n\r\n" not in r:
    b = s.recv(1)
    if not b: break
    r += b
print("CONNECT", r.split(b"\r\n")[0].decode())
ctx = ssl.create_default_context() if verify else ssl._create_unverified_context()
if not verify: ctx.check_hostname = False
try:
    t = ctx.wrap_socket(s, server_hostname=sni)
except Exception as e:
    print("TLSERR", type(e).__name__, str(e)[:80]); sys.exit(0)
print("CERT", hashlib.sha256(t.getpeercert(True)).hexdigest())
t.sendall(sys.argv[4].encode().decode("unicode_escape").encode("latin-1"))
t.settimeout(10)
data = b""
try:
    while True:
        b = t.recv(65536)
        if not b: break
        data += b
except Exception as e:
    data += b" ERR " + type(e).__name__.encode()
for line in data.split(b"\r\n"):
    if line.startswith(b"HTTP/1.1") or line.startswith(b"hello") or line.startswith(b"got") or b"cove proxy" in line:
        print("R", line.decode(errors="replace"))
PY
chmod 644 "$WS/tls.py"
srvcert=$(openssl x509 -in "$T/srv.pem" -outform DER | sha256sum | cut -d' ' -f1)

export SSL_CERT_FILE=$T/ca.pem
L=localhost
pol=$(policy creds "{\"allow_unlimited\": true, \"network\": {\"allow\": [\"localhost\"], \"no_proxy\": []},
  \"credentials\": [{\"name\": \"demo\", \"hosts\": [\"localhost:$HTTPS\", \"localhost:$PLAIN\"], \"env\": \"DEMO_API_TOKEN\",
    \"header\": \"Authorization\", \"prefix\": \"Bearer \", \"placeholder_env\": \"DEMO_API_TOKEN\"}]}")

# 1. curl, python and wget with only the placeholder; the upstream sees the
# secret, the agent the right answer; the agent's own Authorization is
# replaced
DEMO_API_TOKEN=$SECRET arun --policy "$pol" --workspace "$WS" -- sh -c '
  echo "placeholder=$DEMO_API_TOKEN"
  curl -sS -H "Authorization: Bearer $DEMO_API_TOKEN" https://localhost:'"$HTTPS"'/curl
  curl -sS https://localhost:'"$HTTPS"'/chunked
  curl -sS -d hello-body https://localhost:'"$HTTPS"'/post
  curl -sS -H "Transfer-Encoding: chunked" -d chunked-body https://localhost:'"$HTTPS"'/postchunked
  python3 -c "
import urllib.request
print(urllib.request.urlopen(\"https://localhost:'"$HTTPS"'/python\").read().decode().strip())"
  wget -qO- https://localhost:'"$HTTPS"'/wget
  curl -sS http://localhost:'"$PLAIN"'/plain
  curl -sS --http1.1 https://localhost:'"$HTTPS"'/ka1 https://localhost:'"$HTTPS"'/ka2
'
assert_eq 0 "$RC" "credentialed run ($ERR)"
[ -n "${CREDS_DEBUG:-}" ] && log "$OUT"
assert_contains "$OUT" "placeholder=cove-placeholder" "the agent sees only the placeholder"
assert_eq 6 "$(grep -c "hello port $HTTPS auth-present=True" <<<"$OUT")" "curl, wget, python, chunked, keep-alive answered through the interception"
assert_contains "$OUT" "got 10" "a POST body relayed"
assert_contains "$OUT" "got 12" "a chunked POST body relayed"
assert_contains "$OUT" "hello port $PLAIN auth-present=True" "plain HTTP answered"
auths=$(jq -r '[.headers[] | select(.[0] | ascii_downcase == "authorization") | .[1]] | length|tostring + " " + (.[0] // .path)' "$T/seen-https" 2>/dev/null | sort | uniq -c)
assert_eq "$(wc -l <"$T/seen-https")" "$(jq -r '[.headers[] | select(.[0] | ascii_downcase == "authorization")] | select(length == 1) | .[0][1]' "$T/seen-https" | grep -cx "Bearer $SECRET")" "every HTTPS request carried exactly one Authorization, the secret ($auths)"
assert_eq 8 "$(wc -l <"$T/seen-https")" "eight HTTPS requests reached the upstream"
assert_eq "Bearer $SECRET" "$(jq -r '.headers[] | select(.[0] == "Authorization") | .[1]' "$T/seen-plain")" "plain HTTP carried the secret"
audit=$(audit_of_last)
assert_contains "$audit" '"method":"GET","decision":"allow","path_len":5,"status":200' "per-request audit line"
assert_contains "$audit" '"credential":"demo","tls":"intercepted"' "audit names the credential"
assert_eq "allow 6 200 demo" "$(jq -r "select(.event == \"proxy\" and .port == $PLAIN) | \"\\(.decision) \\(.path_len) \\(.status) \\(.credential)\"" <<<"$audit")" "plain HTTP audited with path length, status, credential"
assert_eq 8 "$(grep -c '"decision":"allow","path_len":[0-9]*,"status":200,.*"tls":"intercepted"' <<<"$audit")" "one audit line per HTTPS request"

# 2. the secret is nowhere: the agent's environment, every /proc/*/environ,
# everything readable in the sandbox; the run dir, bundle, audit, result.
# The agent gets the secret reversed (the command line is in the record);
# the host's read-only OS directories are the host's own, not searched
rsecret=$(rev <<<"$SECRET")
CMD_TIMEOUT=120 DEMO_API_TOKEN=$SECRET arun --policy "$pol" --workspace "$WS" -- sh -c '
  s=$(echo "$1" | rev)
  env | grep -c "$s"
  cat /proc/[0-9]*/environ 2>/dev/null | tr "\0" "\n" | grep -c "$s"
  grep -rlasF --exclude-dir=proc --exclude-dir=sys --exclude-dir=usr --exclude-dir=lib --exclude-dir=lib64 "$s" / 2>/dev/null | head -3
  for p in /proc/[0-9]*; do [ "$p" = /proc/$$ ] || grep -lasF "$s" $p/environ $p/cmdline 2>/dev/null; done | grep -v "^/proc/self" | head -3
  echo "bundle: $SSL_CERT_FILE $REQUESTS_CA_BUNDLE $NODE_EXTRA_CA_CERTS $CURL_CA_BUNDLE $GIT_SSL_CAINFO"
  grep -c "BEGIN CERTIFICATE" /etc/ssl/certs/ca-certificates.crt
  echo > /etc/ssl/certs/ca-certificates.crt 2>/dev/null && echo WRITABLE
  ls -l /proc/self/fd/ | grep -c -- "->"
' sh "$rsecret"
assert_eq 0 "$RC" "secret search run ($ERR)"
assert_eq "0 0" "$(head -2 <<<"$OUT" | tr '\n' ' ' | sed 's/ $//')" "the secret is in no environment"
assert_eq "" "$(awk 'NR >= 3 && /^bundle:/ { exit } NR >= 3' <<<"$OUT")" "the secret is in no file the sandbox sees (nor any process's environ or cmdline)"
assert_contains "$OUT" "bundle: /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt" "the CA variables are set"
assert_not_contains "$OUT" "WRITABLE" "the bundle is read-only"
id=$(rec .id)
assert_not_contains "$(grep -rasF "$SECRET" "$AUDIT_DIR" "$RUNBASE" 2>/dev/null)" "$SECRET" "not in the audit log or a run dir"
assert_not_contains "$REC" "$SECRET" "not in the result record"
# fds: only stdio and the one ls opened
assert_eq 4 "$(tail -n1 <<<"$OUT")" "no orchestrator fd leaks into the sandbox"

# during a run: the bundle and run dir hold no secret, no private key
DEMO_API_TOKEN=$SECRET arun --policy "$pol" --workspace "$WS" -- sh -c 'sleep 0.5; echo done' &
apid=$!
for _ in $(seq 50); do ls "$RUNBASE"/*/bundle/config.json >/dev/null 2>&1 && break; sleep 0.05; done
inflight=$(cat "$RUNBASE"/*/bundle/config.json "$RUNBASE"/*/ca-bundle.crt 2>/dev/null)
assert_contains "$inflight" "DEMO_API_TOKEN=cove-placeholder" "the bundle carries the placeholder"
assert_not_contains "$inflight" "$SECRET" "the bundle carries no secret"
assert_eq "" "$(grep -rlsE "PRIVATE KEY" "$RUNBASE" 2>/dev/null)" "no private key on disk"
wait $apid

# 3. another allowed host (here: another port) without a credential: the
# plain tunnel, the agent sees the upstream's own certificate, no header
DEMO_API_TOKEN=$SECRET arun --policy "$pol" --workspace "$WS" -- python3 /workspace/tls.py \
  "localhost:$HTTPS2" localhost -k "GET /other HTTP/1.1\r\nHost: localhost:$HTTPS2\r\nConnection: close\r\n\r\n"
assert_eq 0 "$RC" "uncredentialed run ($ERR)"
assert_contains "$OUT" "CERT $srvcert" "not intercepted: the upstream's own certificate"
assert_contains "$OUT" "hello port $HTTPS2 auth-present=False" "no credential there"
assert_eq 0 "$(grep -c "$SECRET" "$T/seen-https2")" "the other host never saw the secret"

# 4. mismatches: SNI vs CONNECT, Host vs CONNECT, absolute URL, an IP
# literal (allowed here, so tunnelled: not intercepted, no credential),
# another port, a redirect followed to another host
: >"$T/seen-https"
polip=$(sed 's/"allow": \["localhost"\]/"allow": ["localhost", "127.0.0.1"]/' "$pol")
polip=$(policy polip "$polip")
DEMO_API_TOKEN=$SECRET arun --policy "$polip" --workspace "$WS" -- sh -c '
  python3 /workspace/tls.py localhost:'"$HTTPS"' other.example -k "GET /sni HTTP/1.1\r\nHost: localhost:'"$HTTPS"'\r\n\r\n"
  python3 /workspace/tls.py localhost:'"$HTTPS"' localhost x "GET /host HTTP/1.1\r\nHost: localhost:'"$HTTPS2"'\r\n\r\n"
  python3 /workspace/tls.py localhost:'"$HTTPS"' localhost x "GET https://localhost:'"$HTTPS2"'/abs HTTP/1.1\r\nHost: localhost:'"$HTTPS"'\r\n\r\n"
  python3 /workspace/tls.py localhost:'"$HTTPS"' localhost x "GET /ok HTTP/1.1\r\nHost: localhost:'"$HTTPS"'\r\n\r\nGET /second HTTP/1.1\r\nHost: evil.example\r\n\r\n"
  python3 /workspace/tls.py 127.0.0.1:'"$HTTPS"' localhost -k "GET /ip HTTP/1.1\r\nHost: 127.0.0.1:'"$HTTPS"'\r\nConnection: close\r\n\r\n"
  curl -sS -L -H "X-Redirect-To: https://localhost:'"$HTTPS2"'/landed" https://localhost:'"$HTTPS"'/redirect -k
  echo
'
assert_eq 0 "$RC" "mismatch run ($ERR)"
[ -n "${CREDS_DEBUG:-}" ] && log "$OUT"
assert_contains "$OUT" "TLSERR" "SNI other than the CONNECT target: no TLS session"
assert_eq 3 "$(grep -v '^CONNECT' <<<"$OUT" | grep -o "HTTP/1.1 403 Forbidden" | grep -c .)" "Host, absolute URL and second-request Host mismatches refused"
assert_contains "$OUT" "CERT $srvcert" "an IP literal is not intercepted"
assert_contains "$OUT" "hello port $HTTPS auth-present=False" "and carries no credential"
assert_contains "$OUT" "hello port $HTTPS2 auth-present=False" "the redirect target got no credential"
assert_eq "/ok /ip /redirect" "$(jq -r .path "$T/seen-https" | tr '\n' ' ' | sed 's/ $//')" "the credentialed upstream saw only the good requests"
assert_eq 0 "$(grep -c "$SECRET" "$T/seen-https2")" "nothing leaked to the other port"
audit=$(audit_of_last)
assert_contains "$audit" 'TLS handshake failed: TLS SNI does not match the CONNECT target"' "SNI mismatch audited"
assert_contains "$audit" '"reason":"Host header does not match the CONNECT target","tls":"intercepted"' "Host mismatch audited"
assert_contains "$audit" '"reason":"request URL names another host or port than the connection"' "absolute URL mismatch audited"
assert_contains "$audit" '"host":"127.0.0.1","port":'"$HTTPS"',"method":"CONNECT","decision":"allow","reason":null,"path_len":null,"status":null' "IP literal audited as a plain tunnel"

# 5. an upstream whose certificate the orchestrator does not trust: refused,
# nothing sent (a credential for it, allowed)
badpol=$(policy bad "{\"allow_unlimited\": true, \"network\": {\"allow\": [\"localhost\"], \"no_proxy\": []},
  \"credentials\": [{\"name\": \"bad\", \"hosts\": [\"localhost:$BADCERT\"], \"env\": \"DEMO_API_TOKEN\", \"header\": \"x-api-key\"}]}")
DEMO_API_TOKEN=$SECRET arun --policy "$badpol" --workspace "$WS" -- sh -c 'curl -sS https://localhost:'"$BADCERT"'/x; echo "rc=$?"'
assert_eq 0 "$RC" "bad cert run ($ERR)"
assert_not_contains "$OUT" "hello" "no answer through an untrusted upstream"
assert_eq "" "$(cat "$T/seen-bad" 2>/dev/null)" "the untrusted upstream received no request"
assert_contains "$(audit_of_last)" '"reason":"upstream TLS refused: certificate verify failed' "refusal audited"
# a certificate from a trusted CA, for another name
badpol=$(policy badname "{\"allow_unlimited\": true, \"network\": {\"allow\": [\"localhost\"], \"no_proxy\": []},
  \"credentials\": [{\"name\": \"bad\", \"hosts\": [\"localhost:$BADNAME\"], \"env\": \"DEMO_API_TOKEN\", \"header\": \"x-api-key\"}]}")
DEMO_API_TOKEN=$SECRET arun --policy "$badpol" --workspace "$WS" -- sh -c 'curl -sS https://localhost:'"$BADNAME"'/x; echo "rc=$?"'
assert_not_contains "$OUT" "hello" "no answer through a misnamed upstream"
assert_eq "" "$(cat "$T/seen-badname" 2>/dev/null)" "the misnamed upstream received no request"
assert_contains "$(audit_of_last)" '"reason":"upstream TLS refused: certificate verify failed: hostname mismatch' "name mismatch audited"

# 6. many parallel requests and a slow reader: all answered, the run ends
CMD_TIMEOUT=90 DEMO_API_TOKEN=$SECRET arun --policy "$pol" --workspace "$WS" --timeout 60s -- sh -c '
  (curl -sS --limit-rate 1M -o /dev/null https://localhost:'"$HTTPS"'/slow; echo "slow=$?") &
  for i in $(seq 24); do curl -sS https://localhost:'"$HTTPS"'/p$i & done; wait'
assert_eq 0 "$RC" "parallel run ($ERR)"
[ -n "${CREDS_DEBUG:-}" ] && log "$OUT" && audit_of_last | tail -5
assert_eq 24 "$(grep -c "hello port $HTTPS auth-present=True" <<<"$OUT")" "24 parallel requests answered"
assert_contains "$OUT" "slow=0" "the slow client got its whole response"

# 7. policy errors name the field; nothing runs
for bad in \
  '"credentials": [{"name": "x", "hosts": ["elsewhere.example"], "env": "E", "header": "A"}]|credentials[0].hosts[0]' \
  '"credentials": [{"name": "x", "hosts": ["localhost"], "env": "E", "file": "/f", "header": "A"}]|credentials[0]: exactly one' \
  '"credentials": [{"name": "x", "hosts": ["127.0.0.1"], "env": "E", "header": "A"}]|credentials[0].hosts[0]' \
  '"credentials": [{"name": "x", "hosts": ["localhost"], "env": "E", "header": "Host"}]|credentials[0].header' \
  '"credentials": [{"name": "x", "hosts": ["localhost"], "env": "NOT_SET_ANYWHERE", "header": "A"}]|credentials[0].env (NOT_SET_ANYWHERE): not set'; do
  p=$(policy badcred "{\"allow_unlimited\": true, \"network\": {\"allow\": [\"localhost\"]}, ${bad%%|*}}")
  arun --policy "$p" --workspace "$WS" -- echo RAN
  assert_ne 0 "$RC" "refused: ${bad%%|*}"
  assert_contains "$ERR" "${bad#*|}" "error names the field"
  assert_not_contains "$OUT" "RAN" "nothing ran"
done
# a credential file inside the workspace would be readable by the agent
echo "$SECRET" >"$WS/token"
p=$(policy wsfile "{\"allow_unlimited\": true, \"network\": {\"allow\": [\"localhost\"]}, \"credentials\": [{\"name\": \"x\", \"hosts\": [\"localhost\"], \"file\": \"$WS/token\", \"header\": \"A\"}]}")
arun --policy "$p" --workspace "$WS" -- echo RAN
assert_ne 0 "$RC" "a credential file the sandbox sees is refused"
assert_contains "$ERR" "credentials[0].file" "and named"
rm -f "$WS/token"

# 8. the TLS module (cove-tls.so): cove itself links no OpenSSL; the module
# is loaded only by a run with credentials, only from cove's own directory
# or the install's, and only when no one else can write it or its directory
if ldd "$COVE" | grep -Eq 'libssl|libcrypto'; then
  fail "cove links OpenSSL: $(ldd "$COVE" | grep -E 'libssl|libcrypto' | tr '\n' ' ')"
else
  pass "cove links no OpenSSL (it loads cove-tls.so when a run has credentials)"
fi
if command -v cc >/dev/null; then
  printf '%s\n' '#include <stdio.h>' '#include <stdlib.h>' \
    '__attribute__((constructor)) static void planted(void) { const char *m = getenv("PLANT_MARK"); FILE *f = m ? fopen(m, "w") : 0; if (f) fclose(f); }' \
    'const int cove_tls_module_v1 = 1;' >"$T/plant.c"
  cc -shared -fPIC -o "$T/plant.so" "$T/plant.c" || die "cc could not build the planted module"
  export PLANT_MARK=$T/planted
  # a cove in a directory others can write: a module planted there is refused
  mkdir "$T/open" && cp "$COVE" "$T/open/cove" && cp "$T/plant.so" "$T/open/cove-tls.so" && chmod 0777 "$T/open"
  DEMO_API_TOKEN=$SECRET capture "$T/open/cove" agent run --json --policy "$pol" --workspace "$WS" -- sh -c "echo RUN''NING"
  assert_ne 0 "$RC" "a module in a directory others can write is refused"
  assert_contains "$ERR" "cove-tls.so: not loaded" "and the error says so"
  assert_not_contains "$OUT" "RUNNING" "nothing ran"
  [ -e "$PLANT_MARK" ] && fail "the planted module ran" || pass "the planted module never ran"
  # a symlink in cove's own directory is not followed
  mkdir "$T/link" && cp "$COVE" "$T/link/cove" && ln -s "$T/plant.so" "$T/link/cove-tls.so"
  DEMO_API_TOKEN=$SECRET capture "$T/link/cove" agent run --json --policy "$pol" --workspace "$WS" -- sh -c "echo RUN''NING"
  assert_ne 0 "$RC" "a symlinked module is refused"
  assert_not_contains "$OUT" "RUNNING" "nothing ran"
  [ -e "$PLANT_MARK" ] && fail "the symlinked module ran" || pass "the symlinked module never ran"
  # a module that is not cove's (wrong table) is refused after loading;
  # and a run without credentials never loads one at all
  rm "$T/link/cove-tls.so" && cp "$T/plant.so" "$T/link/cove-tls.so" && chmod 0755 "$T/link/cove-tls.so"
  capture "$T/link/cove" agent run --json --policy "$(policy nocreds '{"allow_unlimited": true}')" --workspace "$WS" -- sh -c "echo RUN''NING"
  assert_eq 0 "$RC" "a run without credentials ($ERR)"
  [ -e "$PLANT_MARK" ] && fail "a run without credentials loaded the TLS module" || pass "a run without credentials loads no TLS module"
  DEMO_API_TOKEN=$SECRET capture "$T/link/cove" agent run --json --policy "$pol" --workspace "$WS" -- sh -c "echo RUN''NING"
  assert_ne 0 "$RC" "a foreign module is refused"
  assert_contains "$ERR" "not a TLS module of this cove" "and named"
  assert_not_contains "$OUT" "RUNNING" "nothing ran"
  unset PLANT_MARK
else
  log "no C compiler: the planted-module cases are skipped"
fi

stop_servers
