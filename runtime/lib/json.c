#include "cove/json.h"
#include "cove/jsongen.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void cove_json_path(char *out, const char *parent, const char *key)
{
  if (!parent || !*parent)
    snprintf(out, COVE_PATH_MAX, "%s", key);
  else
    snprintf(out, COVE_PATH_MAX, "%s.%s", parent, key);
}

void cove_json_path_idx(char *out, const char *parent, size_t i)
{
  snprintf(out, COVE_PATH_MAX, "%s[%zu]", parent, i);
}

yajl_val cove_json_field(yajl_val obj, const char *key)
{
  if (!obj || !YAJL_IS_OBJECT(obj))
    return NULL;
  for (size_t i = 0; i < obj->u.object.len; i++)
    if (strcmp(obj->u.object.keys[i], key) == 0)
      return obj->u.object.values[i];
  return NULL;
}

const char *cove_json_type_name(yajl_val v)
{
  if (!v || YAJL_IS_NULL(v))
    return "null";
  if (YAJL_IS_STRING(v))
    return "string";
  if (YAJL_IS_NUMBER(v))
    return "number";
  if (YAJL_IS_OBJECT(v))
    return "object";
  if (YAJL_IS_ARRAY(v))
    return "array";
  return "boolean";
}

static int wrong_type(const char *path, const char *want, yajl_val v, cove_err *err)
{
  return cove_error(err, 0, "%s: expected %s, got %s", path, want, cove_json_type_name(v));
}

/* An explicit JSON null counts as absent, as Go-based clients emit it. */
static yajl_val present(yajl_val obj, const char *key)
{
  yajl_val v = cove_json_field(obj, key);
  return (v && !YAJL_IS_NULL(v)) ? v : NULL;
}

/* The present value of key when it has the wanted type (1), absent (0), or
 * a type error naming the field (-1). */
static int typed(yajl_val obj, const char *key, const char *path, bool (*ok)(yajl_val), const char *want,
                 yajl_val *out, cove_err *err)
{
  yajl_val v = present(obj, key);
  if (!v)
    return 0;
  if (!ok(v)) {
    char p[COVE_PATH_MAX];
    cove_json_path(p, path, key);
    return wrong_type(p, want, v, err);
  }
  *out = v;
  return 1;
}

static bool is_string(yajl_val v) { return YAJL_IS_STRING(v); }
static bool is_bool(yajl_val v) { return YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v); }
static bool is_number(yajl_val v) { return YAJL_IS_NUMBER(v); }
static bool is_object(yajl_val v) { return YAJL_IS_OBJECT(v); }
static bool is_array(yajl_val v) { return YAJL_IS_ARRAY(v); }

int cove_json_string(yajl_val obj, const char *key, const char *path, const char **out, cove_err *err)
{
  yajl_val v = NULL;
  int r = typed(obj, key, path, is_string, "string", &v, err);
  if (r > 0)
    *out = v->u.string;
  return r;
}

int cove_json_bool(yajl_val obj, const char *key, const char *path, bool *out, cove_err *err)
{
  yajl_val v = NULL;
  int r = typed(obj, key, path, is_bool, "boolean", &v, err);
  if (r > 0)
    *out = YAJL_IS_TRUE(v);
  return r;
}

int cove_json_int64(yajl_val obj, const char *key, const char *path, int64_t *out, cove_err *err)
{
  yajl_val v = NULL;
  int r = typed(obj, key, path, is_number, "integer", &v, err);
  if (r <= 0)
    return r;
  if (!YAJL_IS_INTEGER(v)) {
    char p[COVE_PATH_MAX];
    cove_json_path(p, path, key);
    return cove_error(err, 0, "%s: expected an integer in range, got %s", p, v->u.number.r);
  }
  *out = v->u.number.i;
  return 1;
}

int cove_json_uint64(yajl_val obj, const char *key, const char *path, uint64_t *out, cove_err *err)
{
  yajl_val v = NULL;
  int r = typed(obj, key, path, is_number, "integer", &v, err);
  if (r <= 0)
    return r;
  char p[COVE_PATH_MAX];
  cove_json_path(p, path, key);
  const char *s = v->u.number.r;
  if (*s == '-')
    return cove_error(err, 0, "%s: must not be negative, got %s", p, s);
  char *end;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 10);
  if (errno || *end)
    return cove_error(err, 0, "%s: expected an unsigned 64-bit integer, got %s", p, s);
  *out = x;
  return 1;
}

