/* atna_gen.h — the synthetic ATNA workload of the benchmarks (bench/ only).
 *
 * pa_gen_line(seed, i, ...) writes message number i of a stream as one
 * RFC 5424 syslog line: a header, then a DICOM PS3.15 AuditMessage on one
 * line (about 1.5 KB on average). The same (seed, i) always gives the same
 * bytes, and two different i never give the same bytes (the header time
 * carries i), so raw's SHA-256 dedup keeps every one of them.
 *
 * What varies, message to message: the event id (110100..110114, weighted
 * as a PACS produces them: mostly instances accessed/transferred, queries
 * and logins), action, outcome (mostly 0), the user (of 600, with names and
 * roles), the workstation and its IP (of 300), the AE titles, the patient
 * (about 10,000 distinct, with a name), the study UID (about 4 per patient),
 * accession numbers, SOP classes and counts, the time (a year of traffic,
 * in order, with jitter), and the number of participants (1-3) and
 * participant objects (1-3).
 *
 * Header-only so the generator, the parser bench and the load client share
 * it; bench code, not part of any library. */
#ifndef PA_BENCH_ATNA_GEN_H
#define PA_BENCH_ATNA_GEN_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define PA_GEN_MAX_LINE 8192 /* a line is always shorter than this */

struct pa_gen_rng {
  uint64_t s;
};

