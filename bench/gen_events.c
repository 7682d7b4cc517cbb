/* gen_events.c — a synthetic store for the rule engine's benchmark, with a
 * known set of injected violations (recall and precision exactly).
 *
 *   pa_bench_gen_events --db F [--events N] [--users N] [--aes N]
 *     [--patients N] [--seed S] [--violations K]
 *     [--policy-out FILE] [--manifest-out FILE]
 *
 * Writes N background events (default 10M) over November 2026 (Asia/Tokyo,
 * times µs UTC) straight into the events table of a new store (opened once
 * through pa_store_open for the schema, then bulk-loaded with one prepared
 * statement, the events indexes dropped during the load and rebuilt), the
 * matching site policy (policy.md) and, per rule, K injected episodes with
 * distinct subjects, listed in the manifest (TSV: rule_id, subject,
 * first_ts, last_ts). bench/README.md says what the background avoids so
 * that it triggers none of the injected rules. Memory is flat in N. */
#include "analyzer/store.h"
#include "analyzer/tm.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define US_MIN      (INT64_C(60) * 1000000)
#define US_HOUR     (60 * US_MIN)
#define DAYS        30       /* November */
#define MINUTES     (DAYS * 1440)
#define WORK_FROM   (8 * 60 + 10) /* background user activity, local minutes: inside 08:00-19:00 */
#define WORK_TO     (18 * 60 + 50)
#define W_WORK      20       /* events a working minute gets, relative to ... */
#define W_OFF       1        /* ... a minute outside hours (DICOM only) */
#define PANEL       8        /* distinct patients a user or AE touches in one clock hour */
#define N_VIP       10       /* patients P0000000..P0000009, never touched by background */
#define COMMIT_ROWS 500000
#define MAX_INDEX   32

static const char *const surnames[] = {
  "sato", "suzuki", "takahashi", "tanaka", "watanabe", "ito", "yamamoto", "nakamura",
  "kobayashi", "kato", "yoshida", "yamada", "sasaki", "yamaguchi", "matsumoto", "inoue",
  "kimura", "shimizu", "hayashi", "saito",
};
#define N_SURNAMES (sizeof surnames / sizeof surnames[0])
static const char initials[] = "aehkmnrstyj";

enum role { R_RAD, R_TECH, R_PHYS, R_CLERK, R_ADMIN };
static const char *const role_names[] = {"radiologist", "technologist", "physician", "clerk",
                                         "admin"};

struct gen {
  sqlite3 *db;
  sqlite3_stmt *ins;
  uint64_t rng;
  uint64_t seed;
  uint64_t n_users, n_aes, n_patients, n_mod, n_ws;
  int64_t month0;     /* 2026-11-01T00:00 Asia/Tokyo, µs UTC */
  int dow0;           /* weekday of Nov 1 (0 Sunday) */
  uint64_t rows, in_txn;
  int64_t *last_fail; /* per user: the last background failed login (one an hour at most) */
  FILE *manifest;
  /* the open injected episode */
  const char *ep_rule;
  char ep_subject[64];
  int64_t ep_first, ep_last;
};

/* ---- randomness --------------------------------------------------------- */

