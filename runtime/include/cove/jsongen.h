/* The one JSON writer: a sticky-error wrapper over yajl_gen. Every call
 * after the first failure is a no-op, so a writer reads as the document it
 * produces and checks once, in cove_gen_finish().
 *
 * Two modes:
 *   cove_gen_init()      a document (config.json, `cove spec`, stats):
 *                        tab-indented, strings must be valid UTF-8 (a
 *                        policy path with invalid bytes is an error, never
 *                        silently changed);
 *   cove_gen_init_line() one compact line (state.json, hooks' state, logs,
 *                        audit and result records); with out == NULL the
 *                        line is kept in memory for one write(2)
 *                        (cove_gen_buf()).
 * cove_gen_text() is for bytes someone else controls (an agent's file
 * names, a proxy client's Host header): invalid UTF-8 becomes U+FFFD so
 * the line stays parseable, in either mode. */
#pragma once
#include "cove/error.h"

#include <stdbool.h>
#include <stdio.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

struct cove_gen {
  yajl_gen g;
  FILE *out; /* NULL: yajl's own buffer */
  yajl_gen_status st;
  bool io_error;
  cove_err *err;
};

int cove_gen_init(struct cove_gen *g, FILE *out, cove_err *err);
int cove_gen_init_line(struct cove_gen *g, FILE *out, cove_err *err);
/* Frees the generator and reports the first failure, naming `what`. */
int cove_gen_finish(struct cove_gen *g, const char *what);
/* In-memory line mode: the text so far (valid until cove_gen_finish). */
const char *cove_gen_buf(struct cove_gen *g, size_t *len);

void cove_gen_str(struct cove_gen *g, const char *s);
void cove_gen_text(struct cove_gen *g, const char *s);
void cove_gen_int(struct cove_gen *g, long long v);
void cove_gen_bool(struct cove_gen *g, bool v);
void cove_gen_null(struct cove_gen *g);
/* A number already formatted (a yajl tree's original text, "%.3f"). */
void cove_gen_number(struct cove_gen *g, const char *text);
void cove_gen_map_open(struct cove_gen *g);
void cove_gen_map_close(struct cove_gen *g);
void cove_gen_array_open(struct cove_gen *g);
void cove_gen_array_close(struct cove_gen *g);
/* A value cove itself already wrote as JSON text (kept annotations),
 * inserted verbatim. */
void cove_gen_raw(struct cove_gen *g, const char *json);
/* In memory (initialised with out NULL, line or document mode): finishes
 * and returns the text, malloc'd (NULL with err set on failure). */
char *cove_gen_line_dup(struct cove_gen *g, const char *what);
/* Copies a parsed yajl tree node (and everything under it) verbatim;
 * numbers keep their original text. The one tree copier. */
void cove_gen_value(struct cove_gen *g, yajl_val v);

static inline void cove_gen_key(struct cove_gen *g, const char *k) { cove_gen_str(g, k); }
static inline void cove_gen_kv_str(struct cove_gen *g, const char *k, const char *v)
{
  cove_gen_key(g, k);
  cove_gen_str(g, v);
}
static inline void cove_gen_kv_text(struct cove_gen *g, const char *k, const char *v)
{
  cove_gen_key(g, k);
  cove_gen_text(g, v);
}
static inline void cove_gen_kv_int(struct cove_gen *g, const char *k, long long v)
{
  cove_gen_key(g, k);
  cove_gen_int(g, v);
}
static inline void cove_gen_kv_bool(struct cove_gen *g, const char *k, bool v)
{
  cove_gen_key(g, k);
  cove_gen_bool(g, v);
}
/* NULL-terminated list as a JSON array of strings. */
void cove_gen_strv(struct cove_gen *g, const char *const *v);
