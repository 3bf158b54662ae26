#!/usr/bin/env bash
# Network none, the allow-list proxy (a test HTTP server on the host's
# 127.0.0.1 reached through it), refusals with audit lines, IP literals.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-agent.sh"

# none: only loopback, connecting out fails
arun --policy "$UNL" --workspace "$WS" -- sh -c 'ls /sys/class/net 2>/dev/null; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "; python3 -c "
import socket
try:
    socket.create_connection((\"1.1.1.1\", 80), timeout=2); print(\"CONNECTED\")
except OSError as e: print(\"refused:\", e)
"'
assert_eq 0 "$RC" "network none run ($ERR)"
assert_contains "$OUT" "lo" "loopback exists"
assert_not_contains "$OUT" "eth" "no other interface"
assert_contains "$OUT" "refused:" "connect fails"
assert_not_contains "$OUT" "CONNECTED"

# a server on the host's loopback; the sandbox's own loopback is separate
port=$((20000 + $$ % 20000))
mkdir -p "$T/www" && echo "hello-from-host" >"$T/www/index.html"
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$T/www" >/dev/null 2>&1 &
srv=$!
for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break; sleep 0.05; done

fetch='import os, sys, urllib.request
for u in sys.argv[1:]:
    try:
        print(u, urllib.request.urlopen(u, timeout=5).read().decode().strip())
    except Exception as e:
        print(u, "ERR", e)
print("proxy=" + os.environ.get("HTTP_PROXY", ""))'

# without the proxy the host's 127.0.0.1 is unreachable
arun --policy "$UNL" --workspace "$WS" -- python3 -c "$fetch" "http://localhost:$port/"
assert_not_contains "$OUT" "hello-from-host" "network none cannot reach the host's loopback"

allow=$(policy allow '{"allow_unlimited": true, "network": {"allow": ["localhost", "*.example.invalid"], "no_proxy": []}}')
arun --policy "$allow" --workspace "$WS" -- python3 -c "$fetch" "http://localhost:$port/" "http://127.0.0.1:$port/" "http://other.test:$port/"
assert_eq 0 "$RC" "proxy run ($ERR)"
assert_contains "$OUT" "http://localhost:$port/ hello-from-host" "allowed name reached through the proxy"
assert_contains "$OUT" "proxy=http://127.0.0.1:" "HTTP_PROXY set"
assert_contains "$OUT" "http://127.0.0.1:$port/ ERR" "IP literal refused"
assert_contains "$OUT" "http://other.test:$port/ ERR" "unlisted name refused"
audit=$(audit_of_last)
assert_contains "$audit" '"event":"proxy","host":"localhost","port":'"$port"',"method":"GET","decision":"allow"' "allowed connection audited"
assert_match "$audit" '"host":"localhost".*"bytes_down":[1-9]' "bytes counted"
assert_contains "$audit" '"host":"127.0.0.1","port":'"$port"',"method":"GET","decision":"deny","reason":"IP literal not in the allow list"'
assert_contains "$audit" '"host":"other.test","port":'"$port"',"method":"GET","decision":"deny","reason":"host not in the allow list"'
assert_eq 1 "$(rec .proxied_connections)" "one allowed connection"
assert_eq 2 "$(rec .denials.network)" "two refused"

# CONNECT through the proxy (what HTTPS clients do), allowed and refused
connect='import socket, sys, os
p = int(os.environ["HTTP_PROXY"].rsplit(":", 1)[1])
for target in sys.argv[1:]:
    s = socket.create_connection(("127.0.0.1", p))
    s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
    r = s.recv(200).decode().split("\r\n")[0]
    if " 200 " in r:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            b = s.recv(4096)
            if not b: break
            data += b
        r += " body:" + ("hello-from-host" if b"hello-from-host" in data else "none")
    print(target, r)'
arun --policy "$allow" --workspace "$WS" -- python3 -c "$connect" "localhost:$port" "evil.test:443" "[::1]:$port"
assert_contains "$OUT" "localhost:$port HTTP/1.1 200 Connection established body:hello-from-host" "CONNECT tunnel"
assert_contains "$OUT" "evil.test:443 HTTP/1.1 403" "CONNECT to unlisted host refused"
assert_contains "$OUT" "[::1]:$port HTTP/1.1 403" "CONNECT to an IP literal refused"
kill "$srv" 2>/dev/null
wait "$srv" 2>/dev/null || true
