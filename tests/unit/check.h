/* The unit tests' one assertion: count, report the line, go on (a test
 * binary lists every failing check, then exits non-zero). */
#pragma once
#include <stdio.h>

static int fails, checks;

#define CHECK(cond, ...)                                                                                               \
  do {                                                                                                                 \
    checks++;                                                                                                          \
    if (!(cond)) {                                                                                                     \
      fails++;                                                                                                         \
      printf("FAIL line %d: ", __LINE__);                                                                              \
      printf(__VA_ARGS__);                                                                                             \
      putchar('\n');                                                                                                   \
    }                                                                                                                  \
  } while (0)