int cove_json_uint32(yajl_val obj, const char *key, const char *path, uint32_t *out, cove_err *err)
{
  uint64_t x;
  int r = cove_json_uint64(obj, key, path, &x, err);
  if (r <= 0)
    return r;
  if (x > UINT32_MAX) {
    char p[COVE_PATH_MAX];
    cove_json_path(p, path, key);
    return cove_error(err, 0, "%s: %" PRIu64 " does not fit in 32 bits", p, x);
  }
  *out = (uint32_t)x;
  return 1;
}

int cove_json_object(yajl_val obj, const char *key, const char *path, yajl_val *out, cove_err *err)
{
  return typed(obj, key, path, is_object, "object", out, err);
}

int cove_json_array(yajl_val obj, const char *key, const char *path, yajl_val *out, cove_err *err)
{
  return typed(obj, key, path, is_array, "array", out, err);
}

int cove_json_need(int r, const char *path, const char *key, cove_err *err)
{
  if (r != 0)
    return r;
  char p[COVE_PATH_MAX];
  cove_json_path(p, path, key);
  return cove_error(err, 0, "%s: missing", p);
}

int cove_json_each_object(yajl_val obj, const char *key, const char *path, size_t size, void **items, size_t *n,
                          cove_json_item_fn *fn, void *ctx, cove_err *err)
{
  yajl_val a = NULL;
  int r = cove_json_array(obj, key, path, &a, err);
  if (r <= 0)
    return r;
  char p[COVE_PATH_MAX];
  cove_json_path(p, path, key);
  size_t len = a->u.array.len;
  char *v = calloc(len ? len : 1, size);
  if (!v)
    return cove_error(err, ENOMEM, "%s", p);
  *items = v;
  *n = len;
  for (size_t i = 0; i < len; i++) {
    yajl_val e = a->u.array.values[i];
    char pe[COVE_PATH_MAX];
    cove_json_path_idx(pe, p, i);
    if (!YAJL_IS_OBJECT(e))
      return wrong_type(pe, "object", e, err);
    if (fn(e, pe, v + i * size, i, ctx, err) < 0)
      return -1;
  }
  return 1;
}

int cove_json_strv(yajl_val obj, const char *key, const char *path, struct cove_strv *out, cove_err *err)
{
  yajl_val a = NULL;
  int r = cove_json_array(obj, key, path, &a, err);
  if (r <= 0)
    return r;
  char p[COVE_PATH_MAX];
  cove_json_path(p, path, key);
  size_t n = a->u.array.len;
  const char **v = calloc(n + 1, sizeof *v);
  if (!v)
    return cove_error(err, ENOMEM, "%s", p);
  for (size_t i = 0; i < n; i++) {
    yajl_val e = a->u.array.values[i];
    if (!YAJL_IS_STRING(e)) {
      free(v);
      char pe[COVE_PATH_MAX];
      cove_json_path_idx(pe, p, i);
      return wrong_type(pe, "string", e, err);
    }
    v[i] = e->u.string;
  }
  out->v = v;
  out->n = n;
  return 1;
}

/* Index of the first key of obj, from i on, that is not in allowed
 * (NULL-terminated); the object's length when there is none. */
static size_t next_unknown(yajl_val obj, size_t i, const char *const *allowed)
{
  for (; i < obj->u.object.len; i++) {
    const char *k = obj->u.object.keys[i];
    const char *const *a = allowed;
    while (*a && strcmp(*a, k) != 0)
      a++;
    if (!*a)
      return i;
  }
  return i;
}

int cove_json_known_keys(yajl_val obj, const char *path, const char *const *allowed, cove_err *err)
{
  size_t i = next_unknown(obj, 0, allowed);
  if (i == obj->u.object.len)
    return 0;
  char p[COVE_PATH_MAX];
  cove_json_path(p, path, obj->u.object.keys[i]);
  return cove_error(err, 0, "%s: unknown field", p);
}

void cove_json_ignore_unknown(yajl_val obj, const char *path, const char *const *allowed, enum cove_log_level lvl)
{
  for (size_t i = next_unknown(obj, 0, allowed); i < obj->u.object.len; i = next_unknown(obj, i + 1, allowed)) {
    char p[COVE_PATH_MAX];
    cove_json_path(p, path, obj->u.object.keys[i]);
    cove_log(lvl, "%s: unknown property, ignored", p);
  }
}

void cove_strv_free(struct cove_strv *v)
{
  free(v->v);
  v->v = NULL;
  v->n = 0;
}

/* One string through the one writer (cove/jsongen.h), for the lines still
 * assembled by hand (state.c, hooks.c): invalid UTF-8 becomes U+FFFD. */
void cove_json_write_string(FILE *f, const char *s)
{
  struct cove_gen g;
  cove_err err = {0};
  if (cove_gen_init_line(&g, f, &err) < 0)
    return;
  cove_gen_text(&g, s);
  cove_gen_finish(&g, "string");
}
