/* cove_json_tree() (runtime/lib/json_tree.c), the arena-built tree every
 * JSON reader uses, against yajl_tree_parse(), whose trees it replaced:
 * the same nodes, keys, texts and number flags for good documents (inline
 * ones and the files given as arguments: the agent profile), and a clear
 * refusal of bad ones. No root, no containers. */
#include "cove/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "check.h"

/* The first difference between a (yajl_tree) and b (cove_json_tree) at
 * path, or 0. Trees here are shallow: recursion is fine. */
static int differ(yajl_val a, yajl_val b, const char *path)
{
  char p[512];
  if (a->type != b->type) {
    printf("  %s: type %d vs %d\n", path, a->type, b->type);
    return 1;
  }
  switch (a->type) {
  case yajl_t_string:
    if (strcmp(a->u.string, b->u.string)) {
      printf("  %s: \"%s\" vs \"%s\"\n", path, a->u.string, b->u.string);
      return 1;
    }
    return 0;
  case yajl_t_number:
    if (strcmp(a->u.number.r, b->u.number.r) || a->u.number.flags != b->u.number.flags ||
        ((a->u.number.flags & YAJL_NUMBER_INT_VALID) && a->u.number.i != b->u.number.i) ||
        ((a->u.number.flags & YAJL_NUMBER_DOUBLE_VALID) && a->u.number.d != b->u.number.d)) {
      printf("  %s: number %s/%u vs %s/%u\n", path, a->u.number.r, a->u.number.flags, b->u.number.r,
             b->u.number.flags);
      return 1;
    }
    return 0;
  case yajl_t_object:
    if (a->u.object.len != b->u.object.len) {
      printf("  %s: %zu vs %zu members\n", path, a->u.object.len, b->u.object.len);
      return 1;
    }
    for (size_t i = 0; i < a->u.object.len; i++) {
      snprintf(p, sizeof p, "%s.%s", path, a->u.object.keys[i]);
      if (strcmp(a->u.object.keys[i], b->u.object.keys[i])) {
        printf("  %s: key \"%s\" vs \"%s\"\n", p, a->u.object.keys[i], b->u.object.keys[i]);
        return 1;
      }
      if (differ(a->u.object.values[i], b->u.object.values[i], p))
        return 1;
    }
    return 0;
  case yajl_t_array:
    if (a->u.array.len != b->u.array.len) {
      printf("  %s: %zu vs %zu elements\n", path, a->u.array.len, b->u.array.len);
      return 1;
    }
    for (size_t i = 0; i < a->u.array.len; i++) {
      snprintf(p, sizeof p, "%s[%zu]", path, i);
      if (differ(a->u.array.values[i], b->u.array.values[i], p))
        return 1;
    }
    return 0;
  default:
    return 0;
  }
}

static void same_as_yajl(const char *what, const char *text)
{
  char eb[256];
  yajl_val a = yajl_tree_parse(text, eb, sizeof eb);
  cove_err err = {0};
  yajl_val b = cove_json_tree(text, strlen(text), what, &err);
  CHECK(a && b, "%s: both parse (yajl: %s, cove: %s)", what, a ? "ok" : eb, b ? "ok" : err.msg);
  if (a && b)
    CHECK(!differ(a, b, "$"), "%s: the same tree as yajl_tree_parse", what);
  if (a)
    yajl_tree_free(a);
  cove_json_tree_free(b);
}

static void refused(const char *what, const char *text, size_t len, const char *want)
{
  cove_err err = {0};
  yajl_val v = cove_json_tree(text, len, what, &err);
  CHECK(!v && strstr(err.msg, what) && strstr(err.msg, want), "%s refused with \"%s\": got %s \"%s\"", what, want,
        v ? "a tree" : "NULL", err.msg);
  cove_json_tree_free(v);
}

/* n arrays nested */
static char *nested(int n)
{
  char *s = malloc(2 * (size_t)n + 1);
  for (int i = 0; i < n; i++) {
    s[i] = '[';
    s[n + i] = ']';
  }
  s[2 * n] = 0;
  return s;
}

static void test_inline(void)
{
  same_as_yajl("scalars", "[null, true, false, \"\", \"a\\u00e9\\n\\\"\", 0, -1, 1.5, 1e3, -0.25e-2]");
  /* a 64-bit mask above LLONG_MAX: text kept, not a valid integer */
  same_as_yajl("big numbers", "{\"u\": 18446744073709551615, \"i\": 9223372036854775807, \"n\": -42}");
  same_as_yajl("empty containers", "{\"o\": {}, \"a\": [], \"aa\": [[], {}], \"\": 1}");
  /* nothing pushed before they close (the fuzzer's first find: NULL + 0) */
  same_as_yajl("empty object document", "{}");
  same_as_yajl("empty array document", "[]");
  same_as_yajl("duplicate keys kept in order", "{\"k\": 1, \"k\": 2, \"j\": [1, {\"k\": 3}]}");
  same_as_yajl("comments", "/* c */ {\"a\": 1 // line\n}");
  same_as_yajl("top-level scalar", "\"just a string\"");
  /* grows the scratch stack and the arena across chunks */
  size_t cap = 200000, o = 0;
  char *big = malloc(cap);
  o += (size_t)snprintf(big + o, cap - o, "{\"names\": [");
  for (int i = 0; i < 5000; i++)
    o += (size_t)snprintf(big + o, cap - o, "%s{\"n%d\": [\"syscall_%d\", %d]}", i ? "," : "", i, i, i);
  snprintf(big + o, cap - o, "]}");
  same_as_yajl("5,000 members", big);
  free(big);

  char *ok = nested(COVE_JSON_MAX_DEPTH), *deep = nested(COVE_JSON_MAX_DEPTH + 1);
  same_as_yajl("nested to the limit", ok);
  refused("nested past the limit", deep, strlen(deep), "nested deeper than 64");
  free(ok);
  free(deep);
  refused("truncated", "{\"a\": ", 6, "not valid JSON");
  refused("empty", "", 0, "not valid JSON");
  refused("trailing garbage", "{} x", 4, "not valid JSON");
  refused("bad UTF-8", "\"\xff\"", 3, "not valid JSON");
  /* the length is the document: a NUL inside it is not an end */
  refused("NUL inside", "{\"a\": 1}\0{", 10, "not valid JSON");
  cove_json_tree_free(NULL);
}

static void test_file(const char *path)
{
  FILE *f = fopen(path, "r");
  CHECK(f, "open %s", path);
  if (!f)
    return;
  static char buf[4 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  same_as_yajl(path, buf);
}

int main(int argc, char **argv)
{
  test_inline();
  for (int i = 1; i < argc; i++)
    test_file(argv[i]);
  printf("%d checks, %d failed\n", checks, fails);
  return fails ? 1 : 0;
}