static uint64_t mix(uint64_t z)
{
  z += UINT64_C(0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static uint64_t rnd(struct gen *g, uint64_t n) { return (g->rng = mix(g->rng)) % n; }

/* ---- the site ----------------------------------------------------------- */

static void user_id(uint64_t u, char *out, size_t n)
{
  snprintf(out, n, "%c.%s%04llu", initials[mix(u * 7 + 1) % (sizeof initials - 1)],
           surnames[mix(u * 7 + 2) % N_SURNAMES], (unsigned long long)u);
}

static enum role user_role(uint64_t u)
{
  uint64_t b = mix(u * 7 + 3) % 100;
  return b < 40 ? R_RAD : b < 65 ? R_TECH : b < 90 ? R_PHYS : b < 98 ? R_CLERK : R_ADMIN;
}

/* Every background user has an address of its own, so a per-host count is a
 * per-user count. */
static void user_ip(uint64_t u, char *out, size_t n)
{
  snprintf(out, n, "10.%llu.%llu.%llu", (unsigned long long)(20 + u / 62500),
           (unsigned long long)(u / 250 % 250), (unsigned long long)(u % 250 + 1));
}

/* AEs: 0 is PACS; then modalities, then workstations (with a /28 each). */
static void ae_title(struct gen *g, uint64_t a, char *out, size_t n)
{
  static const char *const mods[] = {"CT", "MR", "CR", "US", "DX", "NM"};
  if (a == 0)
    snprintf(out, n, "PACS");
  else if (a <= g->n_mod)
    snprintf(out, n, "%s%02llu", mods[(a - 1) % 6], (unsigned long long)((a - 1) / 6 + 1));
  else
    snprintf(out, n, "WS_RAD%02llu", (unsigned long long)(a - g->n_mod));
}

static void ae_ip(struct gen *g, uint64_t a, uint64_t host, char *out, size_t n)
{
  if (a == 0)
    snprintf(out, n, "10.10.0.2");
  else if (a <= g->n_mod)
    snprintf(out, n, "10.11.%llu.%llu", (unsigned long long)(a / 200),
             (unsigned long long)(a % 200 + 10));
  else
    snprintf(out, n, "10.30.%llu.%llu", (unsigned long long)(a - g->n_mod),
             (unsigned long long)(16 + host % 16));
}

static void patient(uint64_t p, char *out, size_t n)
{
  snprintf(out, n, "P%07llu", (unsigned long long)p);
}

/* One of the PANEL patients subject s (a user, or an AE + 1M) sees in hour. */
static uint64_t panel(struct gen *g, uint64_t s, int64_t ts, uint64_t k)
{
  uint64_t hour = (uint64_t)(ts / US_HOUR);
  return N_VIP + mix(g->seed ^ mix(s * 1000003 + hour) ^ k) % (g->n_patients - N_VIP);
}

static int64_t local_time(struct gen *g, int day, int hh, int mm)
{
  return g->month0 + ((int64_t)day * 1440 + hh * 60 + mm) * US_MIN;
}

static int workday(struct gen *g, int day)
{
  int dow = (g->dow0 + day) % 7;
  return dow >= 1 && dow <= 5 && day + 1 != 3 && day + 1 != 23; /* 文化の日, 勤労感謝の日 */
}

/* ---- writing ------------------------------------------------------------ */

struct ev {
  int64_t ts;
  const char *source, *code, *type, *action;
  int outcome;
  const char *user, *src_ip, *src_ae, *dst_ip, *dst_ae, *host, *patient, *auth;
};

static int db_exec(sqlite3 *db, const char *sql)
{
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    fprintf(stderr, "pa_bench_gen_events: %s: %s\n", sql, msg ? msg : "?");
    sqlite3_free(msg);
    return -1;
  }
  return 0;
}

static void bind_opt(sqlite3_stmt *st, int i, const char *v)
{
  if (v)
    sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, i);
}

static int emit(struct gen *g, const struct ev *e)
{
  sqlite3_stmt *st = g->ins;
  char origin[32], study[64];

  snprintf(origin, sizeof origin, "gen:%s", e->source);
  sqlite3_bind_int64(st, 1, e->ts);
  sqlite3_bind_int64(st, 2, e->ts + (int64_t)rnd(g, 1500000));
  sqlite3_bind_text(st, 3, e->source, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, origin, -1, SQLITE_STATIC);
  bind_opt(st, 5, e->code);
  bind_opt(st, 6, e->type);
  bind_opt(st, 7, e->action);
  sqlite3_bind_int(st, 8, e->outcome);
  bind_opt(st, 9, e->user);
  bind_opt(st, 10, e->src_ip);
  bind_opt(st, 11, e->src_ae);
  bind_opt(st, 12, e->dst_ip);
  bind_opt(st, 13, e->dst_ae);
  bind_opt(st, 14, e->host);
  bind_opt(st, 15, e->patient);
  if (e->patient) {
    snprintf(study, sizeof study, "1.2.392.200036.9999.%s.%d", e->patient + 1,
             (int)(e->ts / (24 * US_HOUR) % 3));
    sqlite3_bind_text(st, 16, study, -1, SQLITE_STATIC);
  } else {
    sqlite3_bind_null(st, 16);
  }
  sqlite3_bind_int(st, 17, strcmp(e->source, "fhir") != 0); /* FHIR here over plain http */
  bind_opt(st, 18, e->auth);
  if (sqlite3_step(st) != SQLITE_DONE) {
    fprintf(stderr, "pa_bench_gen_events: insert: %s\n", sqlite3_errmsg(g->db));
    return -1;
  }
  sqlite3_reset(st);
  g->rows++;
  if (g->ep_rule) {
    if (e->ts < g->ep_first)
      g->ep_first = e->ts;
    if (e->ts > g->ep_last)
      g->ep_last = e->ts;
  }
  if (++g->in_txn >= COMMIT_ROWS) {
    g->in_txn = 0;
    if (db_exec(g->db, "COMMIT; BEGIN"))
      return -1;
  }
  return 0;
}

/* ---- background --------------------------------------------------------- */

