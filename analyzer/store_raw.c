/* store_raw.c — the raw store (see store.h): every received message kept
 * verbatim once, compressed with zstd and a dictionary trained on the store's
 * own messages, on a SHA-256 hash chain; repeats of a message, quarantined
 * input, and the chain's verification (which also reads the zlib rows of
 * stores older than schema 10). */
#include "store_int.h"
#include "limits.h"
#include "tm.h"
#include "utf8.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zdict.h>
#include <zstd.h>

/* The chain (docs/schema.md, raw). Version 1, rows stored before schema 10:
 *   chain_hash = SHA-256(prev_hash || sha256)
 * Version 2 also covers where and when the row was received:
 *   chain_hash = SHA-256(prev_hash || sha256 || meta), meta being 51 bytes:
 *   0x02 || origin? (0 NULL, 1) || SHA-256(origin as stored, 32 zero bytes
 *   when NULL) || offset? (0 NULL, 1) || offset (int64 big-endian, 0 when
 *   NULL) || received_ts (int64 big-endian).
 * prev_hash is absent for the first row. A v2 input is always longer than a
 * v1 one (83 or 115 bytes against 32 or 64), so the two never collide. */
struct chain_meta {
  const char *origin; /* as stored: NULL, or valid UTF-8 that is not "" */
  size_t origin_len;
  int offset_null;    /* the offset is NULL (a datagram) */
  int64_t offset;
  int64_t received_ts;
};

#define CHAIN_META_LEN 51

static void put_be64(uint8_t *p, int64_t v)
{
  uint64_t u = (uint64_t)v;
  for (int i = 7; i >= 0; i--, u >>= 8)
    p[i] = (uint8_t)(u & 0xff);
}

static void chain_next(const uint8_t *prev, const uint8_t sha[PA_SHA256_LEN],
                       const struct chain_meta *m, uint8_t out[PA_SHA256_LEN])
{
  uint8_t all[2 * PA_SHA256_LEN + CHAIN_META_LEN];
  size_t n = 0;
  if (prev) {
    memcpy(all, prev, PA_SHA256_LEN);
    n = PA_SHA256_LEN;
  }
  memcpy(all + n, sha, PA_SHA256_LEN);
  n += PA_SHA256_LEN;
  if (m) {
    uint8_t *p = all + n;
    p[0] = 2;
    p[1] = m->origin ? 1 : 0;
    if (m->origin)
      pa_sha256(m->origin, m->origin_len, p + 2);
    else
      memset(p + 2, 0, PA_SHA256_LEN);
    p[34] = m->offset_null ? 0 : 1;
    put_be64(p + 35, m->offset_null ? 0 : m->offset);
    put_be64(p + 43, m->received_ts);
    n += CHAIN_META_LEN;
  }
  pa_sha256(all, n, out);
}

static pa_rc load_chain_tip(pa_store *s)
{
  sqlite3_stmt *q = NULL;
  int rc;

  if (s->have_chain)
    return PA_OK;
  if (sqlite3_prepare_v2(s->db, "SELECT chain_hash FROM raw ORDER BY id DESC LIMIT 1", -1,
                         &q, NULL) != SQLITE_OK)
    return PA_DB;
  rc = sqlite3_step(q);
  s->chain_empty = 1;
  if (rc == SQLITE_ROW && sqlite3_column_bytes(q, 0) == PA_SHA256_LEN) {
    memcpy(s->chain_tip, sqlite3_column_blob(q, 0), PA_SHA256_LEN);
    s->chain_empty = 0;
  }
  sqlite3_finalize(q);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    pa__store_txn_fail(s);
    return PA_DB;
  }
  s->have_chain = 1;
  return PA_OK;
}

/* A dictionary digested for compression, shared with the threads that
 * compress ahead of the writer (store.h). */
struct pa_raw_zdict {
  atomic_int refs;
  ZSTD_CDict *cd; /* owned */
};

static pa_raw_zdict *zdict_new(const void *bytes, size_t len)
{
  pa_raw_zdict *d = malloc(sizeof *d);

  if (!d)
    return NULL;
  if (!(d->cd = ZSTD_createCDict(bytes, len, 1))) {
    free(d);
    return NULL;
  }
  atomic_init(&d->refs, 1);
  return d;
}

void pa_raw_zdict_ref(const pa_raw_zdict *d)
{
  atomic_fetch_add(&((pa_raw_zdict *)d)->refs, 1);
}

void pa_raw_zdict_unref(const pa_raw_zdict *d)
{
  pa_raw_zdict *w = (pa_raw_zdict *)d;

  if (w && atomic_fetch_sub(&w->refs, 1) == 1) {
    ZSTD_freeCDict(w->cd);
    free(w);
  }
}

/* raw.compressed */
enum { RAW_PLAIN = 0, RAW_ZLIB = 1, RAW_ZSTD = 2 };

/* A dictionary loaded for decompression, by raw_dicts.id. */
struct raw_ddict {
  int64_t id;       /* 0: an empty slot */
  ZSTD_DDict *d;    /* owned */
  uint64_t used;    /* when last used (the cache's clock), for replacement */
};