static inline uint64_t pa_gen_next(struct pa_gen_rng *r)
{
  /* splitmix64 */
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static inline uint32_t pa_gen_below(struct pa_gen_rng *r, uint32_t n)
{
  return (uint32_t)(pa_gen_next(r) % n);
}

/* A skewed pick in [0, n): a few values are common, most are rare. */
static inline uint32_t pa_gen_skewed(struct pa_gen_rng *r, uint32_t n)
{
  uint32_t a = pa_gen_below(r, n), b = pa_gen_below(r, n);
  return a < b ? a : b;
}

struct pa_gen_out {
  char *p;
  size_t len, cap;
};

static inline void pa_gen_put(struct pa_gen_out *o, const char *fmt, ...)
{
  va_list ap;
  int n;
  if (o->len >= o->cap)
    return;
  va_start(ap, fmt);
  n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
  va_end(ap);
  if (n > 0)
    o->len = o->len + (size_t)n < o->cap ? o->len + (size_t)n : o->cap;
}

static const char *const pa_gen_family[] = {
  "SATO", "SUZUKI", "TAKAHASHI", "TANAKA", "WATANABE", "ITO", "YAMAMOTO", "NAKAMURA",
  "KOBAYASHI", "KATO", "YOSHIDA", "YAMADA", "SASAKI", "YAMAGUCHI", "MATSUMOTO", "INOUE",
  "KIMURA", "HAYASHI", "SHIMIZU", "YAMAZAKI", "MORI", "ABE", "IKEDA", "HASHIMOTO"};
static const char *const pa_gen_given[] = {
  "TARO", "HANAKO", "ICHIRO", "YUKI", "KENJI", "AKIKO", "HIROSHI", "MAI", "SHOTA", "NAOMI",
  "DAIKI", "EMI", "KAZUO", "RYOKO", "TAKESHI", "SAKURA"};

struct pa_gen_role {
  const char *code, *name;
};
static const struct pa_gen_role pa_gen_roles[] = {
  {"radiologist", "Radiologist"}, {"technologist", "Radiologic Technologist"},
  {"physician", "Physician"},     {"nurse", "Nurse"},
  {"clerk", "Medical Clerk"},     {"admin", "PACS Administrator"}};

static const char *const pa_gen_sop[] = {
  "1.2.840.10008.5.1.4.1.1.2",   "1.2.840.10008.5.1.4.1.1.4",  "1.2.840.10008.5.1.4.1.1.1.1",
  "1.2.840.10008.5.1.4.1.1.7",   "1.2.840.10008.5.1.4.1.1.6.1", "1.2.840.10008.5.1.4.1.1.128",
  "1.2.840.10008.5.1.4.1.1.1.2", "1.2.840.10008.5.1.4.1.1.88.22"};

struct pa_gen_evt {
  const char *code, *name;
  char action;
  unsigned weight;
};
/* Weights in per mille. */
static const struct pa_gen_evt pa_gen_evts[] = {
  {"110100", "Application Activity", 'E', 10},
  {"110101", "Audit Log Used", 'R', 5},
  {"110102", "Begin Transferring DICOM Instances", 'E', 40},
  {"110103", "DICOM Instances Accessed", 'R', 300},
  {"110104", "DICOM Instances Transferred", 'C', 150},
  {"110105", "DICOM Study Deleted", 'D', 10},
  {"110106", "Export", 'R', 20},
  {"110107", "Import", 'C', 20},
  {"110108", "Network Entry", 'E', 5},
  {"110109", "Order Record", 'U', 30},
  {"110110", "Patient Record", 'R', 60},
  {"110111", "Procedure Record", 'U', 30},
  {"110112", "Query", 'E', 200},
  {"110113", "Security Alert", 'E', 20},
  {"110114", "User Authentication", 'E', 100}};

#define PA_GEN_USERS 600
#define PA_GEN_HOSTS 300
#define PA_GEN_PATIENTS 10000
#define PA_GEN_T0 1764547200ll /* 2025-12-01T00:00:00Z */

/* Time of message i: a year of traffic, in order, with a little jitter. */
static inline int64_t pa_gen_time_us(struct pa_gen_rng *r, uint64_t i)
{
  return PA_GEN_T0 * 1000000 + (int64_t)i * 31000 + (int64_t)pa_gen_below(r, 20000);
}

static inline void pa_gen_iso(struct pa_gen_out *o, int64_t us, int zulu)
{
  int64_t s = us / 1000000, days = s / 86400, sec = s % 86400;
  /* civil_from_days (Howard Hinnant) */
  int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (!zulu) { /* show it in +09:00 */
    s += 9 * 3600;
    days = s / 86400;
    sec = s % 86400;
    z = days + 719468;
    era = z / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
  }
  y += m <= 2;
  pa_gen_put(o, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%06lld%s", (long long)y,
             (long long)m, (long long)d, (long long)(sec / 3600), (long long)(sec / 60 % 60),
             (long long)(sec % 60), (long long)(us % 1000000), zulu ? "Z" : "+09:00");
}

static inline void pa_gen_code(struct pa_gen_out *o, const char *el, const char *code,
                               const char *sys, const char *text)
{
  pa_gen_put(o, "<%s csd-code=\"%s\" codeSystemName=\"%s\" originalText=\"%s\"/>", el, code,
             sys, text);
}

static inline void pa_gen_user(struct pa_gen_out *o, struct pa_gen_rng *r, uint32_t u,
                               const char *ip)
{
  const struct pa_gen_role *role = &pa_gen_roles[u % 6];
  pa_gen_put(o,
             "<ActiveParticipant UserID=\"%s%03u\" UserName=\"%s %s\" UserIsRequestor=\"true\""
             " UserTypeCode=\"1\" NetworkAccessPointID=\"%s\" NetworkAccessPointTypeCode=\"2\">",
             role->code, u, pa_gen_family[u % 24], pa_gen_given[(u / 24) % 16], ip);
  pa_gen_code(o, "RoleIDCode", role->code, "99PACS", role->name);
  pa_gen_code(o, "UserIDTypeCode", "113871", "DCM", "Person ID");
  (void)r;
  pa_gen_put(o, "</ActiveParticipant>");
}

static inline void pa_gen_node(struct pa_gen_out *o, const char *ae, const char *ip,
                               int requestor, const char *role, const char *role_name)
{
  pa_gen_put(o,
             "<ActiveParticipant UserID=\"%s\" AlternativeUserID=\"AETITLES=%s\""
             " UserIsRequestor=\"%s\" NetworkAccessPointID=\"%s\""
             " NetworkAccessPointTypeCode=\"2\">",
             ae, ae, requestor ? "true" : "false", ip);
  pa_gen_code(o, "RoleIDCode", role, "DCM", role_name);
  pa_gen_put(o, "</ActiveParticipant>");
}

static inline void pa_gen_patient(struct pa_gen_out *o, uint32_t pt)
{
  pa_gen_put(o,
             "<ParticipantObjectIdentification ParticipantObjectID=\"P%07u^^^HOSP&amp;"
             "1.2.392.200119.1&amp;ISO^PI\" ParticipantObjectTypeCode=\"1\""
             " ParticipantObjectTypeCodeRole=\"1\">",
             pt);
  pa_gen_code(o, "ParticipantObjectIDTypeCode", "2", "RFC-3881", "Patient Number");
  pa_gen_put(o, "<ParticipantObjectName>%s^%s</ParticipantObjectName>",
             pa_gen_family[(pt * 7) % 24], pa_gen_given[(pt * 13) % 16]);
  pa_gen_put(o, "</ParticipantObjectIdentification>");
}

static inline void pa_gen_study(struct pa_gen_out *o, struct pa_gen_rng *r, uint32_t pt,
                                uint32_t st)
{
  unsigned n_sop = 1 + (pa_gen_below(r, 4) == 0);
  pa_gen_put(o,
             "<ParticipantObjectIdentification ParticipantObjectID=\"1.2.392.200036.9116.2.5.1.37."
             "%u.%u\" ParticipantObjectTypeCode=\"2\" ParticipantObjectTypeCodeRole=\"3\">",
             2418725938u + pt, st);
  pa_gen_code(o, "ParticipantObjectIDTypeCode", "110180", "DCM", "Study Instance UID");
  pa_gen_put(o, "<ParticipantObjectDescription><Accession Number=\"A%u-%05u\"/>",
             2025 + st % 2, (pt * 4 + st) % 100000);
  for (unsigned k = 0; k < n_sop; k++)
    pa_gen_put(o, "<SOPClass UID=\"%s\" NumberOfInstances=\"%u\"/>",
               pa_gen_sop[(pt + st + k * 3) % 8], 1 + pa_gen_below(r, 400));
  pa_gen_put(o, "</ParticipantObjectDescription></ParticipantObjectIdentification>");
}

/* Writes message i of stream seed into out[0..cap) as one line ending in
 * '\n' when lf, else without it; returns its length. cap >= PA_GEN_MAX_LINE. */
static inline size_t pa_gen_line(uint64_t seed, uint64_t i, char *out, size_t cap, int lf)
{
  struct pa_gen_rng r = {seed * 0x100000001B3ull ^ (i * 0x9E3779B97F4A7C15ull) ^ 0x5EEDull};
  struct pa_gen_out o = {out, 0, cap};
  const struct pa_gen_evt *ev = &pa_gen_evts[0];
  unsigned w = pa_gen_below(&r, 1000), acc = 0;
  uint32_t user = pa_gen_skewed(&r, PA_GEN_USERS), host = user % PA_GEN_HOSTS;
  uint32_t pt = pa_gen_skewed(&r, PA_GEN_PATIENTS), st = pa_gen_below(&r, 4);
  uint32_t pacs = pa_gen_below(&r, 4), outcome_roll = pa_gen_below(&r, 100);
  unsigned n_parts, n_objs;
  int64_t t = pa_gen_time_us(&r, i);
  char ws_ip[32], ws_ae[17], pacs_ip[32], pacs_ae[17], peer_ip[32], peer_ae[17];
  int outcome;

  (void)pa_gen_next(&r);
  for (size_t k = 0; k < sizeof pa_gen_evts / sizeof pa_gen_evts[0]; k++) {
    acc += pa_gen_evts[k].weight;
    if (w < acc) {
      ev = &pa_gen_evts[k];
      break;
    }
  }
  if (pa_gen_below(&r, 7) == 0)
    host = pa_gen_below(&r, PA_GEN_HOSTS); /* a user away from their usual desk */
  snprintf(ws_ip, sizeof ws_ip, "10.%u.%u.%u", 20 + host / 250, host % 250 + 1, 10 + host % 7);
  snprintf(ws_ae, sizeof ws_ae, "WS%03u", host);
  snprintf(pacs_ip, sizeof pacs_ip, "10.1.0.%u", 10 + pacs);
  snprintf(pacs_ae, sizeof pacs_ae, "PACS%u", pacs);
  {
    uint32_t m = pa_gen_below(&r, 40);
    snprintf(peer_ip, sizeof peer_ip, "10.2.%u.%u", m / 8, 20 + m);
    snprintf(peer_ae, sizeof peer_ae, "MOD_%s%02u", m < 20 ? "CT" : m < 30 ? "MR" : "CR", m);
  }
  outcome = outcome_roll < 93 ? 0 : outcome_roll < 97 ? 4 : outcome_roll < 99 ? 8 : 12;
  if (!strcmp(ev->code, "110114") && outcome_roll >= 88)
    outcome = 4; /* failed logins are common */

  /* header: PRI VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD */
  pa_gen_put(&o, "<%u>1 ", 10 * 8 + (outcome ? 4 : 5));
  pa_gen_iso(&o, t + 150000 + (int64_t)(i % 1000), 0);
  pa_gen_put(&o, " pacs%02u.hosp.example dcm4chee-arc %u IHE+RFC-3881 - ", pacs,
             4000 + pacs * 17);

  pa_gen_put(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><AuditMessage>");
  pa_gen_put(&o,
             "<EventIdentification EventActionCode=\"%c\" EventDateTime=\"", ev->action);
  pa_gen_iso(&o, t, pa_gen_below(&r, 3) == 0);
  pa_gen_put(&o, "\" EventOutcomeIndicator=\"%d\">", outcome);
  pa_gen_code(&o, "EventID", ev->code, "DCM", ev->name);
  if (!strcmp(ev->code, "110114"))
    pa_gen_code(&o, "EventTypeCode", pa_gen_below(&r, 2) ? "110122" : "110123", "DCM",
                pa_gen_below(&r, 2) ? "Login" : "Logout");
  else if (!strcmp(ev->code, "110100"))
    pa_gen_code(&o, "EventTypeCode", "110120", "DCM", "Application Start");
  else if (!strcmp(ev->code, "110113"))
    pa_gen_code(&o, "EventTypeCode", "110126", "DCM", "Node Authentication");
  if (outcome)
    pa_gen_put(&o, "<EventOutcomeDescription>%s</EventOutcomeDescription>",
               outcome == 4 ? "Invalid credentials or insufficient privileges"
                            : "Processing failed: storage commitment not received");
  pa_gen_put(&o, "</EventIdentification>");

  {
    uint32_t k = pa_gen_below(&r, 20);
    n_parts = k < 9 ? 1 : k < 16 ? 2 : 3;
  }
  pa_gen_user(&o, &r, user, ws_ip);
  if (n_parts >= 2)
    pa_gen_node(&o, ws_ae, ws_ip, 0, "110153", "Source Role ID");
  if (n_parts >= 3) {
    int from_modality = !strcmp(ev->code, "110104") || !strcmp(ev->code, "110107");
    pa_gen_node(&o, from_modality ? peer_ae : pacs_ae, from_modality ? peer_ip : pacs_ip, 0,
                "110152", "Destination Role ID");
  }

  pa_gen_put(&o,
             "<AuditSourceIdentification AuditSourceID=\"%s\" AuditEnterpriseSiteID="
             "\"EXAMPLE-HOSP\">",
             pacs_ae);
  pa_gen_put(&o, "<AuditSourceTypeCode csd-code=\"4\"/></AuditSourceIdentification>");

  {
    uint32_t k = pa_gen_below(&r, 10);
    n_objs = k < 5 ? 1 : k < 9 ? 2 : 3;
  }
  if (!strcmp(ev->code, "110114") || !strcmp(ev->code, "110108") ||
      !strcmp(ev->code, "110100"))
    n_objs = n_objs > 1 ? 1 : 0; /* logins and node events mostly name no patient */
  if (!strcmp(ev->code, "110112")) {
    /* a C-FIND: the query object (base64 of a small identifier), then the patient */
    pa_gen_put(&o,
               "<ParticipantObjectIdentification ParticipantObjectID=\"1.2.840.10008.5.1.4.1.2.2.1\""
               " ParticipantObjectTypeCode=\"2\" ParticipantObjectTypeCodeRole=\"24\">");
    pa_gen_code(&o, "ParticipantObjectIDTypeCode", "110181", "DCM", "SOP Class UID");
    pa_gen_put(&o, "<ParticipantObjectQuery>CAAFABAAAABJU09fSVJfMTAwIAgAUgAGAAAAU1RVRFkgEAAgAAgAAABQJTA3dSUwNSAgDQAQAAAAAA==</ParticipantObjectQuery>");
    pa_gen_put(&o, "<ParticipantObjectDetail type=\"TransferSyntax\" value=\"MS4yLjg0MC4xMDAwOC4xLjIuMQ==\"/>");
    pa_gen_put(&o, "</ParticipantObjectIdentification>");
    if (n_objs > 1)
      pa_gen_patient(&o, pt);
  } else {
    if (n_objs >= 1)
      pa_gen_patient(&o, pt);
    for (unsigned k = 1; k < n_objs; k++)
      pa_gen_study(&o, &r, pt, (st + k - 1) % 4);
  }
  pa_gen_put(&o, "</AuditMessage>%s", lf ? "\n" : "");
  return o.len;
}

#endif