static int user_event(struct gen *g, int64_t ts)
{
  uint64_t u = rnd(g, g->n_users), r = rnd(g, 100);
  enum role role = user_role(u);
  char uid[48], ip[64], pid[32];
  struct ev e = {.ts = ts, .source = "atna", .user = uid, .src_ip = ip, .patient = pid};

  user_id(u, uid, sizeof uid);
  user_ip(u, ip, sizeof ip);
  patient(panel(g, u, ts, rnd(g, PANEL)), pid, sizeof pid);
  if (r < 10) { /* login, half of them seen by syslog */
    e.code = "DCM:110114";
    e.type = "DCM:110122";
    e.patient = NULL;
    if (rnd(g, 2)) {
      e.source = "syslog";
      e.host = "pacs-web1";
      e.auth = "password";
    }
    /* now and then a mistyped password first: at most one an hour a user */
    if (rnd(g, 100) < 5 && ts - g->last_fail[u] > US_HOUR) {
      struct ev f = e;
      f.ts = ts - 5000000;
      f.outcome = 4;
      g->last_fail[u] = ts;
      if (emit(g, &f))
        return -1;
    }
    return emit(g, &e);
  }
  if (r < 17) {
    e.code = "DCM:110114";
    e.type = "DCM:110123";
    e.patient = NULL;
    return emit(g, &e);
  }
  switch (role) {
    case R_CLERK: /* may: login, logout, query */
      e.code = "DCM:110112";
      return emit(g, &e);
    case R_ADMIN: /* may: login, logout, query, audit-read, admin, export */
      if (r < 60) {
        e.code = "DCM:110112";
      } else if (r < 95) {
        e.code = "DCM:110101";
        e.action = "R";
        e.patient = NULL;
      } else {
        e.code = "DCM:110106";
        e.action = "R";
      }
      return emit(g, &e);
    default:
      break;
  }
  if (r < 35) {
    e.code = "DCM:110112";
  } else if (r < 55) {
    e.code = "DCM:110110";
    e.action = "R";
    if (rnd(g, 2)) {
      e.source = "fhir";
      e.code = "FHIR:rest";
    }
  } else if (r < 85) {
    e.code = "DCM:110103";
    e.action = "R";
  } else if (role == R_TECH) { /* store */
    e.code = "DCM:110104";
    e.action = "C";
  } else if (r < 99 || role == R_PHYS) { /* retrieve */
    e.code = "DCM:110104";
    e.action = "R";
  } else { /* a radiologist's export */
    e.code = "DCM:110106";
    e.action = "R";
  }
  return emit(g, &e);
}

/* A DICOM request (or the start of its association). Outside hours only
 * modalities store; workstations query and retrieve in hours. */
static int dicom_event(struct gen *g, int64_t ts, int work)
{
  uint64_t a, r = rnd(g, 100);
  char ae[32], ip[64], pac[32], pacip[64], pid[32];
  struct ev e = {.ts = ts, .source = "dicom", .src_ae = ae, .src_ip = ip, .dst_ae = pac,
                 .dst_ip = pacip, .patient = pid};

  if (!work || r < 45) {
    a = 1 + rnd(g, g->n_mod);
    e.code = "DIMSE:C-STORE-RQ";
  } else {
    a = 1 + g->n_mod + rnd(g, g->n_ws);
    e.code = r < 80 ? "DIMSE:C-FIND-RQ" : "DIMSE:C-MOVE-RQ";
  }
  ae_title(g, a, ae, sizeof ae);
  ae_ip(g, a, rnd(g, 16), ip, sizeof ip);
  ae_title(g, 0, pac, sizeof pac);
  ae_ip(g, 0, 0, pacip, sizeof pacip);
  patient(panel(g, 1000000 + a, ts, rnd(g, PANEL)), pid, sizeof pid);
  if (rnd(g, 4) == 0) {
    e.code = "ASSOC:start";
    e.patient = NULL;
  }
  return emit(g, &e);
}

static int background(struct gen *g, uint64_t n)
{
  uint64_t total = 0, cum = 0;

  for (int m = 0; m < MINUTES; m++) {
    int mod = m % 1440;
    total += workday(g, m / 1440) && mod >= WORK_FROM && mod < WORK_TO ? W_WORK : W_OFF;
  }
  for (int m = 0; m < MINUTES; m++) {
    int mod = m % 1440, work = workday(g, m / 1440) && mod >= WORK_FROM && mod < WORK_TO;
    uint64_t w = work ? W_WORK : W_OFF;
    uint64_t k0 = (uint64_t)((unsigned __int128)n * cum / total);
    uint64_t k1 = (uint64_t)((unsigned __int128)n * (cum + w) / total);
    uint64_t cnt = k1 - k0;
    cum += w;
    for (uint64_t k = 0; k < cnt; k++) {
      int64_t slot = US_MIN / (int64_t)cnt;
      int64_t ts = g->month0 + m * US_MIN + (int64_t)k * slot + (int64_t)rnd(g, (uint64_t)slot);
      int rc = work && rnd(g, 100) < 75 ? user_event(g, ts) : dicom_event(g, ts, work);
      if (rc)
        return -1;
    }
  }
  return 0;
}

