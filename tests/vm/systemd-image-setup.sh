#!/bin/sh
# mmdebstrap --customize-hook for the systemd test guest
# (tests/vm/systemd-image.sh): configures the root in $1. Runs on the build
# host; commands that need the guest's own tools run under chroot.
set -eu
R=$1

echo cove-sd >"$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 cove-sd\n::1 localhost\n' >"$R/etc/hosts"
# the root file system and the shares are mounted by the initramfs
: >"$R/etc/fstab"
chroot "$R" passwd -d root >/dev/null

# The logged-in test user: uid 1000 like on the host, sub-ids for rootless
# podman, lingering so user@1000.service (and its D-Bus) runs from boot.
chroot "$R" useradd -m -u 1000 -U -s /bin/bash covetest
grep -q '^covetest:' "$R/etc/subuid" || echo covetest:100000:65536 >>"$R/etc/subuid"
grep -q '^covetest:' "$R/etc/subgid" || echo covetest:100000:65536 >>"$R/etc/subgid"
mkdir -p "$R/var/lib/systemd/linger"
: >"$R/var/lib/systemd/linger/covetest"

# A quiet, quick boot: no consoles to log in on, no periodic jobs, a journal
# in memory.
for u in serial-getty@ttyS0.service getty@tty1.service console-getty.service \
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
    fstrim.timer dpkg-db-backup.timer podman-auto-update.timer podman-restart.service \
    systemd-timesyncd.service systemd-networkd-wait-online.service; do
  ln -sf /dev/null "$R/etc/systemd/system/$u"
done
mkdir -p "$R/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nForwardToConsole=no\n' >"$R/etc/systemd/journald.conf.d/cove.conf"
ln -sf /lib/systemd/system/multi-user.target "$R/etc/systemd/system/default.target"
# containerd only for its test case, which starts it: not on every boot
rm -f "$R/etc/systemd/system/multi-user.target.wants/containerd.service"

# The test command: the unit runs /.vm/xfer/cmd.sh (written by
# run-in-vm.sh) once the system is up, leaves its output and status on the
# xfer share and powers off.
cat >"$R/usr/local/sbin/cove-vm-run" <<'RUN'
#!/bin/bash
x=/.vm/xfer
read -r up _ </proc/uptime
# run-in-vm.sh's boot watchdog waits for this line
echo "cove-vm: systemd reached [$up]" >/dev/console
echo "$up" >"$x/boot"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 TERM=dumb
export COVE_VM=1 COVE_VM_SYSTEMD=1 COVE_VM_USER=covetest COVE_VM_UID=1000
bash "$x/cmd.sh" </dev/null >"$x/output" 2>&1
echo $? >"$x/status.tmp"
systemd-analyze time >"$x/boot-analyze" 2>&1
mv "$x/status.tmp" "$x/status"
sync
echo "cove-vm: done, powering off" >/dev/console
systemctl poweroff --force --force
RUN
chmod 0755 "$R/usr/local/sbin/cove-vm-run"
cat >"$R/etc/systemd/system/cove-vm-test.service" <<'UNIT'
[Unit]
Description=cove VM test command (/.vm/xfer/cmd.sh)
After=multi-user.target
ConditionPathExists=/.vm/xfer/cmd.sh

[Service]
# not oneshot: the boot is finished when the command starts
Type=exec
ExecStart=/usr/local/sbin/cove-vm-run
StandardOutput=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/cove-vm-test.service \
  "$R/etc/systemd/system/multi-user.target.wants/cove-vm-test.service"