/* The compression side of the store, created on the first message.
 *
 * Writing: one ZSTD_CCtx for every message; the current dictionary (the
 * newest of raw_dicts) digested once into a ZSTD_CDict. Until a dictionary
 * exists, and again when the traffic changes, the messages stored are also
 * kept (their first PA_RAW_DICT_SAMPLE_MAX bytes) in a bounded sample buffer;
 * once PA_RAW_DICT_SAMPLES are in (or PA_RAW_DICT_SAMPLE_BYTES), a dictionary
 * is trained on them and stored in raw_dicts, in the transaction of the
 * message that completed the sample. What changes the traffic: the ratio of
 * stored to original bytes over each window of PA_RAW_DICT_WINDOW messages,
 * against the first window compressed with the same dictionary; a window
 * PA_RAW_DICT_RETRAIN_PCT % of it or worse starts a new sample.
 *
 * Reading: one ZSTD_DCtx and up to PA_RAW_DICT_CACHE digested dictionaries. */
struct pa__raw_z {
  ZSTD_CCtx *cctx;
  int64_t dict_id;                  /* the current dictionary, 0 none */
  uint8_t dict_sha[PA_SHA256_LEN];  /* its sha256, to see it replaced */
  pa_raw_zdict *cdict;              /* it, digested (one reference); NULL none */
  int sampling;                     /* gathering samples for a new dictionary */
  uint64_t skip;                    /* messages to let pass before sampling again */
  unsigned fails;                   /* trainings failed in a row */
  uint8_t *samp;                    /* the samples, end to end */
  size_t samp_len;
  size_t samp_sizes[PA_RAW_DICT_SAMPLES];
  unsigned n_samp;
  uint64_t win_n, win_in, win_out;  /* the open window: messages, bytes in and stored */
  double base;                      /* stored/original of the first window, 0 not yet */
  ZSTD_DCtx *dctx;
  struct raw_ddict dd[PA_RAW_DICT_CACHE];
  uint64_t dd_clock;
};

static void ddict_clear(struct pa__raw_z *z)
{
  for (int i = 0; i < PA_RAW_DICT_CACHE; i++) {
    ZSTD_freeDDict(z->dd[i].d);
    z->dd[i].d = NULL;
    z->dd[i].id = 0;
  }
}

void pa__store_raw_free(pa_store *s)
{
  struct pa__raw_z *z = s->rz;

  free(s->zbuf);
  s->zbuf = NULL;
  s->zbuf_size = 0;
  if (!z)
    return;
  ZSTD_freeCCtx(z->cctx);
  pa_raw_zdict_unref(z->cdict);
  ZSTD_freeDCtx(z->dctx);
  ddict_clear(z);
  free(z->samp);
  free(z);
  s->rz = NULL;
}

/* The compression state, created on first use; NULL when out of memory. */
static struct pa__raw_z *raw_z(pa_store *s)
{
  struct pa__raw_z *z = s->rz;

  if (z)
    return z;
  if (!(z = calloc(1, sizeof *z)))
    return NULL;
  z->sampling = 1;
  s->rz = z;
  return z;
}

/* A fresh start for the ratio rule (a new dictionary, or none). */
static void window_reset(struct pa__raw_z *z)
{
  z->win_n = z->win_in = z->win_out = 0;
  z->base = 0;
}

static void samples_drop(struct pa__raw_z *z)
{
  z->samp_len = 0;
  z->n_samp = 0;
}

/* Makes (id, bytes) the current dictionary for writing. */
static pa_rc use_dict(struct pa__raw_z *z, int64_t id, const void *bytes, size_t len,
                      const uint8_t sha[PA_SHA256_LEN])
{
  pa_raw_zdict *cd = zdict_new(bytes, len);

  if (!cd)
    return PA_NOMEM;
  if (z->cctx)
    ZSTD_CCtx_refCDict(z->cctx, cd->cd);
  pa_raw_zdict_unref(z->cdict);
  z->cdict = cd;
  z->dict_id = id;
  memcpy(z->dict_sha, sha, PA_SHA256_LEN);
  z->sampling = 0;
  z->skip = 0;
  z->fails = 0;
  samples_drop(z);
  window_reset(z);
  return PA_OK;
}

/* At the start of each write transaction: the newest dictionary of
 * raw_dicts becomes the current one. Another writer may have trained one
 * since our last batch, and a batch that rolled back took its dictionary
 * with it. */
static pa_rc load_dict(pa_store *s)
{
  struct pa__raw_z *z = raw_z(s);
  sqlite3_stmt *q = NULL;
  pa_rc rc = PA_DB;
  int r;

  if (!z)
    return PA_NOMEM;
  if (sqlite3_prepare_v2(s->db, "SELECT id, sha256 FROM raw_dicts ORDER BY id DESC LIMIT 1",
                         -1, &q, NULL) != SQLITE_OK)
    goto out;
  r = sqlite3_step(q);
  if (r == SQLITE_DONE) {
    if (z->dict_id) { /* ours was rolled back: none any more */
      if (z->cctx)
        ZSTD_CCtx_refCDict(z->cctx, NULL);
      pa_raw_zdict_unref(z->cdict);
      z->cdict = NULL;
      z->dict_id = 0;
      z->sampling = 1;
      samples_drop(z);
      window_reset(z);
    }
    rc = PA_OK;
    goto out;
  }
  if (r != SQLITE_ROW)
    goto out;
  if (sqlite3_column_int64(q, 0) == z->dict_id &&
      sqlite3_column_bytes(q, 1) == PA_SHA256_LEN &&
      !memcmp(sqlite3_column_blob(q, 1), z->dict_sha, PA_SHA256_LEN)) {
    rc = PA_OK;
    goto out;
  }
  {
    int64_t id = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    q = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT bytes, sha256 FROM raw_dicts WHERE id = ?1", -1, &q,
                           NULL) != SQLITE_OK)
      goto out;
    sqlite3_bind_int64(q, 1, id);
    if (sqlite3_step(q) != SQLITE_ROW)
      goto out;
    if (sqlite3_column_bytes(q, 0) == 0 || sqlite3_column_bytes(q, 1) != PA_SHA256_LEN) {
      rc = PA_OK; /* unusable (dropped): write without, until a new one is trained */
      goto out;
    }
    rc = use_dict(z, id, sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0),
                  sqlite3_column_blob(q, 1));
  }
