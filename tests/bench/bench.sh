#!/usr/bin/env bash
# Start+exit benchmark: cove vs bubblewrap vs crun vs runc running /bin/true
# in the same busybox-static rootfs. A benchmark, not a test: it is not
# registered with ctest and has no pass/fail thresholds. See README.md.
#
#   bench.sh [--runs N] [--warmup N] [--rootless-user USER] [--cove PATH]
#            [--workdir DIR] [--no-crun] [--no-root] [--no-rootless]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

runs=50
warmup=5
user=covetest
cove=$repo/build/cove
workdir=
want_crun=1
want_root=1
want_rootless=1

usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=${2:?}; shift 2 ;;
    --warmup) warmup=${2:?}; shift 2 ;;
    --rootless-user) user=${2:?}; shift 2 ;;
    --cove) cove=${2:?}; shift 2 ;;
    --workdir) workdir=${2:?}; shift 2 ;;
    --no-crun) want_crun=0; shift ;;
    --no-root) want_root=0; shift ;;
    --no-rootless) want_rootless=0; shift ;;
    -h|--help) usage 0 ;;
    *) echo "bench: unknown argument $1" >&2; usage 2 >&2 ;;
  esac
done

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; notes+=("$*"); }
notes=()

for t in hyperfine bwrap busybox python3 setpriv; do
  command -v "$t" >/dev/null || die "$t not found"
done
[ -x "$cove" ] || die "cove binary $cove not found; build it: cmake -S $repo -B $repo/build && cmake --build $repo/build -j2"
cove=$(readlink -f "$cove")
bb=$(readlink -f "$(command -v busybox)")
if LC_ALL=C readelf -d "$bb" 2>/dev/null | grep -q NEEDED; then
  die "$bb is not static (apt-get install busybox-static)"
fi
have_runc=0; command -v runc >/dev/null && have_runc=1
have_crun=0; [ "$want_crun" = 1 ] && command -v crun >/dev/null && have_crun=1
[ "$have_runc" = 1 ] || note "runc not installed: skipped"
[ "$want_crun" = 0 ] || [ "$have_crun" = 1 ] || note "crun not installed: skipped"

if [ "$(id -u)" -ne 0 ]; then
  # Unprivileged caller: only the rootless mode, as ourselves.
  [ "$want_root" = 0 ] || note "not root: root mode skipped"
  want_root=0
  user=$(id -un)
fi
if [ "$want_rootless" = 1 ] && [ "$(id -u)" -eq 0 ] && ! id "$user" >/dev/null 2>&1; then
  useradd --create-home "$user"
  echo "bench: created user $user" >&2
fi

# --- work directory: rootfs, bundles, state roots, results ---------------
umask 022
if [ -z "$workdir" ]; then
  workdir=$(mktemp -d /tmp/cove-bench.XXXXXX)
fi
mkdir -p "$workdir"
workdir=$(readlink -f "$workdir")
chmod 0755 "$workdir"
p=$(dirname "$workdir")
while [ "$p" != / ]; do chmod o+x "$p" 2>/dev/null || true; p=$(dirname "$p"); done

rootfs=$workdir/rootfs
if [ -x "$rootfs/bin/busybox" ] && cmp -s "$bb" "$rootfs/bin/busybox"; then
  echo "bench: reusing $rootfs" >&2
else
  rm -rf "$rootfs"
  mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,etc,root}
  chmod 1777 "$rootfs/tmp"
  cp "$bb" "$rootfs/bin/busybox"
  chmod 0755 "$rootfs/bin/busybox"
  ln -s busybox "$rootfs/bin/sh"
  ln -s busybox "$rootfs/bin/true"
  echo bench > "$rootfs/etc/hostname"
fi

# bundle DIR SPEC_ARGS... : config from `cove spec`, args /bin/true, no tty,
# absolute root.path (runc refuses a symlinked rootfs).
patch_config() { # FILE [ociVersion]
  python3 - "$1" "$rootfs" "${2:-}" <<'EOF'
import json, sys
f, rootfs, ver = sys.argv[1], sys.argv[2], sys.argv[3]
c = json.load(open(f))
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
c["root"]["path"] = rootfs
if ver:
    c["ociVersion"] = ver
json.dump(c, open(f, "w"), indent=2)
EOF
  chmod 0644 "$1"
}

