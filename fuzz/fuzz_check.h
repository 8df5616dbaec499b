// What the fuzz targets share: an invariant that fails stops the run as a
// crash, with a line saying which invariant, so libFuzzer saves the input.
#ifndef WATCHD_FUZZ_FUZZ_CHECK_H_
#define WATCHD_FUZZ_FUZZ_CHECK_H_

#include <cstdio>

#define FUZZ_CHECK(cond)                                              \
  do {                                                                \
    if (!(cond)) {                                                    \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                  \
      __builtin_trap();                                               \
    }                                                                 \
  } while (0)

#endif  // WATCHD_FUZZ_FUZZ_CHECK_H_
