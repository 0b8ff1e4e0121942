// Jazzer.js's addon expects its own fork of libFuzzer; these few functions
// let it run on stock libFuzzer (compiler-rt), as Debian packages it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace fuzzer {
typedef int (*UserCallback)(const uint8_t *Data, size_t Size);
int FuzzerDriver(int *argc, char ***argv, UserCallback Callback);
} // namespace fuzzer

namespace libfuzzer {
extern void (*PrintCrashingInput)();
const int EXIT_ERROR_CODE = 77;
const int RETURN_EXIT = -2;
} // namespace libfuzzer

extern "C" {
void __jazzer_set_death_callback(void (*callback)());
void __sanitizer_cov_trace_const_cmp8(uint64_t arg1, uint64_t arg2);
void __sanitizer_cov_trace_pc_indir(uintptr_t callee);

// Stock libFuzzer registers its death callback (write the input, print the
// stats) through the sanitizer interface; the fork names it differently.
void __sanitizer_set_death_callback(void (*callback)()) {
  __jazzer_set_death_callback(callback);
}

// The fork takes a comparison's site as an argument, stock libFuzzer takes
// it from the return address. The site only feeds value profiling (off by
// default); the compared values still reach the mutator's dictionary.
void __sanitizer_cov_trace_const_cmp8_with_pc(uintptr_t, uint64_t arg1, uint64_t arg2) {
  __sanitizer_cov_trace_const_cmp8(arg1, arg2);
}
void __sanitizer_cov_trace_pc_indir_with_pc(void *, uintptr_t callee) {
  __sanitizer_cov_trace_pc_indir(callee);
}
}

namespace {
fuzzer::UserCallback gTarget = nullptr;

// The fork stops its loop when the target answers RETURN_EXIT (a finding
// Jazzer reports from JavaScript); stock libFuzzer would go on fuzzing.
// Stop here instead: write the input as a crash artifact and exit.
int StopOnExit(const uint8_t *data, size_t size) {
  int result = gTarget(data, size);
  if (result == libfuzzer::RETURN_EXIT) {
    if (libfuzzer::PrintCrashingInput) libfuzzer::PrintCrashingInput();
    _Exit(libfuzzer::EXIT_ERROR_CODE);
  }
  return result;
}
} // namespace

namespace fuzzer {
int JazzerShimDriver(int *argc, char ***argv, UserCallback callback) {
  gTarget = callback;
  return FuzzerDriver(argc, argv, StopOnExit);
}
} // namespace fuzzer