out:
  sqlite3_finalize(q);
  if (rc == PA_DB)
    pa__store_txn_fail(s);
  return rc;
}

/* Trains a dictionary on the samples and stores it in raw_dicts (in the open
 * transaction); it becomes the current one. A training that fails (too few
 * or too alike samples) is no error: the messages go on without, and the
 * next sample is gathered after a wait that grows with each failure. */
static pa_rc train_dict(pa_store *s)
{
  struct pa__raw_z *z = s->rz;
  uint8_t sha[PA_SHA256_LEN];
  uint8_t *dict = malloc(PA_RAW_DICT_SIZE);
  sqlite3_stmt *q = NULL;
  size_t n;
  pa_rc rc = PA_NOMEM;

  if (!dict)
    goto out;
  n = ZDICT_trainFromBuffer(dict, PA_RAW_DICT_SIZE, z->samp, z->samp_sizes, z->n_samp);
  if (ZDICT_isError(n)) {
    unsigned w = ++z->fails;
    z->skip = (uint64_t)(w < PA_RAW_DICT_BACKOFF_MAX ? w : PA_RAW_DICT_BACKOFF_MAX) *
              PA_RAW_DICT_SAMPLES;
    samples_drop(z);
    rc = PA_OK;
    goto out;
  }
  pa_sha256(dict, n, sha);
  rc = PA_DB;
  if (sqlite3_prepare_v2(s->db,
                         "INSERT INTO raw_dicts (created_at, samples, size, bytes, sha256)"
                         " VALUES (?1, ?2, ?3, ?4, ?5)", -1, &q, NULL) != SQLITE_OK)
    goto out;
  sqlite3_bind_int64(q, 1, pa_time_now());
  sqlite3_bind_int64(q, 2, z->n_samp);
  sqlite3_bind_int64(q, 3, (int64_t)n);
  sqlite3_bind_blob(q, 4, dict, (int)n, SQLITE_STATIC);
  sqlite3_bind_blob(q, 5, sha, sizeof sha, SQLITE_STATIC);
  if (sqlite3_step(q) != SQLITE_DONE)
    goto out;
  rc = use_dict(z, sqlite3_last_insert_rowid(s->db), dict, n, sha);
out:
  sqlite3_finalize(q);
  free(dict);
  if (rc == PA_DB)
    pa__store_txn_fail(s);
  return rc;
}

/* Takes a message stored into the sample, training when it is full. */
static pa_rc sample(pa_store *s, const void *p, size_t len)
{
  struct pa__raw_z *z = s->rz;
  size_t take = len < PA_RAW_DICT_SAMPLE_MAX ? len : PA_RAW_DICT_SAMPLE_MAX;

  if (!z->sampling || len < PA_RAW_MIN_COMPRESS)
    return PA_OK;
  if (z->skip) {
    z->skip--;
    return PA_OK;
  }
  if (!z->samp && !(z->samp = malloc(PA_RAW_DICT_SAMPLE_BYTES)))
    return PA_NOMEM;
  if (z->samp_len + take > PA_RAW_DICT_SAMPLE_BYTES)
    return train_dict(s); /* the byte cap: train on what is in */
  memcpy(z->samp + z->samp_len, p, take);
  z->samp_len += take;
  z->samp_sizes[z->n_samp++] = take;
  if (z->n_samp < PA_RAW_DICT_SAMPLES)
    return PA_OK;
  return train_dict(s);
}

/* The ratio rule: one more message of len bytes stored as out bytes with
 * the current dictionary. */
static void window_add(struct pa__raw_z *z, size_t len, size_t out)
{
  double r;

  if (!z->dict_id || z->sampling)
    return;
  z->win_n++;
  z->win_in += len;
  z->win_out += out;
  if (z->win_n < PA_RAW_DICT_WINDOW)
    return;
  r = z->win_in ? (double)z->win_out / (double)z->win_in : 1.0;
  if (z->base == 0)
    z->base = r;
  else if (r * 100 >= z->base * PA_RAW_DICT_RETRAIN_PCT)
    z->sampling = 1; /* the traffic changed: gather a new sample */
  z->win_n = z->win_in = z->win_out = 0;
}

/* A compression context set up as every raw frame is made: level 1, no
 * checksum (the row's sha256 covers the bytes), no dictionary id (the row
 * names its dictionary), dictionary d (NULL none). NULL when out of
 * memory. */
static ZSTD_CCtx *zc_new(const pa_raw_zdict *d)
{
  ZSTD_CCtx *c = ZSTD_createCCtx();

  if (!c)
    return NULL;
  if (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_dictIDFlag, 0)) ||
      ZSTD_isError(ZSTD_CCtx_refCDict(c, d ? d->cd : NULL))) {
    ZSTD_freeCCtx(c);
    return NULL;
  }
  return c;
}

/* p as one frame with c into *buf (grown as needed, owned by the caller);
 * the frame's size, or 0 when it does not pay (short or incompressible
 * input) or cannot be done. */