as_user_argv() { user_argv=(setpriv --reuid="$user" --regid="$user" --init-groups); }
as_user() { setpriv --reuid="$user" --regid="$user" --init-groups "$@"; }

# Does the runtime need a private mount namespace? crun 1.8 refuses a hybrid
# cgroup host (v1 controllers + /sys/fs/cgroup/unified). It works in a
# private mount namespace with the unified hierarchy unmounted there. To keep
# the comparison fair, the whole hyperfine invocation of a mode (all
# runtimes) then runs inside one such namespace; the host's own mounts are
# never touched.
privns=0
if [ "$have_crun" = 1 ] && mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    privns=1
    note "hybrid cgroup host: every mode runs inside 'unshare -m' with /sys/fs/cgroup/unified unmounted (for crun; same environment for all runtimes)"
  else
    note "crun skipped: hybrid cgroup host and not root (cannot unmount the unified hierarchy privately)"
    have_crun=0
  fi
fi
in_env() { # run "$@" in the benchmark environment
  if [ "$privns" = 1 ]; then
    unshare -m --propagation private -- sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh "$@"
  else
    "$@"
  fi
}

hf_version=$(hyperfine --version)
vers_json=$workdir/versions.json
{
  echo "{"
  echo "  \"kernel\": \"$(uname -r)\","
  echo "  \"cpus\": $(nproc),"
  echo "  \"hyperfine\": \"$hf_version\","
  echo "  \"cove\": \"$("$cove" --version 2>&1 | head -1)\","
  echo "  \"bwrap\": \"$(bwrap --version 2>&1 | head -1)\","
  echo "  \"runc\": \"$( [ "$have_runc" = 1 ] && runc --version | head -1 || echo none)\","
  echo "  \"crun\": \"$( [ "$have_crun" = 1 ] && crun --version | head -1 || echo none)\""
  echo "}"
} > "$vers_json"

