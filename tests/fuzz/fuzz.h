/*
 * fuzz.h - shared glue for tern's fuzz targets.  A target defines
 * FUZZ(data, size) { ... }; under libFuzzer (make fuzz) that is
 * LLVMFuzzerTestOneInput, under make test replay.c feeds it each corpus file.
 */
#ifndef TERN_FUZZ_H
#define TERN_FUZZ_H

#include "sys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ(data, size) int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)

#endif