static size_t zc_frame(ZSTD_CCtx *c, const void *p, size_t len, uint8_t **buf, size_t *cap)
{
  size_t bound, n;

  if (len < PA_RAW_MIN_COMPRESS || len > PA_RAW_MAX_SIZE)
    return 0;
  bound = ZSTD_compressBound(len);
  if (bound > *cap) {
    uint8_t *nb = realloc(*buf, bound);
    if (!nb)
      return 0;
    *buf = nb;
    *cap = bound;
  }
  n = ZSTD_compress2(c, *buf, bound, p, len);
  if (ZSTD_isError(n) || n >= len)
    return 0;
  return n;
}

/* Compresses p into s->zbuf as one zstd frame, with the current dictionary
 * if there is one; returns the compressed size, or 0 when it does not pay
 * or cannot be done. */
static size_t compress_raw(pa_store *s, const void *p, size_t len)
{
  struct pa__raw_z *z = s->rz;

  if (len < PA_RAW_MIN_COMPRESS || len > PA_RAW_MAX_SIZE)
    return 0;
  if (!z->cctx && !(z->cctx = zc_new(z->cdict)))
    return 0;
  return zc_frame(z->cctx, p, len, &s->zbuf, &s->zbuf_size);
}

const pa_raw_zdict *pa_store_raw_zdict(pa_store *s)
{
  return s->rz ? s->rz->cdict : NULL;
}

void pa_raw_zc_cleanup(struct pa_raw_zc *zc)
{
  ZSTD_freeCCtx(zc->cctx);
  free(zc->buf);
  memset(zc, 0, sizeof *zc);
}

void pa_raw_precompute(struct pa_raw_zc *zc, const pa_raw_zdict *dict, const void *p,
                       size_t len, struct pa_raw_pre *out)
{
  size_t bound;

  out->dict = dict;
  out->z = NULL;
  out->zlen = 0;
  out->framed = 1;
  if (len < PA_RAW_MIN_COMPRESS || len > PA_RAW_MAX_SIZE)
    return; /* kept verbatim, as the writer would */
  out->framed = 0; /* until it is made: the writer compresses itself */
  if (zc->cctx && zc->dict != dict &&
      ZSTD_isError(ZSTD_CCtx_refCDict(zc->cctx, dict ? dict->cd : NULL))) {
    ZSTD_freeCCtx(zc->cctx);
    zc->cctx = NULL;
  }
  if (!zc->cctx && !(zc->cctx = zc_new(dict)))
    return;
  zc->dict = dict;
  bound = ZSTD_compressBound(len);
  if (bound > zc->cap) {
    uint8_t *nb = realloc(zc->buf, bound);
    if (!nb)
      return;
    zc->buf = nb;
    zc->cap = bound;
  }
  out->zlen = zc_frame(zc->cctx, p, len, &zc->buf, &zc->cap);
  out->z = out->zlen ? zc->buf : NULL;
  out->framed = 1;
}

pa_rc pa_store_put_raw(pa_store *s, const void *p, size_t len, const char *origin,
                       int64_t offset, int64_t received_ts, int64_t *id_out,
                       int *dup_out)
{
  return pa_store_put_raw_pre(s, p, len, NULL, origin, offset, received_ts, id_out, dup_out);
}

