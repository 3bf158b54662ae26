/* Internal: thin sticky-error wrapper over yajl_gen for the generated
 * documents (spec_default.c, features.c). Every call after the first
 * failure is a no-op, so the writers read as the document they produce and
 * check once at the end instead of after each of a hundred calls. */
#pragma once
#include "cove/error.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

struct cove_gen {
  yajl_gen g;
  FILE *out;
  yajl_gen_status st;
  bool io_error;
  cove_err *err;
};

static inline void cove_gen_print(void *ctx, const char *s, size_t len)
{
  struct cove_gen *g = ctx;
  if (!g->io_error && fwrite(s, 1, len, g->out) != len)
    g->io_error = true;
}

static inline int cove_gen_init(struct cove_gen *g, FILE *out, cove_err *err)
{
  *g = (struct cove_gen){.out = out, .st = yajl_gen_status_ok, .err = err};
  g->g = yajl_gen_alloc(NULL);
  if (!g->g)
    return cove_error(err, ENOMEM, "yajl_gen_alloc");
  yajl_gen_config(g->g, yajl_gen_beautify, 1);
  yajl_gen_config(g->g, yajl_gen_indent_string, "\t");
  yajl_gen_config(g->g, yajl_gen_validate_utf8, 1);
  yajl_gen_config(g->g, yajl_gen_print_callback, cove_gen_print, g);
  return 0;
}

#define COVE_GEN_DO(g, call)                                                                       \
  do {                                                                                             \
    if ((g)->st == yajl_gen_status_ok)                                                             \
      (g)->st = (call);                                                                            \
  } while (0)

static inline void cove_gen_str(struct cove_gen *g, const char *s)
{
  COVE_GEN_DO(g, yajl_gen_string(g->g, (const unsigned char *)s, strlen(s)));
}
static inline void cove_gen_key(struct cove_gen *g, const char *k) { cove_gen_str(g, k); }
static inline void cove_gen_map_open(struct cove_gen *g) { COVE_GEN_DO(g, yajl_gen_map_open(g->g)); }
static inline void cove_gen_map_close(struct cove_gen *g) { COVE_GEN_DO(g, yajl_gen_map_close(g->g)); }
static inline void cove_gen_array_open(struct cove_gen *g) { COVE_GEN_DO(g, yajl_gen_array_open(g->g)); }
static inline void cove_gen_array_close(struct cove_gen *g)
{
  COVE_GEN_DO(g, yajl_gen_array_close(g->g));
}
static inline void cove_gen_kv_str(struct cove_gen *g, const char *k, const char *v)
{
  cove_gen_key(g, k);
  cove_gen_str(g, v);
}
static inline void cove_gen_kv_int(struct cove_gen *g, const char *k, long long v)
{
  cove_gen_key(g, k);
  COVE_GEN_DO(g, yajl_gen_integer(g->g, v));
}
static inline void cove_gen_kv_bool(struct cove_gen *g, const char *k, bool v)
{
  cove_gen_key(g, k);
  COVE_GEN_DO(g, yajl_gen_bool(g->g, v));
}
/* NULL-terminated list as a JSON array of strings. */
static inline void cove_gen_strv(struct cove_gen *g, const char *const *v)
{
  cove_gen_array_open(g);
  for (; *v; v++)
    cove_gen_str(g, *v);
  cove_gen_array_close(g);
}

/* Frees the generator and reports the first failure, naming `what`. */
/* Copies a parsed yajl tree node (and everything under it) verbatim;
 * numbers keep their original text. */
static inline void cove_gen_value(struct cove_gen *g, yajl_val v)
{
  if (!v || YAJL_IS_NULL(v)) {
    COVE_GEN_DO(g, yajl_gen_null(g->g));
  } else if (YAJL_IS_STRING(v)) {
    cove_gen_str(g, v->u.string);
  } else if (YAJL_IS_NUMBER(v)) {
    COVE_GEN_DO(g, yajl_gen_number(g->g, v->u.number.r, strlen(v->u.number.r)));
  } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
    COVE_GEN_DO(g, yajl_gen_bool(g->g, YAJL_IS_TRUE(v)));
  } else if (YAJL_IS_ARRAY(v)) {
    cove_gen_array_open(g);
    for (size_t i = 0; i < v->u.array.len; i++)
      cove_gen_value(g, v->u.array.values[i]);
    cove_gen_array_close(g);
  } else if (YAJL_IS_OBJECT(v)) {
    cove_gen_map_open(g);
    for (size_t i = 0; i < v->u.object.len; i++) {
      cove_gen_key(g, v->u.object.keys[i]);
      cove_gen_value(g, v->u.object.values[i]);
    }
    cove_gen_map_close(g);
  }
}

static inline int cove_gen_finish(struct cove_gen *g, const char *what)
{
  yajl_gen_status st = g->st;
  yajl_gen_free(g->g);
  if (st != yajl_gen_status_ok)
    return cove_error(g->err, 0, "%s: JSON generation failed (yajl status %d)", what, (int)st);
  if (g->io_error || fflush(g->out) != 0 || ferror(g->out))
    return cove_error(g->err, errno ? errno : EIO, "%s: write output", what);
  return 0;
}
