#!/usr/bin/env bash
# Run a command as root inside a throwaway qemu VM that boots Debian's kernel
# with pure cgroup v2 (cgroup_no_v1=all), and return its output and exit
# status. See tests/vm/README.md.
#
#   run-in-vm.sh [options] -- COMMAND [ARG...]
#
# Options:
#   --kernel PATH     kernel image (default: newest /boot/vmlinuz-*, whose
#                     modules must be in /lib/modules/<version>)
#   --timeout SECS    kill the VM after SECS seconds (default 300)
#   --boot-timeout SECS  fail when the guest's init has not started after
#                     SECS seconds (default $COVE_VM_BOOT_TIMEOUT or 60)
#   --accel tcg|kvm   accelerator (default $COVE_VM_ACCEL or tcg). kvm is
#                     probed: a KVM boot that fails or does not reach the
#                     guest's init within $COVE_VM_KVM_PROBE (default 10)
#                     seconds falls back to tcg, with a message
#   --share DIR       share DIR read-write at the same path in the guest
#                     (repeatable; default: the repository holding this script)
#   --env NAME=VALUE  set a variable for COMMAND (repeatable; the caller's
#                     COVE_*, CTEST_* and [AUL]SAN_OPTIONS are passed on too)
#   --cwd DIR         directory to run COMMAND in (default: the current one
#                     when it is inside a share, else the first share)
#   --mem MB          guest memory (default 1024)   --smp N  CPUs (default 2)
#   --no-pvh          boot the bzImage instead of the uncompressed vmlinux
#   --cache DIR       cache for vmlinux/initramfs (default $COVE_VM_CACHE or
#                     ${XDG_CACHE_HOME:-~/.cache}/cove-vm)
#   --console FILE    keep the guest's serial console log in FILE
#   --append ARGS     more kernel command line (e.g. loglevel=7 for debugging)
#   --verbose         print timings and the console log to stderr
#   --systemd         boot the systemd guest instead (Debian 12 disk image
#                     from tests/vm/systemd-image.sh, built once and cached;
#                     COMMAND runs from a systemd unit): see the README
#   --image PATH      the same with this ext4 image
#
# Exit status: COMMAND's; 124 on timeout; 125 when the VM could not run it
# (including a guest that never reached its init); 77 with --systemd when
# the image cannot be built on this machine.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prog="run-in-vm.sh"
die() { echo "$prog: $*" >&2; exit 125; }
log() { if [ "$verbose" = 1 ]; then echo "$prog: $*" >&2; fi; }

kernel=""
timeout_s=300
boot_limit=${COVE_VM_BOOT_TIMEOUT:-}
accel_req=${COVE_VM_ACCEL:-tcg}
kvm_probe=${COVE_VM_KVM_PROBE:-10}
shares=()
envs=()
cwd=""
mem=""
disk=""
sysd=0
smp=2
pvh=1
cache=${COVE_VM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/cove-vm}
console=""
extra_append=""
verbose=0

while [ $# -gt 0 ]; do
  case $1 in
    --kernel) kernel=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --boot-timeout) boot_limit=$2; shift 2 ;;
    --accel) accel_req=$2; shift 2 ;;
    --share) shares+=("$2"); shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --cwd) cwd=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --no-pvh) pvh=0; shift ;;
    --cache) cache=$2; shift 2 ;;
    --console) console=$2; shift 2 ;;
    --append) extra_append=$2; shift 2 ;;
    --verbose|-v) verbose=1; shift ;;
    --systemd) sysd=1; shift ;;
    --image) sysd=1; disk=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (use -- before the command)" ;;
  esac
done
# The systemd guest boots a whole Debian (about 26 s to multi-user under
# TCG on an idle machine, several times that on a loaded one) and runs
# podman: more time to boot and more memory.
if [ $sysd = 1 ]; then
  boot_limit=${boot_limit:-${COVE_VM_SYSTEMD_BOOT_TIMEOUT:-300}}
  mem=${mem:-1536}
else
  boot_limit=${boot_limit:-60}
  mem=${mem:-1024}
