/* The result record (`--json`, batch lines) and the resource statistics
 * that fill it. */
#include "agent.h"

#include "cove/cgroup.h"
#include "cove/jsongen.h"

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
    agent_audit(&c->audit, "limit", "kind", "memory", "action", "oom-kill",
                AUDIT_INT("count", (long long)cs.mem_oom_kill),
                AUDIT_INT_IF(cs.mem_limit != UINT64_MAX, "limit_bytes", (long long)cs.mem_limit), NULL);
  }
}

/* A count the host may not know: null then, never a made-up zero. */
static void kv_i(struct cove_gen *g, const char *k, long long v, bool known)
{
  cove_gen_key(g, k);
  if (known)
    cove_gen_int(g, v);
  else
    cove_gen_null(g);
}

int agent_result_write(FILE *f, struct agent_ctx *c)
{
  const struct agent_stats *s = &c->stats;
  struct cove_gen g;
  cove_err err = {0};
  if (cove_gen_init_line(&g, f, &err) < 0)
    return -1;
  cove_gen_map_open(&g);
  cove_gen_kv_text(&g, "id", c->id);
  cove_gen_kv_text(&g, "group", c->group);
  cove_gen_key(&g, "command");
  cove_gen_array_open(&g);
  for (char **a = c->o->argv; a && *a; a++)
    cove_gen_text(&g, *a);
  cove_gen_array_close(&g);
  const char *status = c->error[0] ? "error"
                       : c->timed_out ? "timeout"
                       : c->interrupted ? "interrupted"
                       : (c->exited && c->exit_code == 0) ? "ok" : "failed";
  cove_gen_kv_str(&g, "status", status);
  kv_i(&g, "exit_code", c->exit_code, c->exited);
  cove_gen_key(&g, "signal");
  if (!c->exited && c->term_signal > 0) {
    char sn[32];
    snprintf(sn, sizeof sn, "SIG%s", sigabbrev_np(c->term_signal) ? sigabbrev_np(c->term_signal) : "?");
    cove_gen_str(&g, sn);
  } else {
    cove_gen_null(&g);
  }
  kv_i(&g, "duration_ms", (c->end_ns - c->start_ns) / 1000000, c->start_ns > 0 && c->end_ns >= c->start_ns);
  cove_gen_kv_bool(&g, "timed_out", c->timed_out);
  cove_gen_key(&g, "oom_killed");
  if (s->oom_killed_known)
    cove_gen_bool(&g, s->oom_killed);
  else
    cove_gen_null(&g);
  kv_i(&g, "memory_peak_bytes", s->memory_peak, s->memory_peak >= 0);
  kv_i(&g, "cpu_usec", s->cpu_usec, s->cpu_usec >= 0);
  kv_i(&g, "pids_peak", s->pids_peak, s->pids_peak >= 0);
  cove_gen_kv_bool(&g, "limits_enforced", c->limits_enforced);
  kv_i(&g, "disk_limit_bytes", (int64_t)c->pol.disk, c->pol.disk > 0);
  cove_gen_kv_str(&g, "disk", c->disk_state ? c->disk_state : "none");
  cove_gen_key(&g, "denials");
  cove_gen_map_open(&g);
  cove_gen_kv_int(&g, "seccomp", c->notify.denials);
  cove_gen_kv_int(&g, "network", c->proxy_denied);
  cove_gen_kv_int(&g, "masked_paths", (long long)c->plan.n_masks);
  cove_gen_map_close(&g);
  cove_gen_kv_int(&g, "proxied_connections", c->proxy_allowed);
  /* the file actually written (canonical), or "relayed" to ours */
  cove_gen_kv_text(&g, "stdout", c->out[0].dirfd >= 0 ? c->out[0].path : "relayed");
  cove_gen_kv_text(&g, "stderr", c->out[1].dirfd >= 0 ? c->out[1].path : "relayed");
  cove_gen_kv_text(&g, "workspace", c->workspace);
  char audit[4300];
  snprintf(audit, sizeof audit, "%s/audit/groups/%s.jsonl", c->paths.state, c->group);
  cove_gen_kv_text(&g, "audit_log", audit);
  if (c->error[0])
    cove_gen_kv_text(&g, "error", c->error);
  cove_gen_map_close(&g);
  if (cove_gen_finish(&g, "result") < 0)
    return -1;
  fputc('\n', f);
  return fflush(f);
}
