#!/usr/bin/env bash
# linux.seccomp: the filter is installed (Seccomp: 2, one filter), an
# ERRNO rule returns its errnoRet, and a rule blocking a syscall cove itself
# uses (getcwd) does not break cove's setup.
# no -e: common.sh (which sets -uo pipefail) counts failed assertions and
# its helpers must see failing commands without the script stopping.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib-security.sh"

B=$T/bundle
secbundle "$B"

GETCWD_38='.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  syscalls: [{names: ["getcwd"], action: "SCMP_ACT_ERRNO", errnoRet: 38}]}'

# --- status fields ---------------------------------------------------------
cfg "$B" "$GETCWD_38"
cfg "$B" '.process.cwd = "/tmp"'
run_in "$B" grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs):' /proc/self/status
assert_eq 0 "$RC" "seccomp: exit status (stderr: $ERR)"
assert_eq 2 "$(capline Seccomp)" "Seccomp mode"
assert_eq 1 "$(capline Seccomp_filters)" "Seccomp_filters"

# --- the rule acts, other syscalls do not ------------------------------------
run_in "$B" syscall_probe getcwd getpid uname
assert_eq 0 "$RC" "syscall_probe: exit status (stderr: $ERR)"
assert_eq "getcwd errno=38
getpid ok
uname ok" "$OUT" "syscall results under a getcwd ERRNO(38) rule"
# the same probe without the filter: getcwd works (the probe can tell)
cfg "$B" 'del(.linux.seccomp)'
run_in "$B" syscall_probe getcwd
assert_eq "getcwd ok" "$OUT" "getcwd without seccomp (stderr: $ERR)"
run_in "$B" grep -E '^Seccomp:' /proc/self/status
assert_eq 0 "$(capline Seccomp)" "Seccomp mode without linux.seccomp"

# --- create/start split: the filter applies after start ------------------------
cfg "$B" "$GETCWD_38"
set_args "$B" sh -c 'syscall_probe getcwd chdir; grep ^Seccomp: /proc/self/status'
newid
capture cv create --bundle "$B" "$ID"
assert_eq 0 "$RC" "create with a getcwd-blocking filter (stderr: $ERR)"
assert_ok cv start "$ID"
sleep 0.3
capture cv delete --force "$ID"

# --- noNewPrivileges false: the filter still loads (default caps lack
# CAP_SYS_ADMIN, so it must be loaded before they are dropped) ------------------
cfg "$B" '.process.noNewPrivileges = false'
run_in "$B" sh -c 'syscall_probe getcwd; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status'
assert_eq 0 "$RC" "seccomp with noNewPrivileges false and no CAP_SYS_ADMIN: exit status (stderr: $ERR)"
assert_contains "$OUT" "getcwd errno=38" "getcwd rule with noNewPrivileges false"
assert_eq 0 "$(capline NoNewPrivs)" "NoNewPrivs with noNewPrivileges false"
assert_eq 2 "$(capline Seccomp)" "Seccomp mode with noNewPrivileges false"

# --- default action ERRNO with an allow list that lacks getcwd -------------------
cfg "$B" '.process.noNewPrivileges = true'
# allow list: what a static probe needs (execve, exit, write, brk, arch_prctl, ...)
cfg "$B" '.linux.seccomp = {defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1, architectures: ["SCMP_ARCH_X86_64"],
  syscalls: [{names: ["execve","exit","exit_group","write","writev","brk","arch_prctl","set_tid_address","set_robust_list",
    "rseq","prlimit64","readlinkat","readlink","mprotect","uname","getpid","fstat","newfstatat","ioctl","mmap","munmap",
    "getrandom","futex","rt_sigprocmask","rt_sigaction"], action: "SCMP_ACT_ALLOW"}]}'
run_in "$B" syscall_probe getcwd getpid
assert_eq 0 "$RC" "allow-list filter: exit status (stderr: $ERR)"
assert_eq "getcwd errno=1
getpid ok" "$OUT" "allow-list filter with defaultErrnoRet 1"
