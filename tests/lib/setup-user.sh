#!/usr/bin/env bash
# Fixture: the unprivileged user the rootless tests run as, with a
# subordinate id range (/etc/subuid, /etc/subgid) for newuidmap tests.
set -euo pipefail
user=${COVE_TEST_USER:-covetest}
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-user: not root; rootless tests run as $(id -un)"
  exit 0
fi
if ! id "$user" >/dev/null 2>&1; then
  useradd --system --create-home --shell /bin/bash "$user"
  echo "setup-user: created $user"
fi
for f in /etc/subuid /etc/subgid; do
  touch "$f"
  if ! grep -q "^$user:" "$f"; then
    # a range well away from the usual 100000+ allocations
    echo "$user:3000000:65536" >>"$f"
    echo "setup-user: added $user to $f"
  fi
done
id "$user"
