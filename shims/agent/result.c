/* The result record (`--json`, batch lines) and the resource statistics
 * that fill it. */
#include "agent.h"

#include "cove/cgroup.h"
#include "cove/json.h"

#include <signal.h>
#include <string.h>

/* Reads the sandbox's cgroup before cove_container_destroy() removes it.
 * A field the host cannot account stays unknown (null in the record),
 * never a made-up zero; a run without a cgroup (allow_unlimited on a host
 * that cannot limit) has no statistics at all. An OOM kill goes to the
 * audit log here, where it is first known. */
void agent_stats_collect(struct agent_ctx *c, struct agent_stats *st)
{
  memset(st, 0, sizeof *st);
  st->memory_peak = -1;
  st->cpu_usec = -1;
  st->pids_peak = -1;
  char state[4300];
  snprintf(state, sizeof state, "%s/state", c->rundir);
  struct cove_container_stats cs;
  cove_err err = {0};
  if (cove_container_stats(state, c->id, &cs, &err) < 0)
    return;
  st->known = true;
  if (cs.has_memory) {
    st->oom_killed_known = true;
    st->oom_killed = cs.mem_oom_kill > 0;
    if (cs.mem_peak)
      st->memory_peak = (int64_t)cs.mem_peak;
  }
  if (cs.has_cpu)
    st->cpu_usec = (int64_t)cs.cpu_usage_usec;
  if (st->oom_killed) {
    char n[32], lim[32];
    agent_audit(&c->audit, "limit", "kind", "memory", "action", "oom-kill", "count", AUDIT_NUM(n, (long long)cs.mem_oom_kill),
                "limit_bytes", cs.mem_limit != UINT64_MAX ? AUDIT_NUM(lim, (long long)cs.mem_limit) : NULL, NULL);
  }
}

static void kv_i(FILE *f, const char *k, long long v, bool known)
{
  fprintf(f, ",\"%s\":", k);
  if (known)
    fprintf(f, "%lld", v);
  else
    fputs("null", f);
}

int agent_result_write(FILE *f, struct agent_ctx *c)
{
  const struct agent_stats *s = &c->stats;
  fputs("{\"id\":", f);
  cove_json_write_string(f, c->id);
  fputs(",\"group\":", f);
  cove_json_write_string(f, c->group);
  fputs(",\"command\":[", f);
  for (char **a = c->o->argv; a && *a; a++) {
    if (a != c->o->argv)
      fputc(',', f);
    cove_json_write_string(f, *a);
  }
  fputs("],\"status\":", f);
  const char *status = c->error[0] ? "error"
                       : c->timed_out ? "timeout"
                       : c->interrupted ? "interrupted"
                       : (c->exited && c->exit_code == 0) ? "ok" : "failed";
  cove_json_write_string(f, status);
  kv_i(f, "exit_code", c->exit_code, c->exited);
  fputs(",\"signal\":", f);
  if (!c->exited && c->term_signal > 0) {
    char sn[32];
    snprintf(sn, sizeof sn, "SIG%s", sigabbrev_np(c->term_signal) ? sigabbrev_np(c->term_signal) : "?");
    cove_json_write_string(f, sn);
  }
  else
    fputs("null", f);
  kv_i(f, "duration_ms", (c->end_ns - c->start_ns) / 1000000, c->start_ns > 0 && c->end_ns >= c->start_ns);
  fprintf(f, ",\"timed_out\":%s", c->timed_out ? "true" : "false");
  fputs(",\"oom_killed\":", f);
  fputs(s->oom_killed_known ? (s->oom_killed ? "true" : "false") : "null", f);
  kv_i(f, "memory_peak_bytes", s->memory_peak, s->memory_peak >= 0);
  kv_i(f, "cpu_usec", s->cpu_usec, s->cpu_usec >= 0);
  kv_i(f, "pids_peak", s->pids_peak, s->pids_peak >= 0);
  fprintf(f, ",\"limits_enforced\":%s", c->limits_enforced ? "true" : "false");
  kv_i(f, "disk_limit_bytes", (int64_t)c->pol.disk, c->pol.disk > 0);
  fprintf(f, ",\"disk\":\"%s\"", c->disk_state ? c->disk_state : "none");
  fprintf(f, ",\"denials\":{\"seccomp\":%u,\"network\":%u,\"masked_paths\":%zu}", c->notify.denials, c->proxy_denied,
          c->plan.n_masks);
  fprintf(f, ",\"proxied_connections\":%u", c->proxy_allowed);
  fputs(",\"stdout\":", f);
  /* the file actually written (canonical), or "relayed" to ours */
  cove_json_write_string(f, c->out[0].dirfd >= 0 ? c->out[0].path : "relayed");
  fputs(",\"stderr\":", f);
  cove_json_write_string(f, c->out[1].dirfd >= 0 ? c->out[1].path : "relayed");
  fputs(",\"workspace\":", f);
  cove_json_write_string(f, c->workspace);
  char audit[4300];
  snprintf(audit, sizeof audit, "%s/audit/groups/%s.jsonl", c->paths.state, c->group);
  fputs(",\"audit_log\":", f);
  cove_json_write_string(f, audit);
  if (c->error[0]) {
    fputs(",\"error\":", f);
    cove_json_write_string(f, c->error);
  }
  fputs("}\n", f);
  return fflush(f);
}
