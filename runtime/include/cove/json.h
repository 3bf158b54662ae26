/* Typed access to a yajl tree with the field path carried along, so every
 * type or range error names the exact field: "process.rlimits[1].type".
 *
 * All getters take the parent object, the key, the parent's path (for the
 * message) and return 0 when absent (outputs untouched), 1 when present and
 * valid, -1 (err filled) when present with the wrong type or out of range. */
#pragma once
#include "cove/error.h"
#include "cove/log.h"
#include "cove/spec.h"

#include <stdbool.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

#define COVE_PATH_MAX 256

/* child path: "parent.key" or "key" when parent is "". */
void cove_json_path(char *out, const char *parent, const char *key);
/* element path: "parent[i]" */
void cove_json_path_idx(char *out, const char *parent, size_t i);

yajl_val cove_json_field(yajl_val obj, const char *key);
const char *cove_json_type_name(yajl_val v);

int cove_json_string(yajl_val obj, const char *key, const char *path, const char **out, cove_err *err);
int cove_json_bool(yajl_val obj, const char *key, const char *path, bool *out, cove_err *err);
int cove_json_int64(yajl_val obj, const char *key, const char *path, int64_t *out, cove_err *err);
/* Non-negative integer that fits in 64 bits (yajl keeps big numbers as text). */
int cove_json_uint64(yajl_val obj, const char *key, const char *path, uint64_t *out, cove_err *err);
int cove_json_uint32(yajl_val obj, const char *key, const char *path, uint32_t *out, cove_err *err);
/* Object / array presence with type check: *out set to the node. */
int cove_json_object(yajl_val obj, const char *key, const char *path, yajl_val *out, cove_err *err);
int cove_json_array(yajl_val obj, const char *key, const char *path, yajl_val *out, cove_err *err);
/* r from a getter for a field that must be there: absent (0) becomes
 * "path.key: missing". */
int cove_json_need(int r, const char *path, const char *key, cove_err *err);
/* An array of objects: *items becomes a zeroed array of *n elements of
 * `size` bytes (set before the first call, so the owner's free releases a
 * partial result), and fn parses element i (path "path.key[i]") into its
 * slot. A non-object element is a type error. Returns like the getters. */
typedef int cove_json_item_fn(yajl_val e, const char *path, void *item, size_t i, void *ctx, cove_err *err);
int cove_json_each_object(yajl_val obj, const char *key, const char *path, size_t size, void **items, size_t *n,
                          cove_json_item_fn *fn, void *ctx, cove_err *err);
/* Array of strings into a NULL-terminated vector (strings borrowed). */
int cove_json_strv(yajl_val obj, const char *key, const char *path, struct cove_strv *out, cove_err *err);
/* Reject keys not in `allowed` (NULL-terminated) — catches typos like
 * "readOnly". For cove's own formats (agent policies); not for config.json. */
int cove_json_known_keys(yajl_val obj, const char *path, const char *const *allowed, cove_err *err);
/* config.json: the runtime spec (config.md "Extensibility") says a runtime
 * MAY log unknown properties but MUST NOT fail on them. Logs each key not in
 * `allowed` at level lvl, naming its path. An unknown property cannot
 * weaken anything: every known one is still validated. */
void cove_json_ignore_unknown(yajl_val obj, const char *path, const char *const *allowed, enum cove_log_level lvl);
void cove_strv_free(struct cove_strv *v);
/* The one JSON parser (json_tree.c): len bytes of text (no NUL needed)
 * into a yajl tree held in an arena, freed only with cove_json_tree_free()
 * (never yajl_tree_free). Refuses, naming `what`, invalid JSON and what
 * nests deeper than COVE_JSON_MAX_DEPTH (a hostile document of a few
 * hundred thousand '[' must not cost a stack per level anywhere). */
#define COVE_JSON_MAX_DEPTH 64
yajl_val cove_json_tree(const char *text, size_t len, const char *what, cove_err *err);
void cove_json_tree_free(yajl_val root);

/* A quoted JSON string into f, written by the one writer (cove/jsongen.h,
 * cove_gen_text): for the few lines still assembled by hand. New writers
 * use struct cove_gen. */
#include <stdio.h>
void cove_json_write_string(FILE *f, const char *s);