fi
for n in "$timeout_s" "$boot_limit" "$kvm_probe"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "timeouts are whole seconds > 0, not '$n'"
done
[ $# -gt 0 ] || die "no command given (usage: $prog [options] -- COMMAND...)"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs() { local d=$(( $(now_ms) - $1 )); printf '%d.%03d' $((d / 1000)) $((d % 1000)); }
t_start=$(now_ms)

# The systemd guest is an optional extra (ctest -L systemd): a machine
# without its tools skips it (77) rather than failing.
need() { if [ $sysd = 1 ]; then echo "$prog: SKIP: $*" >&2; exit 77; fi; die "$@"; }
command -v qemu-system-x86_64 >/dev/null || need "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
busybox=""
for b in /bin/busybox /usr/bin/busybox; do
  # the initramfs has no libc: a dynamically linked busybox would not run
  [ -x "$b" ] || continue
  if command -v readelf >/dev/null && LC_ALL=C readelf -l "$b" 2>/dev/null | grep -q INTERP; then continue; fi
  busybox=$b; break
done
[ -n "$busybox" ] || need "static busybox not found (apt-get install busybox-static)"
command -v cpio >/dev/null || need "cpio not found (apt-get install cpio)"
if [ $sysd = 1 ] && [ -z "$disk" ]; then
  set +e
  disk=$(COVE_VM_IMAGE_CACHE=${COVE_VM_IMAGE_CACHE:-} "$here/systemd-image.sh")
  irc=$?
  set -e
  [ $irc = 77 ] && exit 77
  [ $irc = 0 ] || die "building the systemd guest image failed (status $irc)"
fi
[ $sysd = 0 ] || [ -r "$disk" ] || die "cannot read the disk image '$disk'"

# ---- kernel ---------------------------------------------------------------
if [ -z "$kernel" ]; then
  kernel=$(printf '%s\n' /boot/vmlinuz-* | grep -v '\*' | sort -V | tail -n1 || true)
  [ -n "$kernel" ] || die "no /boot/vmlinuz-* (apt-get install linux-image-amd64)"
fi
[ -r "$kernel" ] || die "cannot read kernel $kernel"
kver=$(basename "$kernel"); kver=${kver#vmlinuz-}
moddir=/lib/modules/$kver
[ -d "$moddir" ] || die "no modules for $kver in $moddir"

mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9   # one builder at a time; ctest -j may start several VMs

# extract_vmlinux BZIMAGE OUT: find a compressed payload that decompresses to
# an ELF file (what the kernel's scripts/extract-vmlinux does).
extract_vmlinux() {
  local img=$1 out=$2 tmp=$2.tmp magic tool off
  local -a tries=(
    '\x1f\x8b\x08|gzip -dc'
    '\xfd7zXZ\x00|xz -dc'
    '\x28\xb5\x2f\xfd|zstd -dcq'
    'BZh|bzip2 -dc'
    '\x5d\x00\x00\x00|xz -dc --format=lzma'
    '\x89LZO|lzop -dc'
    '\x02\x21\x4c\x18|lz4 -dc'
  )
  for t in "${tries[@]}"; do
    magic=${t%%|*}; tool=${t#*|}
    command -v "${tool%% *}" >/dev/null || continue
    for off in $(LC_ALL=C grep -obUaP "$magic" "$img" 2>/dev/null | cut -d: -f1 | head -n 8); do
      tail -c +"$((off + 1))" "$img" | $tool >"$tmp" 2>/dev/null || true
      if [ "$(head -c 4 "$tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
        mv "$tmp" "$out"; return 0
      fi
    done
  done
  rm -f "$tmp"
  return 1
}

kid=$(stat -Lc '%s-%Y' "$kernel")
vmlinux=$cache/vmlinux-$kver-$kid
if [ "$pvh" = 1 ] && [ ! -f "$vmlinux" ] && [ ! -f "$vmlinux.bad" ]; then
  log "extracting $vmlinux"
  extract_vmlinux "$kernel" "$vmlinux" || { log "cannot extract vmlinux, using bzImage"; : >"$vmlinux.bad"; }
fi
[ -f "$vmlinux.bad" ] && pvh=0

# ---- initramfs ------------------------------------------------------------
# Module load order: busybox insmod does not resolve dependencies.
modules=(virtio_pci_legacy_dev virtio_pci_modern_dev virtio_ring virtio virtio_pci
         9pnet 9pnet_virtio netfs fscache 9p)
# and for the systemd guest's ext4 root disk (loaded only there)
image_modules=(crc16 mbcache jbd2 crc32c_generic ext4 virtio_blk)
cfg=$(grep -s -E '^CONFIG_(VIRTIO_PCI|NET_9P_VIRTIO|9P_FS)=' "/boot/config-$kver" || true)
modfiles=()
findargs=()
for m in "${modules[@]}" "${image_modules[@]}"; do findargs+=(-o -name "$m.ko" -o -name "$m.ko.*"); done
mapfile -t found < <(find "$moddir/kernel" \( "${findargs[@]:1}" \) -type f)
modorder=() # "order" or "order-image" per entry of modfiles
for m in "${modules[@]}" "${image_modules[@]}"; do
  f=""
  for c in "${found[@]}"; do
    case ${c##*/} in "$m.ko"|"$m.ko."*) f=$c; break ;; esac
  done
  if [ -z "$f" ]; then
    # built in (or not needed by this kernel)
    log "module $m not found in $moddir, assuming built in"
    continue
  fi
  modfiles+=("$f")
  case " ${image_modules[*]} " in *" $m "*) modorder+=(order-image) ;; *) modorder+=(order) ;; esac
done
key=$( { echo "$kver"; cat "$here/init"; sha256sum "$busybox";
         for f in "${modfiles[@]}"; do stat -Lc '%n %s %Y' "$f"; done; echo "$cfg"; } | sha256sum | cut -c1-16)
initrd=$cache/initramfs-$kver-$key.cpio
if [ ! -f "$initrd" ]; then
  log "building $initrd"
  stage=$(mktemp -d "$cache/stage.XXXXXX")
  mkdir -p "$stage"/{bin,modules,proc,sys,dev,newroot}
  cp "$busybox" "$stage/bin/busybox"
  ln -s busybox "$stage/bin/sh"
  install -m 0755 "$here/init" "$stage/init"
  : >"$stage/modules/order"
  : >"$stage/modules/order-image"
  for i in "${!modfiles[@]}"; do
    f=${modfiles[i]}
    n=$(basename "$f"); n=${n%%.ko*}
    case $f in
      *.xz) xz -dc "$f" >"$stage/modules/$n.ko" ;;
      *.zst) zstd -dcq "$f" >"$stage/modules/$n.ko" ;;
      *.gz) gzip -dc "$f" >"$stage/modules/$n.ko" ;;
      *) cp "$f" "$stage/modules/$n.ko" ;;
    esac
    echo "$n" >>"$stage/modules/${modorder[i]}"
  done
  (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$initrd.tmp"
  mv "$initrd.tmp" "$initrd"
  rm -rf "$stage"
  # old builds of the same kernel
  for old in "$cache"/initramfs-"$kver"-*.cpio; do [ "$old" = "$initrd" ] || rm -f "$old"; done
fi
flock -u 9

# ---- shares and the command -----------------------------------------------
if [ ${#shares[@]} -eq 0 ]; then
  shares=("$(cd "$here/../.." && pwd)")
fi
# absolute, existing, and not nested in another share
norm=()
for s in "${shares[@]}"; do
  [ -d "$s" ] || die "share $s is not a directory"
  norm+=("$(cd "$s" && pwd -P)")
done
mapfile -t norm < <(printf '%s\n' "${norm[@]}" | LC_ALL=C sort -u)
final=()
for s in "${norm[@]}"; do
  nested=0
  for o in "${norm[@]}"; do
    [ "$o" != "$s" ] && [ "$o" != / ] && case $s/ in "$o"/*) nested=1 ;; esac
  done
  [ "$s" = / ] && die "cannot share / read-write"
  case $s in /usr|/usr/*|/etc|/etc/*|/proc*|/sys*|/dev*) die "cannot share $s" ;; esac
  [ $nested = 1 ] || final+=("$s")
done

if [ -z "$cwd" ]; then
  cwd=$(pwd -P)
  inside=0
  for s in "${final[@]}"; do case $cwd/ in "$s"/*) inside=1 ;; esac; done
  [ $inside = 1 ] || cwd=${final[0]}
fi

run=$(mktemp -d "${TMPDIR:-/tmp}/cove-vm.XXXXXX")
chmod 0755 "$run"
# shellcheck disable=SC2317  # called by trap
cleanup() {
  if [ -n "${qpid:-}" ]; then kill "$qpid" 2>/dev/null || true; fi
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fsargs=()
ntag=0
addfs() { # addfs TAG PATH ro|rw
  local ro=""
  [ "$3" = ro ] && ro=,readonly=on
  fsargs+=(-fsdev "local,id=fs$ntag,path=${2//,/,,},security_model=none,multidevs=remap$ro"
           -device "virtio-9p-pci,fsdev=fs$ntag,mount_tag=$1")
  ntag=$((ntag + 1))
}
addfs xfer "$run" rw
{
  if [ $sysd = 1 ]; then
    # The image has its own userland; the kernel's modules come from the
    # host (podman loads overlay, veth, netfilter...).
    addfs modules "$moddir" ro; echo "ro modules $moddir"
  else
  # The host's userland, read-only: /usr and /etc, plus /bin, /lib... as
  # symlinks (merged /usr) or as shares of their own.
  addfs usr /usr ro; echo "ro usr /usr"
  addfs etc /etc ro; echo "ro etc /etc"
  for d in bin sbin lib lib32 lib64 libx32; do
    if [ -L "/$d" ]; then
      echo "link /$d $(readlink "/$d")"
    elif [ -d "/$d" ]; then
      addfs "h$d" "/$d" ro; echo "ro h$d /$d"
    fi
  done
  fi
  i=0
  for s in "${final[@]}"; do
    addfs "share$i" "$s" rw; echo "rw share$i $s"
    i=$((i + 1))
  done
} >"$run/vm.conf"

{
  echo "# generated by run-in-vm.sh"
  for v in $(compgen -e); do
    case $v in COVE_VM|COVE_VM_*) ;; COVE_*|CTEST_*|ASAN_OPTIONS|UBSAN_OPTIONS|LSAN_OPTIONS) printf 'export %s=%q\n' "$v" "${!v}" ;; esac
  done
  for e in ${envs[@]+"${envs[@]}"}; do
    [[ $e == *=* ]] || die "--env wants NAME=VALUE, not '$e'"
    printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"
  done
  printf 'cd %q || exit 125\n' "$cwd"
  printf 'exec'; printf ' %q' "$@"; printf '\n'
} >"$run/cmd.sh"

# ---- boot -----------------------------------------------------------------
# TCG unless KVM is asked for: a /dev/kvm that opens proves nothing (nested
# KVM can kill the guest at once with "KVM internal error ... emulation
# failure"), so a KVM boot must reach the guest's init within $kvm_probe s or
# the run falls back to TCG.
case $accel_req in
  tcg|kvm) ;;
  *) die "unknown accelerator '$accel_req' (COVE_VM_ACCEL / --accel: tcg or kvm)" ;;
esac
if [ "$accel_req" = kvm ] && ! { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
  echo "$prog: KVM asked for but /dev/kvm is not usable; using TCG" >&2
  accel_req=tcg
fi
append="console=ttyS0 cgroup_no_v1=all nokaslr panic=-1 oops=panic loglevel=4 mitigations=off i8042.noaux i8042.nomux i8042.nopnp"
# the systemd guest: init's stage 1 mounts the disk and hands over to systemd
[ $sysd = 1 ] && append="$append cove.image=1 systemd.show_status=0"
[ -n "$extra_append" ] && append="$append $extra_append"
serial=$run/console.log
# The guest's init writes this as its first console line (tests/vm/init);
# in the systemd guest the test unit does once systemd has started it.
init_marker='cove-vm: init reached'
[ $sysd = 1 ] && init_marker='cove-vm: systemd reached'
diskargs=()
# snapshot=on: the guest writes to a throwaway overlay, the cached image
# stays as built
[ $sysd = 1 ] && diskargs=(-drive "file=$disk,format=raw,if=virtio,snapshot=on")
reached_init() { grep -q "$init_marker" "$serial" 2>/dev/null; }
deadline=$(( $(date +%s) + timeout_s ))

# Guest kernel symbols for the timeout report: the guest boots with nokaslr,
# so the first run with an empty cache has its init copy /proc/kallsyms to
# the xfer share (no extra boot).
kallsyms=$cache/kallsyms-$kver-$kid
[ -s "$kallsyms" ] || : >"$run/want-kallsyms"

# dump_cpus: each vCPU's instruction pointer, from the qemu monitor.
dump_cpus() {
  command -v python3 >/dev/null || { echo "(no python3: no vCPU dump)"; return 0; }
  python3 - "$run/monitor.sock" <<'PY'
import re, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1]); s.settimeout(2)
s.sendall(b"info registers -a\n")
time.sleep(1.5)
data = b""
try:
    while True:
        d = s.recv(1 << 16)
        if not d:
            break
        data += d
except OSError:
    pass
for rip in re.findall(rb"RIP=([0-9a-f]{16})", data):
    print(rip.decode())
PY
}

# symbolize: "vCPU N: RIP ADDR symbol+off" for the RIPs in cpus.txt, with the
# cached guest /proc/kallsyms when there is one (Debian's System.map is a
# stub), else bare addresses.
symbolize() {
  python3 - "$run/cpus.txt" "$kallsyms" <<'PY'
import bisect, sys
syms = []
try:
    for line in open(sys.argv[2]):
        f = line.split()
        if len(f) >= 3:
            syms.append((int(f[0], 16), f[2]))
except (OSError, ValueError):
    pass
syms.sort()
addrs = [a for a, _ in syms]
for cpu, line in enumerate(open(sys.argv[1])):
    r = int(line.strip(), 16)
    i = bisect.bisect_right(addrs, r) - 1
    where = "%s+0x%x" % (syms[i][1], r - addrs[i]) if i >= 0 else "?"
    print("vCPU %d: RIP %016x %s" % (cpu, r, where))
PY
}

# boot IMAGE ACCEL BOOT_LIMIT: run the VM; the guest must print the init
# marker within BOOT_LIMIT seconds and the command's status must be back by
# the run's deadline. Sets qrc (qemu's exit status, 124 at the deadline) and
# leaves $run/noinit when the boot watchdog stopped the VM.
boot() {
  local cpu=max
  [ "$2" = kvm ] && cpu=host
  qemu_args=(-machine q35 -accel "$2" -cpu "$cpu" -m "$mem" -smp "$smp"
    -nodefaults -no-user-config -display none -no-reboot
    -serial "file:$serial" -kernel "$1" -initrd "$initrd" -append "$append"
    "${fsargs[@]}" ${diskargs[@]+"${diskargs[@]}"})
  log "qemu-system-x86_64 ${qemu_args[*]}"
  local t0 now; t0=$(now_ms); now=$(date +%s)
  [ "$now" -lt "$deadline" ] || { qrc=124; : >"$run/timedout"; return; }
  set +e
  rm -f "$run/timedout" "$run/nopoweroff" "$run/noinit" "$run/init-error" "$serial"
  timeout -k 5 "$((deadline - now + 30))" qemu-system-x86_64 "${qemu_args[@]}" \
    -monitor "unix:$run/monitor.sock,server=on,wait=off" </dev/null >"$run/qemu.out" 2>&1 &
  qpid=$!
  # watchdog: no init marker within the boot limit stops the VM at once
  # (a guest that cannot boot must not cost the whole timeout); once the
  # command's status is back, qemu gets 3 s to power off (a guest stuck in
  # poweroff must not either); at the deadline, record where the vCPUs are
  # and stop qemu.
  ( boot_end=$(( $(date +%s) + $3 )) booted=0
    while [ "$(date +%s)" -lt "$deadline" ]; do
      if [ -f "$run/status" ]; then
        sleep 3; : >"$run/nopoweroff"; pkill -TERM -P "$qpid" 2>/dev/null; exit 0
      fi
      if [ $booted = 0 ]; then
        if reached_init; then
          booted=1
        elif [ "$(date +%s)" -ge "$boot_end" ]; then
          : >"$run/noinit"; pkill -TERM -P "$qpid" 2>/dev/null; exit 0
        fi
      fi
      sleep 0.2
    done
    : >"$run/timedout"; dump_cpus >"$run/cpus.txt" 2>&1
    pkill -TERM -P "$qpid" 2>/dev/null || true ) &
  wdpid=$!
  wait "$qpid"
  qrc=$?
  qpid=""
  kill "$wdpid" 2>/dev/null || true
  wait "$wdpid" 2>/dev/null || true
  [ -f "$run/timedout" ] && qrc=124
  if [ -f "$run/nopoweroff" ]; then echo "$prog: warning: the VM did not power off after the command; killed it" >&2; fi
  set -e
  log "$(basename "$1") boot ($2): qemu exit $qrc after $(secs "$t0") s"
}

image=$kernel
[ "$pvh" = 1 ] && image=$vmlinux
accel=$accel_req
limit=$boot_limit
[ "$accel" = kvm ] && limit=$kvm_probe
boot "$image" "$accel" "$limit"
if [ "$accel" = kvm ] && ! reached_init && [ "$qrc" != 124 ]; then
  why="did not reach the guest's init within $kvm_probe s"
  if grep -q 'KVM internal error' "$run/qemu.out" 2>/dev/null; then
    why="failed: $(grep -m1 'KVM internal error' "$run/qemu.out")"
  elif [ ! -f "$run/noinit" ]; then
    why="stopped before the guest's init (qemu exit $qrc: $(head -n 3 "$run/qemu.out" | tr '\n' ' '))"
  fi
  echo "$prog: the KVM boot $why; falling back to TCG" >&2
  accel=tcg
  boot "$image" tcg "$boot_limit"
fi
if [ "$pvh" = 1 ] && [ ! -f "$run/status" ] && [ "$qrc" != 124 ] && [ ! -f "$run/noinit" ] && ! reached_init; then
  # PVH boot did not reach init (qemu without PVH support, kernel without
  # the PVH note...): remember and use the bzImage.
  log "PVH boot failed (qemu: $(tr '\n' ' ' <"$run/qemu.out")), falling back to bzImage"
  : >"$vmlinux.bad"
  boot "$kernel" "$accel" "$boot_limit"
fi
if [ -s "$run/kallsyms" ] && [ ! -s "$kallsyms" ]; then
  mv "$run/kallsyms" "$kallsyms.tmp" && mv "$kallsyms.tmp" "$kallsyms"
fi

if [ -n "$console" ]; then cp "$serial" "$console"; fi
if [ $sysd = 1 ] && [ -s "$run/boot" ]; then
  # boot time (guest uptime when the test unit started) for the record
  echo "$prog: systemd guest: test unit started at $(cat "$run/boot") s of guest uptime;" \
    "$(head -n1 "$run/boot-analyze" 2>/dev/null)" >&2
fi
[ -f "$run/output" ] && cat "$run/output"

if [ -f "$run/status" ]; then
  rc=$(cat "$run/status")
  if [ "$verbose" = 1 ]; then
    echo "$prog: ---- console ----" >&2; cat "$serial" >&2
  fi
  log "total $(secs "$t_start") s, command exit $rc"
  exit "$rc"
fi

if [ -f "$run/noinit" ]; then
  echo "$prog: the guest did not reach its init within $boot_limit s ($accel); stopped it" >&2
  rc=125
elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
  echo "$prog: timed out after $timeout_s s" >&2
  rc=124
  if [ -s "$run/cpus.txt" ]; then symbolize | sed "s/^/$prog: /" >&2 || true; fi
else
  echo "$prog: the VM stopped without running the command (qemu exit $qrc)" >&2
  rc=125
fi
[ -s "$run/qemu.out" ] && sed 's/^/qemu: /' "$run/qemu.out" >&2
[ -f "$run/init-error" ] && sed 's/^/init: /' "$run/init-error" >&2
echo "$prog: ---- last 40 lines of the serial console ----" >&2
tail -n 40 "$serial" >&2 2>/dev/null || true
exit "$rc"
