/* What moving data between the two cores costs on this machine, which bounds what splitting a kernel call can buy.
 *   gcc -O2 -pthread bench/cross-core.c -o /tmp/cross-core && /tmp/cross-core
 * Prints the round trip of one cache line between core 0 and core 1 (atomic ping-pong), and the time to read a
 * buffer that core 0 has just written: on core 0 (its own cache) and on core 1 (every line crosses over), one load
 * per 64-byte line, median of 21. A split kernel call hands the helper half of an input that the main thread wrote
 * (tfjs ops, unsplit kernels and the JS glue all run there), and the main thread then reads the helper's half of the
 * output: a memory-bound kernel cannot gain from the second core when a line crosses over 4-5x slower than it
 * reads from its own cache. Not part of npm test; C so that the loads, not a JIT, are measured. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PINGS 200000
#define ROUNDS 21

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}
static void pin(int core) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(core, &s);
  pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}
static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
static double median(double *v) {
  qsort(v, ROUNDS, sizeof *v, cmp);
  return v[ROUNDS / 2];
}
static volatile float sink;
static float sweep(const float *f, size_t n) {
  float s = 0;
  for (size_t i = 0; i < n; i += 16) s += f[i];
  return s;
}

static _Atomic int ping __attribute__((aligned(64)));
static _Atomic int stage __attribute__((aligned(64)));
static float *buf;
static size_t n;
static double remote[ROUNDS];

static void *pong(void *arg) {
  (void)arg;
  pin(1);
  for (int i = 0; i < PINGS; i++) {
    while (atomic_load(&ping) != 2 * i + 1) {}
    atomic_store(&ping, 2 * i + 2);
  }
  return 0;
}
static void *reader(void *arg) {
  (void)arg;
  pin(1);
  for (int r = 0; r < ROUNDS; r++) {
    while (atomic_load(&stage) != 2 * r + 1) {}
    double t = now();
    sink = sweep(buf, n);
    remote[r] = now() - t;
    atomic_store(&stage, 2 * r + 2);
  }
  return 0;
}

int main(void) {
  pthread_t t;
  pin(0);
  pthread_create(&t, 0, pong, 0);
  double t0 = now();
  for (int i = 0; i < PINGS; i++) {
    atomic_store(&ping, 2 * i + 1);
    while (atomic_load(&ping) != 2 * i + 2) {}
  }
  double rt = (now() - t0) / PINGS;
  pthread_join(t, 0);
  printf("cache-line round trip core 0 <-> core 1: %.0f ns\n", rt * 1e9);
  for (size_t kib = 256; kib <= 4096; kib *= 2) {
    double own[ROUNDS];
    n = kib * 256;
    buf = aligned_alloc(64, n * sizeof(float));
    atomic_store(&stage, 0);
    pthread_create(&t, 0, reader, 0);
    for (int r = 0; r < ROUNDS; r++) {
      for (size_t i = 0; i < n; i++) buf[i] = (float)(r + i);
      double t1 = now();
      sink = sweep(buf, n);
      own[r] = now() - t1;
      for (size_t i = 0; i < n; i++) buf[i] = (float)r - (float)i;
      atomic_store(&stage, 2 * r + 1);
      while (atomic_load(&stage) != 2 * r + 2) {}
    }
    pthread_join(t, 0);
    double o = median(own), m = median(remote);
    printf("%5zu KiB written by core 0: read by core 0 %7.1f us (%6.1f GB/s), by core 1 %7.1f us (%6.1f GB/s), %.1fx\n",
           kib, o * 1e6, kib * 1024 / o / 1e9, m * 1e6, kib * 1024 / m / 1e9, m / o);
    free(buf);
  }
  return 0;
}
