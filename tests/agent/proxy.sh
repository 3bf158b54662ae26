#!/usr/bin/env bash
# The allow-list proxy checks every request (issue 10, item 13): a second
# request on a keep-alive connection, a Host header that differs from the
# URL, a port the allow list does not name and numeric IPv4 forms are all
# refused and audited; the server on the host's loopback sees none of them.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

# two servers on the host's loopback, logging the Host of every request
cat >"$T/srv.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        with open(sys.argv[2], "a") as f: f.write("%s %s\n" % (self.headers.get("Host"), self.path))
        b = b"hello-from-host\n"
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
port=$((20000 + $$ % 20000))
other=$((port + 1))
python3 "$T/srv.py" "$port" "$T/seen" >/dev/null 2>&1 &
srv=$!
python3 "$T/srv.py" "$other" "$T/seen-other" >/dev/null 2>&1 &
srv2=$!
for p in "$port" "$other"; do
  for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $p), 1)" 2>/dev/null && break; sleep 0.05; done
done

# raw requests, one connection each; the reply's status line is printed
cat >"$WS/raw.py" <<'PY'
import os, socket, sys
p = int(os.environ["HTTP_PROXY"].rsplit(":", 1)[1])
for req in sys.argv[1:]:
    s = socket.create_connection(("127.0.0.1", p))
    s.sendall(req.encode().decode("unicode_escape").encode("latin-1"))
    data = b""
    s.settimeout(10)
    try:
        while True:
            b = s.recv(4096)
            if not b: break
            data += b
    except OSError as e:
        data += b" ERR " + str(e).encode()
    s.close()
    print("REPLY", data.count(b"HTTP/1.1 "), data.split(b"\r\n")[0].decode(), "hello" if b"hello-from-host" in data else "-")
PY
# an allowed name with any port: keep-alive, vhost, numeric forms
allow=$(policy allow '{"allow_unlimited": true, "network": {"allow": ["localhost", "*.example.invalid"], "no_proxy": []}}')
L=localhost:$port
arun --policy "$allow" --workspace "$WS" -- python3 /workspace/raw.py \
  "GET http://$L/first HTTP/1.1\r\nHost: $L\r\nConnection: keep-alive\r\n\r\nGET http://$L/second HTTP/1.1\r\nHost: internal.corp.example\r\n\r\n" \
  "GET http://$L/vhost HTTP/1.1\r\nHost: internal.corp.example\r\n\r\n" \
  "GET http://2130706433:$port/num HTTP/1.1\r\nHost: 2130706433:$port\r\n\r\n" \
  "GET http://0x7f.1:$port/num HTTP/1.1\r\nHost: 0x7f.1:$port\r\n\r\n" \
  "GET http://017700000001:$port/num HTTP/1.1\r\nHost: 017700000001:$port\r\n\r\n" \
  "GET http://127.1:$port/num HTTP/1.1\r\nHost: 127.1:$port\r\n\r\n"
assert_eq 0 "$RC" "proxy run ($ERR)"
mapfile -t replies < <(grep '^REPLY' <<<"$OUT")
assert_eq "REPLY 1 HTTP/1.1 200 OK hello" "${replies[0]:-}" "first request answered, only one reply on the connection"
assert_eq "REPLY 1 HTTP/1.1 403 Forbidden -" "${replies[1]:-}" "Host header different from the URL refused"
for i in 2 3 4 5; do
  assert_eq "REPLY 1 HTTP/1.1 403 Forbidden -" "${replies[$i]:-}" "numeric IPv4 form refused (request $i)"
done
assert_eq "localhost:$port /first" "$(cat "$T/seen" 2>/dev/null)" "the server saw only the first request"
audit=$(audit_of_last)
assert_contains "$audit" '"host":"localhost","port":'"$port"',"method":"GET","decision":"allow"' "first request audited"
assert_contains "$audit" '"host":"localhost","port":'"$port"',"method":"GET","decision":"deny","reason":"second request on a connection' "second request audited"
assert_contains "$audit" '"host":"localhost","port":'"$port"',"method":"GET","decision":"deny","reason":"Host header does not match the request target"' "mismatch audited"
for h in 2130706433 0x7f.1 017700000001 127.1; do
  assert_contains "$audit" '"host":"'"$h"'","port":'"$port"',"method":"GET","decision":"deny","reason":"IPv4 literal in a non-canonical form"' "$h audited"
done
assert_eq 1 "$(rec .proxied_connections)" "one allowed connection"
assert_eq 6 "$(rec .denials.network)" "six refused"

# an entry with a port: only that port
ported=$(policy ported "{\"allow_unlimited\": true, \"network\": {\"allow\": [\"localhost:$port\"], \"no_proxy\": []}}")
arun --policy "$ported" --workspace "$WS" -- python3 /workspace/raw.py \
  "GET http://$L/ported HTTP/1.1\r\nHost: $L\r\n\r\n" \
  "GET http://localhost:$other/port HTTP/1.1\r\nHost: localhost:$other\r\n\r\n" \
  "CONNECT localhost:$other HTTP/1.1\r\nHost: localhost:$other\r\n\r\n"
assert_eq 0 "$RC" "ported run ($ERR)"
mapfile -t replies < <(grep '^REPLY' <<<"$OUT")
assert_eq "REPLY 1 HTTP/1.1 200 OK hello" "${replies[0]:-}" "the listed port is reachable"
assert_eq "REPLY 1 HTTP/1.1 403 Forbidden -" "${replies[1]:-}" "port not in the allow list refused"
assert_eq "REPLY 1 HTTP/1.1 403 Forbidden -" "${replies[2]:-}" "CONNECT to a port not in the allow list refused"
assert_eq "" "$(cat "$T/seen-other" 2>/dev/null)" "the other port saw nothing"
audit=$(audit_of_last)
assert_contains "$audit" '"host":"localhost","port":'"$other"',"method":"GET","decision":"deny","reason":"port not in the allow list for this host"' "port audited"
assert_contains "$audit" '"host":"localhost","port":'"$other"',"method":"CONNECT","decision":"deny","reason":"port not in the allow list for this host"' "CONNECT port audited"

# a policy entry that is not a host[:port] is refused by name
bad=$(policy bad '{"allow_unlimited": true, "network": {"allow": ["localhost:99999"]}}')
arun --policy "$bad" --workspace "$WS" -- true
assert_ne 0 "$RC" "bad allow entry refused"
assert_contains "$ERR" 'network.allow[0]' "error names the entry"
kill "$srv" "$srv2" 2>/dev/null
wait "$srv" "$srv2" 2>/dev/null || true