/* ---- injected violations ------------------------------------------------ */

static void ep_begin(struct gen *g, const char *rule, const char *subject)
{
  g->ep_rule = rule;
  snprintf(g->ep_subject, sizeof g->ep_subject, "%s", subject);
  g->ep_first = INT64_MAX;
  g->ep_last = INT64_MIN;
}

static void ep_end(struct gen *g)
{
  fprintf(g->manifest, "%s\t%s\t%lld\t%lld\n", g->ep_rule, g->ep_subject,
          (long long)g->ep_first, (long long)g->ep_last);
  g->ep_rule = NULL;
}

/* Working day number j (0-based) of the month, from day `from` on. */
static int nth_workday(struct gen *g, int from, int j)
{
  for (int d = from; d < DAYS; d++)
    if (workday(g, d) && j-- == 0)
      return d;
  return from;
}

/* A session of a user: login at t, n views of distinct patients first_p..,
 * one every gap µs. */
static int session(struct gen *g, const char *uid, const char *ip, int64_t t, int n,
                   uint64_t first_p, int64_t gap)
{
  char pid[32];
  struct ev e = {.ts = t, .source = "atna", .code = "DCM:110114", .type = "DCM:110122",
                 .user = uid, .src_ip = ip};
  if (emit(g, &e))
    return -1;
  e.type = NULL;
  e.code = "DCM:110103";
  e.action = "R";
  e.patient = pid;
  for (int i = 0; i < n; i++) {
    e.ts = t + (i + 1) * gap;
    patient(first_p + (uint64_t)i, pid, sizeof pid);
    if (emit(g, &e))
      return -1;
  }
  return 0;
}

/* Patients for injected sessions: far from each other, never a VIP. */
static uint64_t some_patients(struct gen *g, int n)
{
  return N_VIP + rnd(g, g->n_patients - N_VIP - (uint64_t)n);
}

