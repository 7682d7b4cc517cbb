/* fuzz_tcp_reasm.c — libFuzzer target: a sequence of synthetic segments
 * through tcp_reasm.
 *
 * Each segment takes 5 input bytes:
 *   b0: bits 0-1 flow (4 flows), bit 2 IPv6, bit 3 direction (0 from the
 *       first endpoint), bits 4-7 flags (SYN, FIN, RST, ACK)
 *   b1: sequence delta, signed, times 97 (so holes, overlaps and
 *       retransmissions all happen), relative to that endpoint's last seq
 *   b2: payload length / 64 (0..16320 bytes, from a fixed pattern)
 *   b3: payload length % 64
 *   b4: time step: (b4 & 0x7f) ms, or (b4 & 0x7f) * 10 s when bit 7 is set
 * Payload byte at sequence number x is x mod 256, so the consumer can check
 * that each direction's bytes arrive as one unbroken stream (every byte
 * once, in order, gaps accounted for), that close() comes once per open(),
 * and it frees what open() gave. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/tcp_reasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pattern[256 + 64 * 256];

struct user {
  int closed;
  int known[2];          /* exp[dir] is known */
  uint8_t exp[2];        /* value of the next byte expected */
  int stop_at;
};

static int opens, closes;

static void *f_open(void *ctx, const struct pa_conn *c)
{
  struct user *u;

  (void)ctx;
  if (c->client_port % 7 == 3)
    return NULL; /* ignore some flows */
  u = calloc(1, sizeof *u);
  if (!u)
    return NULL;
  u->stop_at = c->client_port % 5 == 1 ? 3 : 0;
  opens++;
  return u;
}

static int f_data(void *ctx, void *user, int dir, const uint8_t *p, size_t len, int64_t ts)
{
  struct user *u = user;
  static int calls;

  (void)ctx;
  (void)ts;
  if (u->closed || len == 0 || (dir != 0 && dir != 1))
    __builtin_trap();
  if (u->known[dir] && p[0] != u->exp[dir])
    __builtin_trap();
  for (size_t i = 1; i < len; i++)
    if (p[i] != (uint8_t)(p[i - 1] + 1))
      __builtin_trap();
  u->known[dir] = 1;
  u->exp[dir] = (uint8_t)(p[len - 1] + 1);
  calls++;
  return u->stop_at && calls % u->stop_at == 0;
}

static void f_gap(void *ctx, void *user, int dir, uint64_t n, int64_t ts)
{
  struct user *u = user;

  (void)ctx;
  (void)ts;
  if (u->closed || n == 0 || (dir != 0 && dir != 1))
    __builtin_trap();
  u->exp[dir] = (uint8_t)(u->exp[dir] + n);
}

static void f_close(void *ctx, void *user, enum pa_reasm_reason why, int64_t ts)
{
  struct user *u = user;

  (void)ctx;
  (void)ts;
  (void)why;
  if (u->closed)
    __builtin_trap();
  u->closed = 1;
  closes++;
  free(u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct pa_reasm_cb cb = {0};
  pa_reasm *r;
  uint32_t seq[4][2];
  int64_t ts = 1700000000LL * 1000000;

  if (!pattern[1])
    for (size_t i = 0; i < sizeof pattern; i++)
      pattern[i] = (uint8_t)i;
  cb.open = f_open;
  cb.data = f_data;
  cb.gap = f_gap;
  cb.close = f_close;
  if (pa_reasm_new(&cb, "fuzz", &r))
    return 0;
  opens = closes = 0;
  for (int i = 0; i < 4; i++)
    seq[i][0] = seq[i][1] = (uint32_t)i * 0x40000000u - 5000;
  for (size_t i = 0; i + 5 <= size; i += 5) {
    const uint8_t *b = data + i;
    struct pa_tcp_seg s;
    int flow = b[0] & 3, v6 = (b[0] >> 2) & 1, dir = (b[0] >> 3) & 1;
    size_t len = (size_t)b[2] * 64 + (b[3] & 63);

    memset(&s, 0, sizeof s);
    s.family = v6 ? 6 : 4;
    s.src[0] = s.dst[0] = 10;
    s.src[3] = (uint8_t)(1 + dir);
    s.dst[3] = (uint8_t)(2 - dir);
    s.sport = (uint16_t)(dir ? 104 : 40000 + flow);
    s.dport = (uint16_t)(dir ? 40000 + flow : 104);
    s.flags = (uint8_t)(((b[0] & 0x10) ? PA_TCP_SYN : 0) | ((b[0] & 0x20) ? PA_TCP_FIN : 0) |
                        ((b[0] & 0x40) ? PA_TCP_RST : 0) | ((b[0] & 0x80) ? PA_TCP_ACK : 0));
    seq[flow][dir] += (uint32_t)((int32_t)(int8_t)b[1] * 97);
    s.seq = seq[flow][dir];
    s.payload = pattern + (s.seq + ((s.flags & PA_TCP_SYN) ? 1u : 0u)) % 256;
    s.len = len;
    ts += (b[4] & 0x80) ? (int64_t)(b[4] & 0x7f) * 10000000 : (int64_t)(b[4] & 0x7f) * 1000;
    (void)pa_reasm_packet(r, &s, ts);
    seq[flow][dir] += (uint32_t)len;
  }
  pa_reasm_flush(r, PA_REASM_EOF, 0);
  if (opens != closes)
    __builtin_trap();
  pa_reasm_free(r);
  return 0;
}