pa_rc pa_store_put_raw_pre(pa_store *s, const void *p, size_t len, const struct pa_raw_pre *pre,
                           const char *origin, int64_t offset, int64_t received_ts,
                           int64_t *id_out, int *dup_out)
{
  uint8_t sha[PA_SHA256_LEN], chain[PA_SHA256_LEN];
  struct chain_meta meta;
  char *fixed = NULL;
  const uint8_t *zbytes;
  sqlite3_stmt *q;
  size_t zlen;
  pa_rc rc;
  int r;

  *id_out = 0;
  *dup_out = 0;
  if (pre)
    memcpy(sha, pre->sha, sizeof sha);
  else
    pa_sha256(p, len, sha);
  if (!s->in_batch) {
    /* one message on its own: the same lock discipline as a batch */
    if ((rc = pa_store_batch_begin(s)) || (rc = pa__store_write_begin(s)))
      return rc;
    rc = pa_store_put_raw_pre(s, p, len, pre, origin, offset, received_ts, id_out, dup_out);
    if (rc)
      pa__store_txn_fail(s); /* the commit below rolls back */
    if (pa_store_batch_commit(s) && !rc)
      rc = PA_DB;
    return rc;
  }
  if ((rc = pa__store_write_begin(s)))
    return rc;
  if (!(q = pa__store_stmt(s, PA__ST_RAW_FIND)))
    return PA_DB;
  sqlite3_bind_blob(q, 1, sha, sizeof sha, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, pa__store_sha_key(sha));
  r = sqlite3_step(q);
  if (r == SQLITE_ROW) {
    *id_out = sqlite3_column_int64(q, 0);
    *dup_out = 1;
  }
  sqlite3_reset(q);
  if (r != SQLITE_ROW && r != SQLITE_DONE) {
    pa__store_txn_fail(s);
    return PA_DB;
  }
  if (*dup_out)
    return PA_OK;
  if ((!s->have_chain || !s->rz) && (rc = load_dict(s)))
    return rc;
  if ((rc = load_chain_tip(s)))
    return rc;
  /* the chain covers origin as the column holds it (pa__store_bind_text:
   * "" is NULL, a byte that is not UTF-8 is U+FFFD) */
  meta.origin = origin && *origin ? origin : NULL;
  meta.origin_len = meta.origin ? strlen(origin) : 0;
  if (meta.origin && !pa_utf8_valid(meta.origin, meta.origin_len)) {
    if (!(fixed = pa_utf8_repair(origin, meta.origin_len, &meta.origin_len))) {
      pa__store_txn_fail(s);
      return PA_NOMEM;
    }
    meta.origin = fixed;
  }
  meta.offset_null = offset < 0; /* pa__store_bind_opt: NULL */
  meta.offset = offset;
  meta.received_ts = received_ts;
  chain_next(s->chain_empty ? NULL : s->chain_tip, sha, &meta, chain);
  if ((rc = sample(s, p, len))) { /* may train a dictionary and switch to it */
    free(fixed);
    return rc;
  }
  if (pre && pre->framed && pre->dict == s->rz->cdict) {
    zlen = pre->zlen; /* made ahead with the dictionary the store writes with */
    zbytes = pre->z;
  } else {
    zlen = compress_raw(s, p, len);
    zbytes = s->zbuf;
  }
  window_add(s->rz, len, zlen ? zlen : len);
  if (!(q = pa__store_stmt(s, PA__ST_RAW_INS))) {
    free(fixed);
    return PA_DB;
  }
  sqlite3_bind_int64(q, 1, received_ts);
  if (meta.origin)
    sqlite3_bind_text(q, 2, meta.origin, (int)meta.origin_len, SQLITE_STATIC);
  else
    sqlite3_bind_null(q, 2);
  pa__store_bind_opt(q, 3, offset);
  sqlite3_bind_int64(q, 4, (int64_t)len);
  sqlite3_bind_int(q, 5, zlen ? RAW_ZSTD : RAW_PLAIN);
  if (zlen)
    sqlite3_bind_blob(q, 6, zbytes, (int)zlen, SQLITE_STATIC);
  else
    sqlite3_bind_blob(q, 6, len ? p : "", (int)len, SQLITE_STATIC);
  sqlite3_bind_blob(q, 7, sha, sizeof sha, SQLITE_STATIC);
  if (s->chain_empty)
    sqlite3_bind_null(q, 8);
  else
    sqlite3_bind_blob(q, 8, s->chain_tip, PA_SHA256_LEN, SQLITE_STATIC);
  sqlite3_bind_blob(q, 9, chain, sizeof chain, SQLITE_STATIC);
  if (zlen && s->rz->dict_id)
    sqlite3_bind_int64(q, 10, s->rz->dict_id);
  sqlite3_bind_int64(q, 11, pa__store_sha_key(sha));
  rc = pa__store_step_done(s, q);
  sqlite3_clear_bindings(q);
  free(fixed); /* the statement is reset: SQLite holds no pointer to it */
  if (rc) {
    /* the tip may be stale if another writer appended: reload next time */
    s->have_chain = 0;
    return rc;
  }
  memcpy(s->chain_tip, chain, sizeof chain);
  s->chain_empty = 0;
  *id_out = sqlite3_last_insert_rowid(s->db);
  PA__STORE_COUNT(s, raw);
  return PA_OK;
}

pa_rc pa_store_put_repeat(pa_store *s, int64_t raw_id, const char *origin, int64_t offset,
                          int64_t received_ts, int *new_out)
{
  sqlite3_stmt *q;
  int r, same = 0;

  *new_out = 0;
  if (!origin || pa__store_write_begin(s) || !(q = pa__store_stmt(s, PA__ST_RAW_WHERE)))
    return origin ? PA_DB : PA_OK;
  sqlite3_bind_int64(q, 1, raw_id);
  r = sqlite3_step(q);
  if (r == SQLITE_ROW) {
    const char *o = (const char *)sqlite3_column_text(q, 0);
    same = o && !strcmp(o, origin);
    /* the same place of the same stream: read again, not received again */
    if (same && offset >= 0 && sqlite3_column_type(q, 1) == SQLITE_INTEGER &&
        sqlite3_column_int64(q, 1) == offset)
      same = 0;
  }
  sqlite3_reset(q);
  if (r != SQLITE_ROW && r != SQLITE_DONE) {
    pa__store_txn_fail(s);
    return PA_DB;
  }
  if (!same) /* another stream: a copy, a rotated file, a relay's resend */
    return PA_OK;
  if (!(q = pa__store_stmt(s, PA__ST_REPEAT)))
    return PA_DB;
  sqlite3_bind_int64(q, 1, raw_id);
  sqlite3_bind_int64(q, 2, received_ts);
  sqlite3_bind_text(q, 3, origin, -1, SQLITE_STATIC);
  pa__store_bind_opt(q, 4, offset);
  if (pa__store_step_done(s, q))
    return PA_DB;
  *new_out = sqlite3_changes(s->db) > 0;
  return PA_OK;
}

pa_rc pa_store_quarantine(pa_store *s, const void *p, size_t len, const char *origin,
                          int64_t offset, const char *error, int64_t run_id)
{
  uint8_t sha[PA_SHA256_LEN];
  sqlite3_stmt *q = pa__store_stmt(s, PA__ST_QUAR);
  pa_rc rc;

  if (!q)
    return PA_DB;
  pa_sha256(p, len, sha);
  sqlite3_bind_int64(q, 1, pa_time_now());
  pa__store_bind_text(q, 2, origin);
  pa__store_bind_opt(q, 3, offset);
  pa__store_bind_text(q, 4, error && *error ? error : "unparsed");
  sqlite3_bind_int64(q, 5, (int64_t)len);
  sqlite3_bind_blob(q, 6, len ? p : "", (int)len, SQLITE_TRANSIENT);
  sqlite3_bind_blob(q, 7, sha, sizeof sha, SQLITE_TRANSIENT);
  pa__store_bind_opt(q, 8, run_id > 0 ? run_id : -1);
  if ((rc = pa__store_step_done(s, q)))
    return rc;
  if (sqlite3_changes(s->db))
    PA__STORE_COUNT(s, quarantined);
  return PA_OK;
}

