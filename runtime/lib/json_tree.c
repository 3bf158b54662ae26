/* A yajl tree (struct yajl_val_s, so every getter in json.c works on it)
 * built with yajl's event parser into an arena.
 *
 * yajl_tree_parse() mallocs every node, key, string and number text and
 * grows each object and array with one realloc per element; the agent's
 * ~30 KB spec took some 10,000 allocations to parse and as many frees to
 * drop. Here the nodes and texts go into a few large chunks, an object's
 * or array's members are collected on one scratch stack and copied out
 * once when it closes, and the whole document is freed chunk by chunk.
 * The nesting limit is checked as the events arrive (no pre-scan);
 * neither building nor freeing recurses, and the trees handed out are at
 * most COVE_JSON_MAX_DEPTH deep for the code that does (cove_gen_value). */
#include "cove/json.h"

#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

struct chunk {
  struct chunk *next;
  size_t cap, used;
  alignas(max_align_t) char data[];
};

/* The root lives in the document header, so the tree's root pointer is
 * all cove_json_tree_free() needs. */
struct doc {
  struct chunk *chunks;
  struct yajl_val_s root;
};

struct member {
  const char *key; /* NULL in an array */
  yajl_val val;
};

struct builder {
  struct doc *doc;
  struct member *items; /* members of the open containers, innermost last */
  size_t n_items, cap_items;
  struct {
    yajl_val node;
    size_t first; /* its first member in items */
  } open[COVE_JSON_MAX_DEPTH];
  int depth;
  bool have_root, too_deep, oom;
};

static void *arena_alloc(struct builder *b, size_t size, size_t align)
{
  struct chunk *c = b->doc->chunks;
  size_t off = c ? (c->used + align - 1) & ~(align - 1) : 0;
  if (!c || off + size > c->cap) {
    size_t cap = c ? c->cap * 2 : 4096;
    if (cap < size)
      cap = size;
    struct chunk *n = malloc(sizeof *n + cap);
    if (!n) {
      b->oom = true;
      return NULL;
    }
    n->next = c;
    n->cap = cap;
    n->used = 0;
    b->doc->chunks = c = n;
    off = 0;
  }
  c->used = off + size;
  return c->data + off;
}

static char *arena_text(struct builder *b, const unsigned char *s, size_t len)
{
  char *t = arena_alloc(b, len + 1, 1);
  if (t) {
    memcpy(t, s, len);
    t[len] = 0;
  }
  return t;
}

static bool push(struct builder *b, const char *key, yajl_val val)
{
  if (b->n_items == b->cap_items) {
    size_t cap = b->cap_items ? b->cap_items * 2 : 256;
    struct member *m = realloc(b->items, cap * sizeof *m);
    if (!m)
      return b->oom = true, false;
    b->items = m;
    b->cap_items = cap;
  }
  b->items[b->n_items++] = (struct member){key, val};
  return true;
}

/* A new node of type t, attached to the open container (as the value of
 * the key just read, in an object). */
static yajl_val node(struct builder *b, yajl_type t)
{
  yajl_val v;
  if (b->depth == 0) {
    v = &b->doc->root;
    b->have_root = true;
  } else {
    v = arena_alloc(b, sizeof *v, alignof(struct yajl_val_s));
    if (!v)
      return NULL;
    yajl_val parent = b->open[b->depth - 1].node;
    if (YAJL_IS_OBJECT(parent))
      b->items[b->n_items - 1].val = v; /* map_key pushed the key */
    else if (!push(b, NULL, v))
      return NULL;
  }
  memset(v, 0, sizeof *v);
  v->type = t;
  return v;
}

static int on_null(void *ctx)
{
  return node(ctx, yajl_t_null) != NULL;
}

static int on_bool(void *ctx, int val)
{
  return node(ctx, val ? yajl_t_true : yajl_t_false) != NULL;
}

/* As yajl_tree: the text is kept, and the integer and double readings
 * are flagged valid only when the whole text converts without overflow. */
static int on_number(void *ctx, const char *s, size_t len)
{
  struct builder *b = ctx;
  yajl_val v = node(b, yajl_t_number);
  if (!v || !(v->u.number.r = arena_text(b, (const unsigned char *)s, len)))
    return 0;
  char *end;
  errno = 0;
  v->u.number.i = strtoll(v->u.number.r, &end, 10);
  if (errno == 0 && *end == 0)
    v->u.number.flags |= YAJL_NUMBER_INT_VALID;
  errno = 0;
  v->u.number.d = strtod(v->u.number.r, &end);
  if (errno == 0 && *end == 0)
    v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
  return 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
  struct builder *b = ctx;
  yajl_val v = node(b, yajl_t_string);
  return v && (v->u.string = arena_text(b, s, len)) != NULL;
}

