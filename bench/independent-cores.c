/* Do the two cores run independent work at full speed side by side? A register-only loop of 128-bit multiplies and
 * adds (8 chains, as wasm SIMD without FMA), or a streaming loop (load, add, multiply, store) over a buffer of a given
 * size. Run it alone and twice at once on the two cores to compare (bench/README.md, "Fifth round"):
 *   gcc -O2 -msse4.2 bench/independent-cores.c -o /tmp/independent-cores
 *   taskset -c 0 /tmp/independent-cores compute 400000000
 *   (taskset -c 0 /tmp/independent-cores compute 400000000 & taskset -c 1 /tmp/independent-cores compute 400000000 & wait)
 *   taskset -c 0 /tmp/independent-cores stream 4194304 476      # 16 MiB of floats, 476 passes
 * Not part of npm test; C so that the loads and the arithmetic, not a JIT, are measured. */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 3 || (strcmp(argv[1], "compute") != 0 && strcmp(argv[1], "stream") != 0) ||
      (strcmp(argv[1], "stream") == 0 && argc < 4)) {
    fprintf(stderr, "usage: %s compute ITERATIONS | stream FLOATS PASSES\n", argv[0]);
    return 2;
  }
  long n = atol(argv[2]);
  if (strcmp(argv[1], "compute") == 0) {
    __m128 a[8];
    for (int i = 0; i < 8; i++) a[i] = _mm_set1_ps(1.0f + i * 1e-7f);
    const __m128 m = _mm_set1_ps(0.9999999f), c = _mm_set1_ps(1e-7f);
    double t0 = now();
    for (long k = 0; k < n; k++)
      for (int i = 0; i < 8; i++) a[i] = _mm_add_ps(_mm_mul_ps(a[i], m), c);
    double t = now() - t0;
    float o[4], s = 0;
    for (int i = 0; i < 8; i++) { _mm_storeu_ps(o, a[i]); s += o[0]; }
    printf("compute: %.3f s, %.2f GFLOP/s (checksum %g)\n", t, n * 8.0 * 4 * 2 / t / 1e9, s);
  } else {
    int passes = atoi(argv[3]);
    float *x = aligned_alloc(64, ((n * 4 + 63) / 64) * 64);
    if (!x) { fprintf(stderr, "cannot allocate %ld floats\n", n); return 1; }
    for (long i = 0; i < n; i++) x[i] = 1;
    __m128 acc = _mm_setzero_ps();
    const __m128 m = _mm_set1_ps(1.0000001f);
    double t0 = now();
    for (int p = 0; p < passes; p++)
      for (long i = 0; i + 4 <= n; i += 4) {
        __m128 v = _mm_load_ps(x + i);
        acc = _mm_add_ps(acc, v);
        _mm_store_ps(x + i, _mm_mul_ps(v, m));
      }
    double t = now() - t0;
    float o[4];
    _mm_storeu_ps(o, acc);
    printf("stream %ld KiB: %.3f s, %.2f GB/s read + written (checksum %g)\n", n * 4 / 1024, t, (double)n * 8 * passes / t / 1e9, o[0]);
  }
  return 0;
}
