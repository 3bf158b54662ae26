/* libFuzzer target, a PROPERTY check: the writers that put untrusted bytes
 * (agent argv, file names, error text, task output) into structured output
 * must always produce output that parses, whatever the bytes.
 *
 * The first byte picks the writer, the rest is the untrusted text:
 *   0 cove_json_write_string   (state.json, hooks' state, logs)
 *   1 agent_audit              (audit JSON lines)
 *   2 agent_result_write       (result records, batch lines)
 *   3 cove_gen_str (yajl_gen)  (generated documents)
 *   4 agent_xml_escape         (JUnit, whole text)
 *   5 agent_xml_escape         (JUnit, cut at a byte count like tail_into/names)
 * JSON: the output parses with yajl (which rejects invalid UTF-8) and a
 * valid UTF-8 input (up to its first NUL) comes back exactly. XML: no raw
 * '<', every '&' starts an entity, no character XML 1.0 forbids, valid
 * UTF-8. A failure is __builtin_trap(): libFuzzer saves the reproducer. */
#include "agent.h"
#include "cove/json.h"
#include "cove/jsongen.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF);
 * xml also refuses what XML 1.0 forbids: C0 controls but TAB LF CR, and
 * U+FFFE/U+FFFF. */
static bool utf8_ok(const unsigned char *s, size_t n, bool xml)
{
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    if (c < 0x80) {
      if (xml && c < 0x20 && c != '\t' && c != '\n' && c != '\r')
        return false;
      i++;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf)
      len = 2, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
      len = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
      len = 4, cp = c & 0x07, min = 0x10000;
    else
      return false;
    if (i + len > n)
      return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return false;
      cp = cp << 6 | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    if (xml && (cp == 0xfffe || cp == 0xffff))
      return false;
    i += len;
  }
  return true;
}

/* out must parse as a JSON object; returns it (caller frees). */
static yajl_val must_parse(const char *out)
{
  char ebuf[128];
  yajl_val v = yajl_tree_parse(out, ebuf, sizeof ebuf);
  if (!v || !YAJL_IS_OBJECT(v))
    __builtin_trap();
  return v;
}

/* The string at key must equal the input when the input was valid UTF-8. */
static void round_trip(yajl_val root, const char *key, const char *in)
{
  yajl_val v = cove_json_field(root, key);
  if (!v || !YAJL_IS_STRING(v))
    __builtin_trap();
  if (utf8_ok((const unsigned char *)in, strlen(in), false) && strcmp(v->u.string, in) != 0)
    __builtin_trap();
}

static void json_string(const char *in)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return;
  fputs("{\"v\":", f);
  cove_json_write_string(f, in);
  fputs("}", f);
  fclose(f);
  yajl_val v = must_parse(buf);
  round_trip(v, "v", in);
  yajl_tree_free(v);
  free(buf);
}

static void audit_line(const char *in)
{
  static int fd = -1;
  if (fd < 0 && (fd = memfd_create("audit", MFD_CLOEXEC)) < 0)
    return;
  if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
    return;
  struct agent_audit a = {.global_fd = fd, .group_fd = -1};
  snprintf(a.run_id, sizeof a.run_id, "run");
  snprintf(a.group, sizeof a.group, "default");
  agent_audit(&a, "exec", "detail", in, "path", in, NULL);
  off_t n = lseek(fd, 0, SEEK_CUR);
  if (n <= 0)
    __builtin_trap();
  char *line = malloc((size_t)n + 1);
  if (!line)
    return;
  if (pread(fd, line, (size_t)n, 0) != n)
    __builtin_trap();
  line[n] = 0;
  /* one line per event */
  if (line[n - 1] != '\n' || memchr(line, '\n', (size_t)n - 1))
    __builtin_trap();
  yajl_val v = must_parse(line);
  /* numbers are typed arguments now: every string value round-trips */
  round_trip(v, "detail", in);
  yajl_tree_free(v);
  free(line);
}

static void result_record(const char *in, const uint8_t *data, size_t size)
{
  /* argv: the NUL-separated pieces of the input */
  char *copy = malloc(size + 1);
  if (!copy)
    return;
  memcpy(copy, data, size);
  copy[size] = 0;
  char *argv[9] = {0};
  size_t n = 0;
  for (size_t off = 0; off <= size && n < 8; off += strlen(copy + off) + 1)
    argv[n++] = copy + off;
  struct agent_run_opts o = {.argv = argv, .stdout_path = in};
  struct agent_ctx *c = calloc(1, sizeof *c);
  if (!c) {
    free(copy);
    return;
  }
  c->o = &o;
  snprintf(c->id, sizeof c->id, "id");
  snprintf(c->group, sizeof c->group, "default");
  snprintf(c->workspace, sizeof c->workspace, "/w");
  snprintf(c->error, sizeof c->error, "%s", in);
  /* stdout written to a file: the record names it (stderr: relayed) */
  c->out[0].dirfd = 3;
  snprintf(c->out[0].path, sizeof c->out[0].path, "%s", in);
  c->out[1].dirfd = c->out[2].dirfd = -1;
  c->stats.memory_peak = c->stats.cpu_usec = c->stats.pids_peak = -1;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (f) {
    agent_result_write(f, c);
    fclose(f);
    yajl_val v = must_parse(buf);
    if (strlen(in) < sizeof c->out[0].path) /* else the path was cut */
      round_trip(v, "stdout", in);
    yajl_val cmd = cove_json_field(v, "command");
    if (!cmd || !YAJL_IS_ARRAY(cmd) || cmd->u.array.len != n)
      __builtin_trap();
    yajl_tree_free(v);
    free(buf);
  }
  free(c);
  free(copy);
}

static void gen_string(const char *in)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return;
  struct cove_gen g;
  cove_err err = {0};
  if (cove_gen_init(&g, f, &err) == 0) {
    cove_gen_map_open(&g);
    cove_gen_kv_str(&g, "v", in);
    cove_gen_map_close(&g);
    int r = cove_gen_finish(&g, "fuzz");
    fclose(f);
    f = NULL;
    if (r == 0) {
      yajl_val v = must_parse(buf);
      round_trip(v, "v", in);
      yajl_tree_free(v);
    } else if (utf8_ok((const unsigned char *)in, strlen(in), false) || err.msg[0] == 0) {
      __builtin_trap(); /* refusing is fine only for invalid UTF-8, with a reason */
    }
  }
  if (f)
    fclose(f);
  free(buf);
}

static void xml(const char *in, size_t n)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return;
  agent_xml_escape(f, in, n);
  fclose(f);
  if (memchr(buf, '<', len) || !utf8_ok((const unsigned char *)buf, len, true))
    __builtin_trap();
  static const char *const ents[] = {"&lt;", "&gt;", "&amp;", "&quot;", "&apos;", NULL};
  for (const char *p = buf; (p = strchr(p, '&')); p++) {
    const char *const *e = ents;
    while (*e && strncmp(p, *e, strlen(*e)) != 0)
      e++;
    if (!*e)
      __builtin_trap();
  }
  free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1 || size > 8192)
    return 0;
  uint8_t mode = data[0] % 6;
  data++, size--;
  char *in = malloc(size + 1);
  if (!in)
    return 0;
  memcpy(in, data, size);
  in[size] = 0;
  switch (mode) {
  case 0: json_string(in); break;
  case 1: audit_line(in); break;
  case 2: result_record(in, data, size); break;
  case 3: gen_string(in); break;
  case 4: xml(in, size); break;
  case 5: xml(in, size ? (uint8_t)in[0] % size : 0); break;
  }
  free(in);
  return 0;
}