/* The dictionary id digested for reading, from the cache or raw_dicts;
 * NULL with *why set when it is missing or does not match its sha256. */
static ZSTD_DDict *get_ddict(pa_store *s, int64_t id, const char **why, pa_rc *rc)
{
  struct pa__raw_z *z = s->rz;
  struct raw_ddict *slot = &z->dd[0];
  sqlite3_stmt *q = NULL;
  uint8_t sha[PA_SHA256_LEN];
  ZSTD_DDict *d = NULL;
  int r;

  z->dd_clock++;
  for (int i = 0; i < PA_RAW_DICT_CACHE; i++) {
    if (z->dd[i].id == id && z->dd[i].d) {
      z->dd[i].used = z->dd_clock;
      return z->dd[i].d;
    }
    if (z->dd[i].used < slot->used)
      slot = &z->dd[i];
  }
  if (sqlite3_prepare_v2(s->db, "SELECT bytes, sha256 FROM raw_dicts WHERE id = ?1", -1, &q,
                         NULL) != SQLITE_OK) {
    *rc = PA_DB;
    return NULL;
  }
  sqlite3_bind_int64(q, 1, id);
  r = sqlite3_step(q);
  if (r == SQLITE_DONE) {
    *why = "its dictionary is missing from raw_dicts";
  } else if (r != SQLITE_ROW) {
    *rc = PA_DB;
  } else if (sqlite3_column_bytes(q, 0) == 0) {
    *why = "its dictionary's bytes were dropped";
  } else {
    pa_sha256(sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0), sha);
    if (sqlite3_column_bytes(q, 1) != PA_SHA256_LEN ||
        memcmp(sha, sqlite3_column_blob(q, 1), PA_SHA256_LEN))
      *why = "its dictionary does not match the dictionary's sha256";
    else if (!(d = ZSTD_createDDict(sqlite3_column_blob(q, 0),
                                    (size_t)sqlite3_column_bytes(q, 0))))
      *rc = PA_NOMEM;
  }
  sqlite3_finalize(q);
  if (!d)
    return NULL;
  ZSTD_freeDDict(slot->d);
  slot->d = d;
  slot->id = id;
  slot->used = z->dd_clock;
  return d;
}

/* Restores a raw row's message: kind (raw.compressed), dict_id (0 none) and
 * its stored bytes, into *buf (grown as needed; owned by the caller, free()).
 * Returns NULL and the message in *buf, or why the bytes are not a message
 * of size bytes (*rc PA_OK), or NULL with *rc set when it could not look. */
static const char *raw_inflate(pa_store *s, int kind, int64_t dict_id, const void *bytes,
                               size_t nbytes, int64_t size, uint8_t **buf, size_t *cap,
                               pa_rc *rc)
{
  const char *why = NULL;

  *rc = PA_OK;
  if (size < 0 || size > PA_RAW_MAX_SIZE)
    return "size out of range";
  if ((size_t)size + 1 > *cap) {
    uint8_t *nb = realloc(*buf, (size_t)size + 1);
    if (!nb) {
      *rc = PA_NOMEM;
      return NULL;
    }
    *buf = nb;
    *cap = (size_t)size + 1;
  }
  if (kind == RAW_PLAIN) {
    if (dict_id)
      return "an uncompressed row names a dictionary";
    if (nbytes != (size_t)size)
      return "size does not match the bytes";
    memcpy(*buf, bytes, nbytes);
    return NULL;
  }
  if (kind == RAW_ZLIB) {
    uLongf out_len = (uLongf)size;
    if (dict_id)
      return "a zlib row names a dictionary";
    if (uncompress(*buf, &out_len, bytes, (uLong)nbytes) != Z_OK ||
        out_len != (uLongf)size)
      return "compressed bytes do not inflate to their size";
    return NULL;
  }
  if (kind == RAW_ZSTD) {
    struct pa__raw_z *z = raw_z(s);
    ZSTD_DDict *d = NULL;
    size_t n;

    if (!z || (!z->dctx && !(z->dctx = ZSTD_createDCtx()))) {
      *rc = PA_NOMEM;
      return NULL;
    }
    if (dict_id && !(d = get_ddict(s, dict_id, &why, rc)))
      return why;
    n = d ? ZSTD_decompress_usingDDict(z->dctx, *buf, (size_t)size, bytes, nbytes, d)
          : ZSTD_decompressDCtx(z->dctx, *buf, (size_t)size, bytes, nbytes);
    if (ZSTD_isError(n) || n != (size_t)size)
      return "compressed bytes do not inflate to their size";
    return NULL;
  }
  return "unknown compression";
}

pa_rc pa_store_raw_get(pa_store *s, int64_t id, uint8_t **out, size_t *len_out,
                       struct pa_err *err)
{
  sqlite3_stmt *q = NULL;
  uint8_t *buf = NULL;
  size_t cap = 0;
  const char *why = NULL;
  pa_rc rc = PA_DB;
  int r;