static int inject(struct gen *g, int k)
{
  char id[64], ip[64], ae[32];

  for (int j = 0; j < k; j++) {
    int day = nth_workday(g, 0, j * 3 % 18);
    int64_t t;
    snprintf(ip, sizeof ip, "10.50.1.%d", j + 1);

    /* AC-01: a user id that is not in the roster */
    snprintf(id, sizeof id, "t.fujiwara%02d", j + 1);
    ep_begin(g, "AC-01", id);
    if (session(g, id, ip, local_time(g, day, 10, 5 + j), 3, some_patients(g, 3), 4 * US_MIN))
      return -1;
    ep_end(g);

    /* AC-02: a leaver (valid_to 2026-11-10) active after it */
    snprintf(id, sizeof id, "m.kuroda%02d", j + 1);
    snprintf(ip, sizeof ip, "10.50.2.%d", j + 1);
    ep_begin(g, "AC-02", id);
    if (session(g, id, ip, local_time(g, nth_workday(g, 12, j % 8), 11, 0), 2,
                some_patients(g, 2), 3 * US_MIN))
      return -1;
    ep_end(g);

    /* AC-04: a shared account */
    snprintf(id, sizeof id, "rad-shared%02d", j + 1);
    snprintf(ip, sizeof ip, "10.50.3.%d", j + 1);
    ep_begin(g, "AC-04", id);
    if (session(g, id, ip, local_time(g, day, 13, 30), 4, some_patients(g, 4), 2 * US_MIN))
      return -1;
    ep_end(g);

    /* EM-01: a break-glass account */
    snprintf(id, sizeof id, "er-emergency%02d", j + 1);
    snprintf(ip, sizeof ip, "10.50.4.%d", j + 1);
    ep_begin(g, "EM-01", id);
    if (session(g, id, ip, local_time(g, day, 15, 10), 3, some_patients(g, 3), 5 * US_MIN))
      return -1;
    ep_end(g);

    /* NW-01: an unregistered calling AE querying */
    snprintf(ae, sizeof ae, "ROGUE%02d", j + 1);
    snprintf(ip, sizeof ip, "10.98.0.%d", j + 1);
    ep_begin(g, "NW-01", ae);
    {
      char pid[32];
      struct ev e = {.ts = local_time(g, day, 9, 40), .source = "dicom", .code = "ASSOC:start",
                     .src_ae = ae, .src_ip = ip, .dst_ae = "PACS", .dst_ip = "10.10.0.2"};
      if (emit(g, &e))
        return -1;
      e.code = "DIMSE:C-FIND-RQ";
      e.patient = pid;
      for (int i = 0; i < 2; i++) {
        e.ts += 2000000;
        patient(some_patients(g, 1), pid, sizeof pid);
        if (emit(g, &e))
          return -1;
      }
    }
    ep_end(g);

    /* NW-02: a registered workstation from an address outside its ips */
    ae_title(g, 1 + g->n_mod + (uint64_t)j % g->n_ws, ae, sizeof ae);
    snprintf(ip, sizeof ip, "10.99.0.%d", j + 1);
    ep_begin(g, "NW-02", ae);
    {
      char pid[32];
      struct ev e = {.ts = local_time(g, day, 16, 20), .source = "dicom", .code = "ASSOC:start",
                     .src_ae = ae, .src_ip = ip, .dst_ae = "PACS", .dst_ip = "10.10.0.2"};
      if (emit(g, &e))
        return -1;
      e.patient = pid;
      patient(some_patients(g, 1), pid, sizeof pid);
      e.code = "DIMSE:C-FIND-RQ";
      e.ts += 1000000;
      if (emit(g, &e))
        return -1;
      e.code = "DIMSE:C-MOVE-RQ";
      e.ts += 3000000;
      if (emit(g, &e))
        return -1;
    }
    ep_end(g);

    /* PR-01: 60 distinct patients within 40 minutes */
    snprintf(id, sizeof id, "y.maeda%02d", j + 1);
    snprintf(ip, sizeof ip, "10.50.5.%d", j + 1);
    ep_begin(g, "PR-01", id);
    if (session(g, id, ip, local_time(g, day, 14, 0), 60, some_patients(g, 60), 40 * 1000000))
      return -1;
    ep_end(g);

    /* PR-03: a VIP patient viewed twice by an ordinary account */
    {
      char vip[32], pid[32];
      patient((uint64_t)j % N_VIP, vip, sizeof vip);
      snprintf(id, sizeof id, "a.mori%02d", j + 1);
      snprintf(ip, sizeof ip, "10.50.6.%d", j + 1);
      ep_begin(g, "PR-03", vip);
      t = local_time(g, day, 11, 45);
      struct ev e = {.ts = t, .source = "atna", .code = "DCM:110110", .action = "R",
                     .user = id, .src_ip = ip, .patient = vip};
      if (emit(g, &e))
        return -1;
      e.ts = t + 4 * US_MIN;
      e.code = "DCM:110103";
      if (emit(g, &e))
        return -1;
      ep_end(g);
      (void)pid;
    }

    /* AC-08: six failed logins in five minutes, then a success at +30 s
     * (not in the episode: the burst is the failures). Per user and, the
     * address being the user's own, per host. */
    snprintf(id, sizeof id, "s.endo%02d", j + 1);
    snprintf(ip, sizeof ip, "10.50.7.%d", j + 1);
    {
      struct ev e = {.source = "atna", .code = "DCM:110114", .type = "DCM:110122",
                     .outcome = 4, .user = id, .src_ip = ip};
      t = local_time(g, day, 8, 30 + j);
      ep_begin(g, "AC-08", id);
      for (int i = 0; i < 6; i++) {
        e.ts = t + i * US_MIN;
        if (emit(g, &e))
          return -1;
      }
      ep_end(g);
      fprintf(g->manifest, "AC-08\t%s\t%lld\t%lld\n", ip, (long long)t,
              (long long)(t + 5 * US_MIN));
      g->ep_rule = NULL;
      e.ts = t + 5 * US_MIN + 30000000;
      e.outcome = 0;
      if (emit(g, &e))
        return -1;
    }

    /* PR-04: a person account at night, on a Saturday, or on a holiday */
    snprintf(id, sizeof id, "t.okada%02d", j + 1);
    snprintf(ip, sizeof ip, "10.50.8.%d", j + 1);
    ep_begin(g, "PR-04", id);
    if (j % 3 == 0)
      t = local_time(g, day, 2, 10);
    else if (j % 3 == 1)
      t = local_time(g, 6 + 7 * (j / 3 % 3), 10, 0); /* Saturdays Nov 7, 14, 21 */
    else
      t = local_time(g, 22, 9, 30); /* 2026-11-23, a holiday */
    if (session(g, id, ip, t, 3, some_patients(g, 3), 3 * US_MIN))
      return -1;
    ep_end(g);
  }
  return 0;
}

