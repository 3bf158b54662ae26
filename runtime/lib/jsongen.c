#include "cove/jsongen.h"
#include "cove/utf8.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define GEN_DO(g, call)                                                                            \
  do {                                                                                             \
    if ((g)->st == yajl_gen_status_ok)                                                             \
      (g)->st = (call);                                                                            \
  } while (0)

static void gen_print(void *ctx, const char *s, size_t len)
{
  struct cove_gen *g = ctx;
  if (!g->io_error && fwrite(s, 1, len, g->out) != len)
    g->io_error = true;
}

static int gen_alloc(struct cove_gen *g, FILE *out, cove_err *err)
{
  *g = (struct cove_gen){.out = out, .st = yajl_gen_status_ok, .err = err};
  g->g = yajl_gen_alloc(NULL);
  if (!g->g)
    return cove_error(err, ENOMEM, "yajl_gen_alloc");
  yajl_gen_config(g->g, yajl_gen_validate_utf8, 1);
  if (out)
    yajl_gen_config(g->g, yajl_gen_print_callback, gen_print, g);
  return 0;
}

int cove_gen_init(struct cove_gen *g, FILE *out, cove_err *err)
{
  if (gen_alloc(g, out, err) < 0)
    return -1;
  yajl_gen_config(g->g, yajl_gen_beautify, 1);
  yajl_gen_config(g->g, yajl_gen_indent_string, "\t");
  return 0;
}

int cove_gen_init_line(struct cove_gen *g, FILE *out, cove_err *err)
{
  return gen_alloc(g, out, err);
}

const char *cove_gen_buf(struct cove_gen *g, size_t *len)
{
  const unsigned char *b = NULL;
  *len = 0;
  if (g->out || yajl_gen_get_buf(g->g, &b, len) != yajl_gen_status_ok)
    return NULL;
  return (const char *)b;
}

int cove_gen_finish(struct cove_gen *g, const char *what)
{
  yajl_gen_status st = g->st;
  yajl_gen_free(g->g);
  g->g = NULL;
  if (st != yajl_gen_status_ok)
    return cove_error(g->err, 0, "%s: JSON generation failed (yajl status %d)", what, (int)st);
  if (g->out && (g->io_error || fflush(g->out) != 0 || ferror(g->out)))
    return cove_error(g->err, errno ? errno : EIO, "%s: write output", what);
  return 0;
}

void cove_gen_str(struct cove_gen *g, const char *s)
{
  GEN_DO(g, yajl_gen_string(g->g, (const unsigned char *)s, strlen(s)));
}

/* Invalid sequences become U+FFFD, byte by byte, as cove_utf8_next sees
 * them; the copy is made only when there is one. */
void cove_gen_text(struct cove_gen *g, const char *s)
{
  size_t n = strlen(s), bad = 0;
  uint32_t cp;
  for (size_t i = 0; i < n;) {
    size_t k = cove_utf8_next((const unsigned char *)s + i, n - i, &cp);
    bad += !k;
    i += k ? k : 1;
  }
  if (!bad) {
    cove_gen_str(g, s);
    return;
  }
  char *t = malloc(n + 2 * bad + 1); /* each bad byte: 1 → 3 bytes */
  if (!t) {
    if (g->st == yajl_gen_status_ok)
      g->st = yajl_gen_invalid_string;
    return;
  }
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    size_t k = cove_utf8_next((const unsigned char *)s + i, n - i, &cp);
    if (k) {
      memcpy(t + o, s + i, k);
      o += k;
      i += k;
    } else {
      memcpy(t + o, "\xef\xbf\xbd", 3);
      o += 3;
      i++;
    }
  }
  GEN_DO(g, yajl_gen_string(g->g, (const unsigned char *)t, o));
  free(t);
}

void cove_gen_int(struct cove_gen *g, long long v) { GEN_DO(g, yajl_gen_integer(g->g, v)); }
void cove_gen_bool(struct cove_gen *g, bool v) { GEN_DO(g, yajl_gen_bool(g->g, v)); }
void cove_gen_null(struct cove_gen *g) { GEN_DO(g, yajl_gen_null(g->g)); }
void cove_gen_number(struct cove_gen *g, const char *text)
{
  GEN_DO(g, yajl_gen_number(g->g, text, strlen(text)));
}
/* yajl_gen_number writes its text as it is and counts it as one value,
 * which is exactly a raw insert. */
void cove_gen_raw(struct cove_gen *g, const char *json) { cove_gen_number(g, json); }

char *cove_gen_line_dup(struct cove_gen *g, const char *what)
{
  size_t len;
  const char *b = cove_gen_buf(g, &len);
  char *out = b ? strndup(b, len) : NULL;
  cove_err *err = g->err;
  if (cove_gen_finish(g, what) < 0) {
    free(out);
    return NULL;
  }
  if (!out)
    cove_error(err, ENOMEM, "%s", what);
  return out;
}

void cove_gen_map_open(struct cove_gen *g) { GEN_DO(g, yajl_gen_map_open(g->g)); }
void cove_gen_map_close(struct cove_gen *g) { GEN_DO(g, yajl_gen_map_close(g->g)); }
void cove_gen_array_open(struct cove_gen *g) { GEN_DO(g, yajl_gen_array_open(g->g)); }
void cove_gen_array_close(struct cove_gen *g) { GEN_DO(g, yajl_gen_array_close(g->g)); }

void cove_gen_strv(struct cove_gen *g, const char *const *v)
{
  cove_gen_array_open(g);
  for (; *v; v++)
    cove_gen_str(g, *v);
  cove_gen_array_close(g);
}

void cove_gen_value(struct cove_gen *g, yajl_val v)
{
  if (!v || YAJL_IS_NULL(v)) {
    cove_gen_null(g);
  } else if (YAJL_IS_STRING(v)) {
    cove_gen_str(g, v->u.string);
  } else if (YAJL_IS_NUMBER(v)) {
    cove_gen_number(g, v->u.number.r);
  } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
    cove_gen_bool(g, YAJL_IS_TRUE(v));
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