  *out = NULL;
  *len_out = 0;
  if (sqlite3_prepare_v2(s->db, "SELECT size, compressed, coalesce(dict_id, 0), bytes"
                                " FROM raw WHERE id = ?1", -1, &q, NULL) != SQLITE_OK)
    goto out;
  sqlite3_bind_int64(q, 1, id);
  r = sqlite3_step(q);
  if (r == SQLITE_DONE) {
    rc = pa_err_set(err, PA_USAGE, UINT64_MAX, (uint64_t)id, "raw row %lld: no such row",
                    (long long)id);
    goto out;
  }
  if (r != SQLITE_ROW)
    goto out;
  if (sqlite3_column_bytes(q, 3) == 0 && sqlite3_column_int64(q, 0) > 0) {
    rc = pa_err_set(err, PA_USAGE, UINT64_MAX, (uint64_t)id,
                    "raw row %lld: its bytes were dropped by retention", (long long)id);
    goto out;
  }
  why = raw_inflate(s, sqlite3_column_int(q, 1), sqlite3_column_int64(q, 2),
                    sqlite3_column_blob(q, 3), (size_t)sqlite3_column_bytes(q, 3),
                    sqlite3_column_int64(q, 0), &buf, &cap, &rc);
  if (rc)
    goto out;
  if (why) {
    rc = pa_err_set(err, PA_MALFORMED, UINT64_MAX, (uint64_t)id, "raw row %lld: %s",
                    (long long)id, why);
    goto out;
  }
  *out = buf;
  *len_out = (size_t)sqlite3_column_int64(q, 0);
  buf = NULL;
out:
  sqlite3_finalize(q);
  free(buf);
  return rc;
}

pa_rc pa_store_verify_raw(pa_store *s, uint64_t *n_out, int64_t *bad_id_out,
                          struct pa_err *err)
{
  sqlite3_stmt *q = NULL;
  uint8_t prev[PA_SHA256_LEN], sha[PA_SHA256_LEN], chain[PA_SHA256_LEN];
  uint8_t *plain = NULL;
  size_t plain_size = 0;
  int have_prev = 0, seen_v2 = 0, r;
  int64_t pruned_to, pruned_at;
  pa_rc rc = PA_OK;