/* ---- the policy --------------------------------------------------------- */

static int write_policy(struct gen *g, const char *path, int k)
{
  FILE *f = fopen(path, "w");
  char id[64], ip[64];

  if (!f) {
    fprintf(stderr, "pa_bench_gen_events: %s: %s\n", path, strerror(errno));
    return -1;
  }
  fprintf(f, "{\n  \"site\": { \"name\": \"Synthetic General Hospital\", \"timezone\": "
             "\"Asia/Tokyo\" },\n"
             "  \"hours\": { \"days\": [\"Mon\", \"Tue\", \"Wed\", \"Thu\", \"Fri\"],\n"
             "    \"start\": \"08:00\", \"end\": \"19:00\",\n"
             "    \"holidays\": [\"2026-11-03\", \"2026-11-23\"] },\n"
             "  \"users\": [\n");
  for (uint64_t u = 0; u < g->n_users; u++) {
    user_id(u, id, sizeof id);
    fprintf(f,
            "    { \"id\": \"%s\", \"role\": \"%s\", \"kind\": \"person\", "
            "\"valid_from\": \"20%02d-04-01\", \"valid_to\": %s },\n",
            id, role_names[user_role(u)], (int)(10 + mix(u * 7 + 4) % 16),
            mix(u * 7 + 5) % 10 == 0 ? "\"2027-03-31\"" : "null");
  }
  for (int j = 0; j < k; j++) {
    fprintf(f,
            "    { \"id\": \"m.kuroda%02d\", \"role\": \"radiologist\", \"kind\": \"person\", "
            "\"valid_from\": \"2019-04-01\", \"valid_to\": \"2026-11-10\" },\n"
            "    { \"id\": \"rad-shared%02d\", \"role\": \"radiologist\", \"kind\": \"shared\" },\n"
            "    { \"id\": \"er-emergency%02d\", \"role\": \"physician\", \"kind\": "
            "\"emergency\" },\n"
            "    { \"id\": \"y.maeda%02d\", \"role\": \"radiologist\", \"kind\": \"person\", "
            "\"valid_from\": \"2018-04-01\", \"valid_to\": null },\n"
            "    { \"id\": \"a.mori%02d\", \"role\": \"physician\", \"kind\": \"person\", "
            "\"valid_from\": \"2018-04-01\", \"valid_to\": null },\n"
            "    { \"id\": \"s.endo%02d\", \"role\": \"technologist\", \"kind\": \"person\", "
            "\"valid_from\": \"2018-04-01\", \"valid_to\": null },\n"
            "    { \"id\": \"t.okada%02d\", \"role\": \"radiologist\", \"kind\": \"person\", "
            "\"valid_from\": \"2018-04-01\", \"valid_to\": null },\n",
            j + 1, j + 1, j + 1, j + 1, j + 1, j + 1, j + 1);
  }
  fprintf(f, "    { \"id\": \"vendor-fse\", \"role\": \"maintenance\", \"kind\": \"service\",\n"
             "      \"windows\": [{ \"from\": \"2026-11-20T09:00\", \"to\": "
             "\"2026-11-20T12:00\" }] }\n  ],\n"
             "  \"roles\": {\n"
             "    \"radiologist\":  { \"may\": [\"login\", \"logout\", \"query\", \"retrieve\", "
             "\"view\", \"report\", \"export\"] },\n"
             "    \"technologist\": { \"may\": [\"login\", \"logout\", \"store\", \"query\", "
             "\"view\", \"retrieve\"] },\n"
             "    \"physician\":    { \"may\": [\"login\", \"logout\", \"query\", \"retrieve\", "
             "\"view\"] },\n"
             "    \"clerk\":        { \"may\": [\"login\", \"logout\", \"query\"] },\n"
             "    \"maintenance\":  { \"may\": [\"login\", \"logout\", \"admin\"] },\n"
             "    \"admin\":        { \"may\": [\"login\", \"logout\", \"query\", \"admin\", "
             "\"audit-read\", \"export\"] }\n  },\n"
             "  \"aes\": [\n");
  for (uint64_t a = 0; a < g->n_aes; a++) {
    ae_title(g, a, id, sizeof id);
    ae_ip(g, a, 0, ip, sizeof ip);
    if (a == 0)
      fprintf(f, "    { \"title\": \"%s\", \"ips\": [\"%s\"], \"kind\": \"archive\" }", id, ip);
    else if (a <= g->n_mod)
      fprintf(f,
              "    { \"title\": \"%s\", \"ips\": [\"%s\"], \"kind\": \"modality\", "
              "\"may\": [\"C-ECHO\", \"C-STORE\"] }",
              id, ip);
    else
      fprintf(f,
              "    { \"title\": \"%s\", \"ips\": [\"%s/28\"], \"kind\": \"workstation\", "
              "\"may\": [\"C-ECHO\", \"C-FIND\", \"C-MOVE\", \"C-GET\"], "
              "\"move_destinations\": [\"%s\"] }",
              id, ip, id);
    fprintf(f, a + 1 < g->n_aes ? ",\n" : "\n");
  }
  fprintf(f, "  ],\n  \"vip_patients\": [");
  for (int v = 0; v < N_VIP; v++) {
    patient((uint64_t)v, id, sizeof id);
    fprintf(f, "%s\"%s\"", v ? ", " : "", id);
  }
  fprintf(f, "],\n"
             "  \"require\": { \"tls\": false, \"mfa_from\": \"2027-04-01\", "
             "\"max_clock_skew_s\": 5, \"log_silence_h\": 24 },\n"
             "  \"thresholds\": {\n"
             "    \"AC-08\": { \"count\": 5, \"window\": \"10m\" },\n"
             "    \"PR-01\": { \"distinct_patients\": 50, \"window\": \"1h\" }\n  }\n}\n");
  if (fclose(f) != 0) {
    fprintf(stderr, "pa_bench_gen_events: %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

/* ---- main --------------------------------------------------------------- */

static int parse_u64(const char *s, uint64_t *v)
{
  char *end;
  errno = 0;
  *v = strtoull(s, &end, 10);
  return errno || end == s || *end || s[0] == '-' ? -1 : 0;
}

static const char usage[] =
  "usage: pa_bench_gen_events --db F [--events N] [--users N] [--aes N] [--patients N]\n"
  "         [--seed S] [--violations K] [--policy-out FILE] [--manifest-out FILE]\n";

static const char insert_sql[] =
  "INSERT INTO events (ts, received_ts, source, origin, event_code, event_type, action,"
  " outcome, user_id, src_ip, src_ae, dst_ip, dst_ae, host, patient_id, study_uid, secure,"
  " auth_method) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
  " ?16, ?17, ?18)";

int main(int argc, char **argv)
{
  struct gen g = {0};
  uint64_t n = 10000000, k = 3;
  const char *db_path = NULL, *policy_out = NULL, *manifest_out = NULL;
  char *index_sql[MAX_INDEX] = {0}, *index_name[MAX_INDEX] = {0};
  int n_index = 0, ret = 1;
  pa_store *store = NULL;
  struct pa_err err;
  struct timespec t0, t1, t2;
  sqlite3_stmt *st = NULL;

  g.n_users = 2000, g.n_aes = 50, g.n_patients = 200000, g.seed = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t *num = !strcmp(a, "--events")       ? &n
                    : !strcmp(a, "--users")      ? &g.n_users
                    : !strcmp(a, "--aes")        ? &g.n_aes
                    : !strcmp(a, "--patients")   ? &g.n_patients
                    : !strcmp(a, "--seed")       ? &g.seed
                    : !strcmp(a, "--violations") ? &k
                                                 : NULL;
    if (!v) {
      fputs(usage, stderr);
      return 2;
    }
    i++;
    if (num) {
      if (parse_u64(v, num)) {
        fprintf(stderr, "pa_bench_gen_events: %s takes a number\n", a);
        return 2;
      }
    } else if (!strcmp(a, "--db")) {
      db_path = v;
    } else if (!strcmp(a, "--policy-out")) {
      policy_out = v;
    } else if (!strcmp(a, "--manifest-out")) {
      manifest_out = v;
    } else {
      fputs(usage, stderr);
      return 2;
    }
  }
  if (!db_path || g.n_users < 1 || g.n_users > 1000000 || g.n_aes < 3 || g.n_aes > 10000 ||
      g.n_patients < 1000 || g.n_patients > 10000000 || k > 20 || n > (UINT64_C(1) << 40)) {
    fprintf(stderr, "%s(--db is required; users 1..1M, aes 3..10000, patients 1000..10M, "
                    "violations 0..20)\n",
            usage);
    return 2;
  }
  g.n_mod = (g.n_aes - 1) * 2 / 5;
  if (g.n_mod == 0)
    g.n_mod = 1;
  g.n_ws = g.n_aes - 1 - g.n_mod;
  g.rng = mix(g.seed);
  if (pa_time_from_local(2026, 11, 1, 0, 0, 0, 0, "Asia/Tokyo", &g.month0) != PA_OK)
    return 1;
  g.dow0 = (int)((g.month0 / US_HOUR + 9) / 24 % 7 + 4) % 7; /* local days since 1970 */

  pa_err_clear(&err);
  if (pa_store_open(db_path, &store, &err) != PA_OK) {
    fprintf(stderr, "pa_bench_gen_events: %s\n", err.msg);
    return 1;
  }
  pa_store_close(store);
  if (sqlite3_open_v2(db_path, &g.db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
    fprintf(stderr, "pa_bench_gen_events: %s: %s\n", db_path, sqlite3_errmsg(g.db));
    goto out;
  }
  if (sqlite3_prepare_v2(g.db, "SELECT 1 FROM events LIMIT 1", -1, &st, NULL) != SQLITE_OK)
    goto dberr;
  if (sqlite3_step(st) == SQLITE_ROW) {
    fprintf(stderr, "pa_bench_gen_events: %s has events already: give a new file\n", db_path);
    goto out;
  }
  sqlite3_finalize(st);
  st = NULL;
  g.last_fail = calloc(g.n_users, sizeof *g.last_fail);
  if (!g.last_fail)
    goto out;
  for (uint64_t u = 0; u < g.n_users; u++)
    g.last_fail[u] = INT64_MIN / 2;
  g.manifest = fopen(manifest_out ? manifest_out : "/dev/null", "w");
  if (!g.manifest) {
    fprintf(stderr, "pa_bench_gen_events: %s: %s\n", manifest_out, strerror(errno));
    goto out;
  }
  fprintf(g.manifest, "rule_id\tsubject\tfirst_ts\tlast_ts\n");
  if (policy_out && write_policy(&g, policy_out, (int)k))
    goto out;

  /* bulk load: no journal (a failed load leaves a file to throw away), and
   * the events indexes dropped for it and built again after (the store's
   * own definitions, read back from sqlite_master) */
  if (sqlite3_prepare_v2(g.db,
                         "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                         " AND tbl_name = 'events' AND sql IS NOT NULL",
                         -1, &st, NULL) != SQLITE_OK)
    goto dberr;
  while (sqlite3_step(st) == SQLITE_ROW && n_index < MAX_INDEX) {
    index_name[n_index] = strdup((const char *)sqlite3_column_text(st, 0));
    index_sql[n_index] = strdup((const char *)sqlite3_column_text(st, 1));
    n_index++;
    if (!index_name[n_index - 1] || !index_sql[n_index - 1])
      goto out;
  }
  sqlite3_finalize(st);
  st = NULL;
  if (db_exec(g.db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -65536"))
    goto out;
  for (int i = 0; i < n_index; i++) {
    char drop[160];
    snprintf(drop, sizeof drop, "DROP INDEX \"%s\"", index_name[i]);
    if (db_exec(g.db, drop))
      goto out;
  }
  if (sqlite3_prepare_v2(g.db, insert_sql, -1, &g.ins, NULL) != SQLITE_OK)
    goto dberr;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (db_exec(g.db, "BEGIN") || background(&g, n) || inject(&g, (int)k) ||
      db_exec(g.db, "COMMIT"))
    goto out;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  for (int i = 0; i < n_index; i++)
    if (db_exec(g.db, index_sql[i]))
      goto out;
  /* back to the store's journal (pa_store_open sets WAL) */
  if (db_exec(g.db, "PRAGMA journal_mode = WAL"))
    goto out;
  clock_gettime(CLOCK_MONOTONIC, &t2);
  {
    double load = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double idx = (double)(t2.tv_sec - t1.tv_sec) + (double)(t2.tv_nsec - t1.tv_nsec) / 1e9;
    fprintf(stderr,
            "pa_bench_gen_events: %llu events (%llu injected episodes a rule) in %.1f s: "
            "%.0f events/s inserted, %d indexes rebuilt in %.1f s, %.0f events/s overall\n",
            (unsigned long long)g.rows, (unsigned long long)k, load, (double)g.rows / load,
            n_index, idx, (double)g.rows / (load + idx));
  }
  ret = 0;
  goto out;
dberr:
  fprintf(stderr, "pa_bench_gen_events: %s: %s\n", db_path, sqlite3_errmsg(g.db));
out:
  if (g.manifest && fclose(g.manifest) != 0 && ret == 0) {
    fprintf(stderr, "pa_bench_gen_events: %s: %s\n", manifest_out, strerror(errno));
    ret = 1;
  }
  for (int i = 0; i < n_index; i++) {
    free(index_sql[i]);
    free(index_name[i]);
  }
  free(g.last_fail);
  sqlite3_finalize(st);
  sqlite3_finalize(g.ins);
  sqlite3_close(g.db);
  return ret;
}
