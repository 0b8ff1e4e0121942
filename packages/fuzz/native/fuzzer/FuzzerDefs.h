// Stands in for compiler-rt's <fuzzer/FuzzerDefs.h>: Debian ships libFuzzer's
// archive (libclang-rt-dev) but not its headers, and Jazzer.js needs only the
// entry point. Jazzer's calls to it go through jazzer-shim.cpp.
#pragma once
#include <cstddef>
#include <cstdint>

namespace fuzzer {
typedef int (*UserCallback)(const uint8_t *Data, size_t Size);
int FuzzerDriver(int *argc, char ***argv, UserCallback Callback);
int JazzerShimDriver(int *argc, char ***argv, UserCallback Callback);
} // namespace fuzzer

#define FuzzerDriver JazzerShimDriver
