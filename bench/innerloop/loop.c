/* The inner-loop benchmark in C: the same loop as loop.ts and loop.as.ts (keep the three in
 * step). Usage: innerloop <input file> <runs>. Reads the input written by loop.ts
 * (u32 LE header [magic, version, n, m, batch], then p2m[n], orig[2n], expected[2n], req[m]),
 * runs the loop once untimed (warm-up) and then <runs> times, each timed with
 * clock_gettime(CLOCK_MONOTONIC); every run must give the same result. Prints one line:
 * "mismatches checksum ns_1 ... ns_runs", every timed run's nanoseconds in run order, so the
 * caller computes its own statistics. */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NSLABS 32768
#define SEGSIZE 128
#define NSLOTS 2
#define POOL_BASE 0x1000000u
#define R600_FLAGS 0x67u
#define FNV_PRIME 16777619u
#define FNV_OFFSET 2166136261u
#define FILE_MAGIC 0x504c4947u
#define FILE_VERSION 1u

static int32_t list[NSLABS];
static uint32_t bounce[NSLABS];
static uint32_t slot_orig[NSLABS];

static int slot_alloc(int cursor) {
  int index = cursor;
  if (index >= NSLABS) index = 0;
  int wrap = index;
  do {
    if (list[index] >= NSLOTS) {
      list[index] = 0;
      list[index + 1] = 0;
      int32_t count = 0;
      for (int i = index - 1; i >= 0 && (i & (SEGSIZE - 1)) != SEGSIZE - 1 && list[i] != 0; i--) list[i] = ++count;
      return index;
    }
    index++;
    if (index >= NSLABS) index = 0;
  } while (index != wrap);
  return -1;
}

static void slot_free(int index) {
  int end = index + NSLOTS;
  int32_t count = (end & (SEGSIZE - 1)) != 0 ? list[end] : 0;
  for (int i = end - 1; i >= index; i--) list[i] = ++count;
  for (int i = index - 1; i >= 0 && (i & (SEGSIZE - 1)) != SEGSIZE - 1 && list[i] != 0; i--) list[i] = ++count;
}

__attribute__((noinline))
static uint32_t run(const uint32_t *p2m, const uint32_t *orig, const uint32_t *expected, const uint32_t *req,
                    int m, int batch, uint32_t *pte, uint32_t *checksum) {
  for (int i = 0; i < NSLABS; i++) list[i] = SEGSIZE - (i & (SEGSIZE - 1));
  int cursor = 0;
  uint32_t mism = 0;
  uint32_t h = FNV_OFFSET;
  for (int b0 = 0; b0 < m; b0 += batch) {
    int cnt = m - b0 < batch ? m - b0 : batch;
    const uint32_t *rq = req + b0;
    /* Pass 1: map (swiotlb bounce) + bind (r600 PTE). */
    for (int i = 0; i < cnt; i++) {
      uint32_t pfn = rq[i];
      int slot = slot_alloc(cursor);
      if (slot < 0) { pte[2 * i] = 0; pte[2 * i + 1] = 0; continue; }
      cursor = slot + NSLOTS;
      if (cursor >= NSLABS) cursor = 0;
      uint32_t mfn = p2m[pfn];
      bounce[slot] = orig[2 * (size_t)pfn];
      bounce[slot + 1] = orig[2 * (size_t)pfn + 1];
      slot_orig[slot] = mfn;
      slot_orig[slot + 1] = mfn;
      uint64_t bus = POOL_BASE + (uint64_t)slot * 2048u;
      uint64_t p = (bus & ~(uint64_t)0xfff) | R600_FLAGS;
      pte[2 * i] = (uint32_t)p;
      pte[2 * i + 1] = (uint32_t)(p >> 32);
    }
    /* Pass 2: GPU reads through the PTEs. */
    for (int i = 0; i < cnt; i++) {
      uint32_t lo = pte[2 * i], hi = pte[2 * i + 1];
      h = (h ^ lo) * FNV_PRIME;
      int64_t rel = (int64_t)(lo & ~0xfffu) - (int64_t)POOL_BASE;
      if ((lo & 1) == 0 || hi != 0 || rel < 0 || rel >= (int64_t)NSLABS * 2048) { mism += 2; continue; }
      uint32_t slot = (uint32_t)rel >> 11;
      uint32_t pfn = rq[i];
      mism += (bounce[slot] != expected[2 * (size_t)pfn]) + (bounce[slot + 1] != expected[2 * (size_t)pfn + 1]);
      h = (h ^ slot_orig[slot]) * FNV_PRIME;
    }
    /* Pass 3: unmap. */
    for (int i = 0; i < cnt; i++) {
      uint32_t lo = pte[2 * i];
      int64_t rel = (int64_t)(lo & ~0xfffu) - (int64_t)POOL_BASE;
      if ((lo & 1) == 0 || pte[2 * i + 1] != 0 || rel < 0 || rel >= (int64_t)NSLABS * 2048) continue;
      slot_free((int)((uint32_t)rel >> 11));
    }
  }
  *checksum = h;
  return mism;
}

static uint32_t le32(const unsigned char *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint32_t *read_words(FILE *f, size_t count) {
  uint32_t *a = malloc(count * 4 + 4);
  if (!a) { fprintf(stderr, "out of memory\n"); exit(2); }
  if (fread(a, 4, count, f) != count) { fprintf(stderr, "input file too short\n"); exit(2); }
  for (size_t i = 0; i < count; i++) a[i] = le32((const unsigned char *)&a[i]); /* no-op on LE hosts */
  return a;
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: %s <input file> <runs>\n", argv[0]); return 2; }
  int runs = atoi(argv[2]);
  if (runs < 1) { fprintf(stderr, "runs must be >= 1\n"); return 2; }
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 2; }
  uint32_t *hdr = read_words(f, 5);
  if (hdr[0] != FILE_MAGIC || hdr[1] != FILE_VERSION) { fprintf(stderr, "not an inner-loop input file\n"); return 2; }
  uint32_t n = hdr[2], m = hdr[3], batch = hdr[4];
  if (n == 0 || (n & (n - 1)) || batch == 0 || batch > (1u << 20) || m > (1u << 28)) { fprintf(stderr, "bad header\n"); return 2; }
  uint32_t *p2m = read_words(f, n);
  uint32_t *orig = read_words(f, 2 * (size_t)n);
  uint32_t *expected = read_words(f, 2 * (size_t)n);
  uint32_t *req = read_words(f, m);
  fclose(f);
  for (uint32_t i = 0; i < m; i++) if (req[i] >= n) { fprintf(stderr, "request %u out of range\n", i); return 2; }
  uint32_t *pte = calloc(2 * (size_t)batch, 4);
  if (!pte) { fprintf(stderr, "out of memory\n"); return 2; }

  uint32_t c0, c;
  uint32_t m0 = run(p2m, orig, expected, req, (int)m, (int)batch, pte, &c0); /* warm-up, untimed */
  double *ns = calloc((size_t)runs, sizeof(double));
  if (!ns) { fprintf(stderr, "out of memory\n"); return 2; }
  for (int r = 0; r < runs; r++) {
    double t0 = now_ns();
    uint32_t mm = run(p2m, orig, expected, req, (int)m, (int)batch, pte, &c);
    ns[r] = now_ns() - t0;
    if (mm != m0 || c != c0) { fprintf(stderr, "run %d disagrees with the warm-up run\n", r); return 3; }
  }
  printf("%u %u", m0, c0);
  for (int r = 0; r < runs; r++) printf(" %.0f", ns[r]);
  printf("\n");
  return 0;
}
