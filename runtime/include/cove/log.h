/* Runtime logging. Text goes to stderr (or --log FILE); with --log-format
 * json each line is {"level":..,"msg":..,"time":..} as containerd's shim
 * and podman parse it. Nothing is ever written to stdout: with pipes the
 * runtime's stdio is the container's stdio. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

enum cove_log_level { COVE_LOG_ERROR, COVE_LOG_WARN, COVE_LOG_INFO, COVE_LOG_DEBUG };

/* path NULL = stderr. Returns -1 with errno set if the file cannot be opened. */
int cove_log_init(const char *path, bool json, bool debug);
void cove_log(enum cove_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* in as text safe for a terminal into out (NUL-terminated, cut to cap):
 * messages carry names a container or agent chose, so control characters
 * (C0, DEL, C1) and bytes that are not UTF-8 become \xNN. Returns the
 * length written. */
size_t cove_text_escape(char *out, size_t cap, const char *in);

#define cove_warn(...) cove_log(COVE_LOG_WARN, __VA_ARGS__)
#define cove_debug(...) cove_log(COVE_LOG_DEBUG, __VA_ARGS__)
#define cove_info(...) cove_log(COVE_LOG_INFO, __VA_ARGS__)