static int open_container(struct builder *b, yajl_type t)
{
  if (b->depth == COVE_JSON_MAX_DEPTH)
    return b->too_deep = true, 0;
  yajl_val v = node(b, t);
  if (!v)
    return 0;
  b->open[b->depth].node = v;
  b->open[b->depth].first = b->n_items;
  b->depth++;
  return 1;
}

static int on_start_map(void *ctx)
{
  return open_container(ctx, yajl_t_object);
}

static int on_start_array(void *ctx)
{
  return open_container(ctx, yajl_t_array);
}

static int on_map_key(void *ctx, const unsigned char *s, size_t len)
{
  struct builder *b = ctx;
  const char *k = arena_text(b, s, len);
  return k && push(b, k, NULL);
}

/* The members collected since the container opened, copied out once. */
static int close_container(struct builder *b)
{
  b->depth--;
  yajl_val v = b->open[b->depth].node;
  size_t first = b->open[b->depth].first, n = b->n_items - first;
  /* (no member pushed yet: items may still be NULL, and NULL + 0 is UB) */
  const struct member *m = n ? b->items + first : NULL;
  yajl_val *vals = n ? arena_alloc(b, n * sizeof *vals, alignof(yajl_val)) : NULL;
  if (n && !vals)
    return 0;
  for (size_t i = 0; i < n; i++)
    vals[i] = m[i].val;
  if (YAJL_IS_OBJECT(v)) {
    const char **keys = n ? arena_alloc(b, n * sizeof *keys, alignof(const char *)) : NULL;
    if (n && !keys)
      return 0;
    for (size_t i = 0; i < n; i++)
      keys[i] = m[i].key;
    v->u.object.keys = keys;
    v->u.object.values = vals;
    v->u.object.len = n;
  } else {
    v->u.array.values = vals;
    v->u.array.len = n;
  }
  b->n_items = first;
  return 1;
}

static int on_end(void *ctx)
{
  return close_container(ctx);
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_bool,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = on_end,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end,
};

void cove_json_tree_free(yajl_val root)
{
  if (!root)
    return;
  struct doc *d = (struct doc *)((char *)root - offsetof(struct doc, root));
  for (struct chunk *c = d->chunks, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  free(d);
}

yajl_val cove_json_tree(const char *text, size_t len, const char *what, cove_err *err)
{
  struct builder b = {.doc = calloc(1, sizeof *b.doc)};
  if (!b.doc)
    return cove_error(err, ENOMEM, "%s", what), NULL;
  yajl_handle h = yajl_alloc(&callbacks, NULL, &b);
  if (!h) {
    free(b.doc);
    return cove_error(err, ENOMEM, "%s", what), NULL;
  }
  /* as yajl_tree_parse, which parsed these documents before */
  yajl_config(h, yajl_allow_comments, 1);
  yajl_status st = yajl_parse(h, (const unsigned char *)text, len);
  if (st == yajl_status_ok)
    st = yajl_complete_parse(h);
  if (st == yajl_status_ok && b.have_root && b.depth == 0) {
    yajl_free(h);
    free(b.items);
    return &b.doc->root;
  }
  if (b.too_deep)
    cove_error(err, 0, "%s: JSON nested deeper than %d levels", what, COVE_JSON_MAX_DEPTH);
  else if (b.oom)
    cove_error(err, ENOMEM, "%s", what);
  else {
    unsigned char *msg = st == yajl_status_ok ? NULL : yajl_get_error(h, 1, (const unsigned char *)text, len);
    /* yajl's message is multi-line with a context excerpt; keep line one */
    char *nl = msg ? strchr((char *)msg, '\n') : NULL;
    if (nl)
      *nl = 0;
    cove_error(err, 0, "%s: not valid JSON: %s", what, msg && msg[0] ? (const char *)msg : "parse error");
    if (msg)
      yajl_free_error(h, msg);
  }
  yajl_free(h);
  free(b.items);
  cove_json_tree_free(&b.doc->root);
  return NULL;
}