  *n_out = 0;
  *bad_id_out = 0;
  if ((rc = pa_store_raw_retention(s, &pruned_to, &pruned_at)))
    return rc;
  if (s->rz) /* each verify reads the dictionaries afresh: they are checked too */
    ddict_clear(s->rz);
  if (sqlite3_prepare_v2(s->db,
                         "SELECT id, size, compressed, bytes, sha256, prev_hash, chain_hash,"
                         " origin, offset, received_ts, chain_v, coalesce(dict_id, 0)"
                         " FROM raw ORDER BY id", -1, &q, NULL) != SQLITE_OK)
    return PA_DB;
  while ((r = sqlite3_step(q)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(q, 0);
    int64_t size = sqlite3_column_int64(q, 1);
    const void *bytes = sqlite3_column_blob(q, 3);
    int nbytes = sqlite3_column_bytes(q, 3);
    const char *why = NULL;
    int pruned = nbytes == 0 && size > 0 && !sqlite3_column_int(q, 2);

    if (pruned) {
      /* retention dropped the bytes: the stored sha256 stands for them */
      if (id > pruned_to)
        why = "message bytes missing (not dropped by retention)";
      else if (sqlite3_column_bytes(q, 4) != PA_SHA256_LEN)
        why = "sha256 missing";
      else
        memcpy(sha, sqlite3_column_blob(q, 4), PA_SHA256_LEN);
    } else {
      why = raw_inflate(s, sqlite3_column_int(q, 2), sqlite3_column_int64(q, 11), bytes,
                        (size_t)nbytes, size, &plain, &plain_size, &rc);
      if (rc)
        break;
    }
    if (!why && !pruned) {
      pa_sha256(plain, (size_t)size, sha);
      if (sqlite3_column_bytes(q, 4) != PA_SHA256_LEN ||
          memcmp(sha, sqlite3_column_blob(q, 4), PA_SHA256_LEN))
        why = "message bytes do not match their sha256";
    }
    if (!why) {
      int plen = sqlite3_column_bytes(q, 5);
      if (have_prev ? plen != PA_SHA256_LEN ||
                        memcmp(prev, sqlite3_column_blob(q, 5), PA_SHA256_LEN)
                    : plen != 0)
        why = "prev_hash does not match the previous row's chain_hash";
    }
    if (!why) {
      struct chain_meta meta, *m = NULL;
      int v = sqlite3_column_int(q, 10);
      if (sqlite3_column_type(q, 10) != SQLITE_INTEGER || (v != 1 && v != 2))
        why = "chain_v is not 1 or 2";
      else if (v == 1 && seen_v2)
        why = "chain_v 1 after a version 2 row (rows after the migration are version 2)";
      else if (v == 2) {
        seen_v2 = 1;
        m = &meta;
        meta.origin = NULL;
        meta.origin_len = 0;
        if (sqlite3_column_type(q, 7) != SQLITE_NULL) {
          /* '' where NULL was written is a change too: the hash tells */
          meta.origin = (const char *)sqlite3_column_blob(q, 7);
          meta.origin_len = (size_t)sqlite3_column_bytes(q, 7);
          if (!meta.origin)
            meta.origin = "";
        }
        meta.offset_null = sqlite3_column_type(q, 8) == SQLITE_NULL;
        meta.offset = sqlite3_column_int64(q, 8);
        meta.received_ts = sqlite3_column_int64(q, 9);
      }
      if (!why) {
        chain_next(have_prev ? prev : NULL, sha, m, chain);
        if (sqlite3_column_bytes(q, 6) != PA_SHA256_LEN ||
            memcmp(chain, sqlite3_column_blob(q, 6), PA_SHA256_LEN))
          why = m ? "chain_hash does not match: origin, offset or received_ts was changed"
                    " after the row was written (chain v2 covers them), or chain_hash itself"
                  : "chain_hash does not match";
      }
    }
    if (why) {
      *bad_id_out = id;
      rc = pa_err_set(err, PA_MALFORMED, UINT64_MAX, (uint64_t)id, "raw row %lld: %s",
                      (long long)id, why);
      break;
    }
    memcpy(prev, chain, sizeof prev);
    have_prev = 1;
    (*n_out)++;
  }
  if (rc == PA_OK && r != SQLITE_DONE)
    rc = PA_DB;
  sqlite3_finalize(q);
  free(plain);
  return rc;
}


pa_rc pa_store_raw_retention(pa_store *s, int64_t *up_to_out, int64_t *at_out)
{
  sqlite3_stmt *q = NULL;
  int r;

  *up_to_out = *at_out = 0;
  if (sqlite3_prepare_v2(s->db, "SELECT up_to_id, at FROM raw_retention"
                                " ORDER BY up_to_id DESC LIMIT 1", -1, &q, NULL) != SQLITE_OK)
    return PA_DB;
  if ((r = sqlite3_step(q)) == SQLITE_ROW) {
    *up_to_out = sqlite3_column_int64(q, 0);
    *at_out = sqlite3_column_int64(q, 1);
  }
  sqlite3_finalize(q);
  return r == SQLITE_ROW || r == SQLITE_DONE ? PA_OK : PA_DB;
}

/* The last id of the prefix of raw received before before_us. */
static pa_rc prune_bound(pa_store *s, int64_t before_us, int64_t *up_to_out)
{
  sqlite3_stmt *q = NULL;
  int r;

  if (sqlite3_prepare_v2(s->db,
                         "SELECT coalesce((SELECT min(id) FROM raw WHERE received_ts >= ?1) - 1,"
                         " (SELECT max(id) FROM raw), 0)", -1, &q, NULL) != SQLITE_OK)
    return PA_DB;
  sqlite3_bind_int64(q, 1, before_us);
  if ((r = sqlite3_step(q)) == SQLITE_ROW)
    *up_to_out = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return r == SQLITE_ROW ? PA_OK : PA_DB;
}

pa_rc pa_store_raw_prune(pa_store *s, int64_t before_us, int64_t run_id, uint64_t *n_out,
                         int64_t *up_to_out)
{
  sqlite3_stmt *q = NULL;
  int64_t up_to = 0, done_to, done_at;
  pa_rc rc;

  *n_out = 0;
  *up_to_out = 0;
  if ((rc = pa_store_batch_begin(s)) || (rc = pa__store_write_begin(s)))
    return rc;
  if ((rc = pa_store_raw_retention(s, &done_to, &done_at)) ||
      (rc = prune_bound(s, before_us, &up_to)))
    goto fail;
  *up_to_out = up_to > done_to ? up_to : done_to;
  if (up_to <= done_to)
    return pa_store_batch_commit(s);
  rc = PA_DB;
  if (sqlite3_prepare_v2(s->db,
                         "UPDATE raw SET bytes = x'', compressed = 0, dict_id = NULL"
                         " WHERE id > ?1 AND id <= ?2 AND length(bytes) > 0", -1, &q,
                         NULL) != SQLITE_OK)
    goto fail;
  sqlite3_bind_int64(q, 1, done_to);
  sqlite3_bind_int64(q, 2, up_to);
  if (sqlite3_step(q) != SQLITE_DONE)
    goto fail;
  *n_out = (uint64_t)sqlite3_changes(s->db);
  sqlite3_finalize(q);
  q = NULL;
  /* a dictionary holds pieces of the messages it was trained on: once no
   * row with bytes needs it, it goes too (all but the current one, which
   * the next message uses) */
  if (pa__store_exec(s, "UPDATE raw_dicts SET bytes = x''"
                        " WHERE id < (SELECT max(id) FROM raw_dicts) AND length(bytes) > 0"
                        " AND NOT EXISTS (SELECT 1 FROM raw WHERE raw.dict_id = raw_dicts.id)"))
    goto fail;
  if (sqlite3_prepare_v2(s->db,
                         "INSERT INTO raw_retention (at, before_ts, up_to_id, rows, run_id)"
                         " VALUES (?1, ?2, ?3, ?4, ?5)", -1, &q, NULL) != SQLITE_OK)
    goto fail;
  sqlite3_bind_int64(q, 1, pa_time_now());
  sqlite3_bind_int64(q, 2, before_us);
  sqlite3_bind_int64(q, 3, up_to);
  sqlite3_bind_int64(q, 4, (sqlite3_int64)*n_out);
  if (run_id > 0)
    sqlite3_bind_int64(q, 5, run_id);
  if (sqlite3_step(q) != SQLITE_DONE)
    goto fail;
  sqlite3_finalize(q);
  return pa_store_batch_commit(s);
fail:
  sqlite3_finalize(q);
  pa__store_txn_fail(s);
  pa_store_batch_commit(s);
  *n_out = 0;
  return rc ? rc : PA_DB;
}
