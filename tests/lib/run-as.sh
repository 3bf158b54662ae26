#!/usr/bin/env bash
# Test wrapper: run-as.sh SCRIPT [ARGS...]
# Environment in: COVE, ROOTFS, MODE=root|rootless (+ optional COVE_* vars).
# MODE=root runs the script as is (must be root: exit 77 otherwise).
# MODE=rootless re-executes it as the unprivileged user covetest via setpriv
# with a clean environment.
set -euo pipefail
script=${1:?usage: run-as.sh SCRIPT [ARGS...]}
shift
: "${COVE:?COVE not set}" "${ROOTFS:?ROOTFS not set}" "${MODE:?MODE not set}"
user=${COVE_TEST_USER:-covetest}

case $MODE in
  root)
    if [ "$(id -u)" -ne 0 ]; then
      echo "SKIP: root-mode test needs root"
      exit 77
    fi
    exec bash "$script" "$@"
    ;;
  rootless)
    if [ "$(id -u)" -ne 0 ]; then
      # Already unprivileged: just run it.
      exec bash "$script" "$@"
    fi
    if ! id "$user" >/dev/null 2>&1; then
      echo "FAIL: user $user does not exist (the setup_user fixture creates it)"
      exit 1
    fi
    home=$(getent passwd "$user" | cut -d: -f6)
    [ -d "$home" ] || home=/tmp
    envs=(
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
      "HOME=$home" "USER=$user" "LOGNAME=$user" "LANG=C.UTF-8"
      "COVE=$COVE" "ROOTFS=$ROOTFS" "MODE=$MODE"
    )
    # Pass through the test-relevant variables (sanitizers, helpers).
    while IFS='=' read -r name _; do
      case $name in
        COVE_*|ASAN_OPTIONS|UBSAN_OPTIONS|LSAN_OPTIONS|TMPDIR)
          envs+=("$name=${!name}") ;;
      esac
    done < <(env)
    cd /
    exec setpriv --reuid="$user" --regid="$user" --init-groups --reset-env \
      env -i "${envs[@]}" bash "$script" "$@"
    ;;
  *)
    echo "FAIL: MODE must be root or rootless, got '$MODE'"
    exit 1
    ;;
esac