# run_mode MODE: set up bundles + state roots, preflight, hyperfine.
run_mode() {
  local mode=$1 d=$workdir/$1 run=()
  rm -rf "$d"
  mkdir -p "$d/cove-bundle" "$d/state/cove" "$d/state/runc" "$d/state/crun"
  if [ "$mode" = rootless ]; then
    chown -R "$user" "$d"
    as_user_argv; run=("${user_argv[@]}")
    # rootless spec maps the caller's uid: generate it as the user
    as_user "$cove" spec --rootless --bundle "$d/cove-bundle"
  else
    "$cove" spec --bundle "$d/cove-bundle"
  fi
  patch_config "$d/cove-bundle/config.json"
  local runc_bundle=$d/cove-bundle crun_bundle=

  if [ "$have_crun" = 1 ]; then
    # crun 1.8.1 rejects ociVersion "1.3.0" ("unknown version specified");
    # identical config otherwise.
    crun_bundle=$d/crun-bundle
    mkdir -p "$crun_bundle"
    cp "$d/cove-bundle/config.json" "$crun_bundle/config.json"
    patch_config "$crun_bundle/config.json" 1.0.2
    [ "$mode" = rootless ] && chown -R "$user" "$crun_bundle"
  fi

  local ns="--unshare-pid --unshare-net --unshare-ipc --unshare-uts --unshare-cgroup"
  [ "$mode" = rootless ] && ns="--unshare-user $ns"
  local bwrap_cmd="bwrap $ns --die-with-parent --ro-bind $rootfs / --proc /proc --dev /dev --tmpfs /tmp /bin/true"
  # hyperfine runs every command through `sh -c` (and subtracts the measured
  # shell start-up); $$ (the shell's pid) gives a unique container id per
  # run; `run` deletes the container when it exits.
  local cove_cmd="$cove --root $d/state/cove run --bundle $d/cove-bundle cove-\$\$"
  local runc_cmd="runc --root $d/state/runc run --bundle $runc_bundle runc-\$\$"
  local crun_cmd="crun --root $d/state/crun run --bundle $crun_bundle crun-\$\$"

  # Preflight: each command once, with its errors visible.
  local pre=(cove "$cove_cmd" bwrap "$bwrap_cmd")
  local i
  if [ "$have_crun" = 1 ]; then pre+=(crun "$crun_cmd"); fi
  if [ "$have_runc" = 1 ]; then
    if ! in_env ${run[@]+"${run[@]}"} sh -c "$runc_cmd" 2>"$d/runc-pre.err"; then
      cat "$d/runc-pre.err" >&2
      [ "$mode" = rootless ] || die "runc ($mode) failed with cove's config"
      runc_bundle=$d/runc-bundle
      mkdir -p "$runc_bundle"; chown "$user" "$runc_bundle"
      (cd "$runc_bundle" && as_user runc spec --rootless)
      patch_config "$runc_bundle/config.json"
      note "runc ($mode) refused cove's config; using 'runc spec --rootless'"
      runc_cmd="runc --root $d/state/runc run --bundle $runc_bundle runc-\$\$"
    fi
    pre+=(runc "$runc_cmd")
  fi
  for ((i = 0; i < ${#pre[@]}; i += 2)); do
    in_env ${run[@]+"${run[@]}"} sh -c "${pre[i+1]}" || die "${pre[i]} ($mode) preflight failed: ${pre[i+1]}"
  done

  local hf=(hyperfine --style basic --warmup "$warmup" --runs "$runs"
    --export-json "$d/hyperfine.json")
  for ((i = 0; i < ${#pre[@]}; i += 2)); do
    hf+=(--command-name "${pre[i]}" "${pre[i+1]}")
  done
  echo >&2
  echo "bench: === $mode ===" >&2
  if [ "$mode" = rootless ]; then
    in_env "${run[@]}" env -i PATH="$PATH" HOME="$(getent passwd "$user" | cut -d: -f6)" \
      USER="$user" LANG=C "${hf[@]}" >&2
  else
    in_env "${hf[@]}" >&2
  fi
  printf '%s\n' "$cove_cmd" "$bwrap_cmd" "$runc_cmd" "$crun_cmd" > "$d/commands.txt"
}

modes=()
[ "$want_root" = 1 ] && modes+=(root)
[ "$want_rootless" = 1 ] && modes+=(rootless)
[ ${#modes[@]} -gt 0 ] || die "nothing to do"
for m in "${modes[@]}"; do run_mode "$m"; done

mkdir -p "$workdir/results"
notes_file=$workdir/notes.txt
printf '%s\n' "${notes[@]+"${notes[@]}"}" > "$notes_file"
python3 - "$workdir" "$runs" "$warmup" "$vers_json" "$notes_file" "${modes[@]}" <<'EOF'
import json, os, sys
wd, runs, warmup, vers, notes_file = sys.argv[1:6]
modes = sys.argv[6:]
out = {"runs": int(runs), "warmup": int(warmup),
       "versions": json.load(open(vers)),
       "notes": [l for l in open(notes_file).read().splitlines() if l],
       "modes": {}}
ms = lambda s: s * 1000.0
for mode in modes:
    hf = json.load(open(os.path.join(wd, mode, "hyperfine.json")))
    res = {r["command"]: r for r in hf["results"]}
    print(f"\n{mode}  ({runs} runs, {warmup} warmup; ms, shell start-up subtracted by hyperfine)")
    print(f"  {'runtime':<8} {'median':>8} {'mean ± stddev':>18} {'min':>8} {'max':>8}")
    entry = {"results": {}, "ratios": {}}
    for name in ("cove", "bwrap", "crun", "runc"):
        r = res.get(name)
        if not r:
            continue
        print(f"  {name:<8} {ms(r['median']):8.2f} {ms(r['mean']):9.2f} ± {ms(r['stddev']):6.2f}"
              f" {ms(r['min']):8.2f} {ms(r['max']):8.2f}")
        entry["results"][name] = {k: ms(r[k]) for k in ("median", "mean", "stddev", "min", "max")}
    med = lambda n: res[n]["median"]
    ratios = []
    if "bwrap" in res:
        ratios.append(("cove/bwrap", med("cove") / med("bwrap"), "target <= 1.3"))
    if "crun" in res:
        ratios.append(("crun/cove", med("crun") / med("cove"), "target > 1"))
    if "runc" in res:
        ratios.append(("runc/cove", med("runc") / med("cove"), "target >= 4"))
    for n, v, t in ratios:
        print(f"  {n:<11} {v:6.2f}x   (medians; {t})")
        entry["ratios"][n] = round(v, 3)
    out["modes"][mode] = entry
for n in out["notes"]:
    print("note:", n)
path = os.path.join(wd, "results", "latest.json")
json.dump(out, open(path, "w"), indent=2)
print(f"\nresults: {path}")
print(f"raw hyperfine exports: {', '.join(os.path.join(wd, m, 'hyperfine.json') for m in modes)}")
EOF
