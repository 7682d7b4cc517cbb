/* audit_map.c — shared helpers of the audit-message parsers (see audit_map.h). */
#include "audit_map.h"

#include "../analyzer/limits.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- arena ---- */

#define ARENA_BLK 16384

struct pa_arena_blk {
  struct pa_arena_blk *next;
  size_t size, used;
  char data[];
};

void pa_arena_init(struct pa_arena *a, size_t cap)
{
  a->head = NULL;
  a->used = 0;
  a->cap = cap;
  a->err = PA_OK;
}

void pa_arena_reset(struct pa_arena *a)
{
  struct pa_arena_blk *b = a->head, *keep = NULL;

  while (b) {
    struct pa_arena_blk *next = b->next;
    if (!next && b->size == ARENA_BLK) {
      keep = b; /* the oldest, standard-size block survives */
    } else {
      free(b);
    }
    b = next;
  }
  if (keep) {
    keep->next = NULL;
    keep->used = 0;
  }
  a->head = keep;
  a->used = 0;
  a->err = PA_OK;
}

void pa_arena_cleanup(struct pa_arena *a)
{
  struct pa_arena_blk *b = a->head;
  while (b) {
    struct pa_arena_blk *next = b->next;
    free(b);
    b = next;
  }
  a->head = NULL;
  a->used = 0;
}

static char *arena_alloc(struct pa_arena *a, size_t n)
{
  struct pa_arena_blk *b = a->head;

  if (a->err)
    return NULL;
  if (n > a->cap - a->used) {
    a->err = PA_LIMIT;
    return NULL;
  }
  if (!b || b->size - b->used < n) {
    size_t sz = n > ARENA_BLK / 4 ? n : ARENA_BLK;
    b = malloc(sizeof *b + sz);
    if (!b) {
      a->err = PA_NOMEM;
      return NULL;
    }
    b->size = sz;
    b->used = 0;
    if (sz == ARENA_BLK || !a->head) {
      b->next = a->head;
      a->head = b;
    } else {
      /* a big one-off: keep the current block in front for small strings */
      b->next = a->head->next;
      a->head->next = b;
    }
  }
  a->used += n;
  b->used += n;
  return b->data + b->used - n;
}

char *pa_arena_strndup(struct pa_arena *a, const char *s, size_t n)
{
  char *p;
  if (n == SIZE_MAX)
    return NULL;
  p = arena_alloc(a, n + 1);
  if (!p)
    return NULL;
  if (n)
    memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

const char *pa_arena_trimdup(struct pa_arena *a, const char *s, size_t n)
{
  while (n && is_ws(*s)) {
    s++;
    n--;
  }
  while (n && is_ws(s[n - 1]))
    n--;
  return pa_arena_strndup(a, s, n);
}

const char *pa_arena_buf(struct pa_arena *a, const struct pa_buf *b)
{
  if (!b->len)
    return NULL;
  return pa_arena_strndup(a, (const char *)b->p, b->len);
}

/* ---- warnings ---- */

void pa_warn_init(struct pa_warn *w)
{
  pa_buf_init(&w->buf, 8192);
  w->n = 0;
}

void pa_warn_reset(struct pa_warn *w)
{
  pa_buf_reset(&w->buf);
  w->n = 0;
}

void pa_warn_cleanup(struct pa_warn *w) { pa_buf_cleanup(&w->buf); }

static void json_str(struct pa_buf *b, const char *s)
{
  pa_buf_append(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      char e[2] = {'\\', (char)*p};
      pa_buf_append(b, e, 2);
    } else if (*p < 0x20) {
      pa_buf_appendf(b, "\\u%04x", *p);
    } else {
      pa_buf_append(b, p, 1);
    }
  }
  pa_buf_append(b, "\"", 1);
}

void pa_warn_add(struct pa_warn *w, const char *fmt, ...)
{
  char msg[200];
  va_list ap;
  size_t keep = w->buf.len;

  w->n++;
  if (w->n > PA_MAX_AUDIT_WARNINGS)
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (pa_buf_append(&w->buf, w->n == 1 ? "[" : ",", 1) != PA_OK) {
    w->buf.len = keep;
    return;
  }
  json_str(&w->buf, msg);
}

const char *pa_warn_json(struct pa_warn *w, struct pa_arena *a)
{
  char tail[48];
  size_t n;
  char *out;

  if (!w->n || !w->buf.len)
    return NULL;
  n = w->n > PA_MAX_AUDIT_WARNINGS
        ? (size_t)snprintf(tail, sizeof tail, ",\"+%zu more\"]", w->n - PA_MAX_AUDIT_WARNINGS)
        : (size_t)snprintf(tail, sizeof tail, "]");
  out = arena_alloc(a, w->buf.len + n + 1);
  if (!out)
    return NULL;
  memcpy(out, w->buf.p, w->buf.len);
  memcpy(out + w->buf.len, tail, n + 1);
  return out;
}

/* ---- value helpers ---- */

static const char *skip_ws(const char *s)
{
  while (is_ws(*s))
    s++;
  return s;
}

int pa_audit_bool(const char *s)
{
  size_t n;
  if (!s)
    return -1;
  s = skip_ws(s);
  n = strlen(s);
  while (n && is_ws(s[n - 1]))
    n--;
  if ((n == 4 && !strncasecmp(s, "true", 4)) || (n == 1 && s[0] == '1'))
    return 1;
  if ((n == 5 && !strncasecmp(s, "false", 5)) || (n == 1 && s[0] == '0'))
    return 0;
  return -1;
}

long pa_audit_int(const char *s, long lo, long hi)
{
  char *end;
  long v;

  if (!s)
    return -1;
  s = skip_ws(s);
  if (*s < '0' || *s > '9')
    return -1;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno || *skip_ws(end) || v < lo || v > hi)
    return -1;
  return v;
}

/* Is s an IP address, alone or with a port ("192.0.2.33:104",
 * "[2001:db8::1]:104")? 1 yes, with the address at s[*off..*off+*len). */
static int ip_span(const char *s, size_t *off, size_t *len)
{
  unsigned char tmp[16];
  char host[64];
  const char *c;
  size_t n = strlen(s), o = 0, l = n;

  if (n && s[0] == '[' && (c = strstr(s, "]:")) && c[2] && strspn(c + 2, "0123456789") == strlen(c + 2)) {
    o = 1;
    l = (size_t)(c - s) - 1;
  } else if ((c = strchr(s, ':')) && !strchr(c + 1, ':') && c[1] &&
             strspn(c + 1, "0123456789") == strlen(c + 1)) {
    l = (size_t)(c - s); /* IPv4:port; an IPv6 address has more than one ':' */
  }
  if (l >= sizeof host)
    return 0;
  memcpy(host, s + o, l);
  host[l] = 0;
  if (inet_pton(AF_INET, host, tmp) != 1 && inet_pton(AF_INET6, host, tmp) != 1)
    return 0;
  *off = o;
  *len = l;
  return 1;
}

int pa_audit_net_class(const char *s, int sent)
{
  size_t n, o, l;

  if (!s || !*s)
    return -1;
  n = strlen(s);
  if (ip_span(s, &o, &l))
    return 2;
  if (strstr(s, "://") || !strncasecmp(s, "urn:", 4))
    return 5;
  if (strchr(s, '@'))
    return 4;
  if (sent == 3 || s[0] == '+' || (strspn(s, "0123456789-+() ") == n && n >= 3))
    return 3;
  return 1;
}

const char *pa_audit_system(const char *s)
{
  if (!s)
    return NULL;
  if (!strcasecmp(s, "DCM") || !strcasecmp(s, "DICOM") || !strcmp(s, "1.2.840.10008.2.16.4") ||
      !strcmp(s, "urn:oid:1.2.840.10008.2.16.4") ||
      !strcmp(s, "http://dicom.nema.org/resources/ontology/DCM") ||
      !strcmp(s, "http://nema.org/dicom/dicm"))
    return "DCM";
  return s;
}

int pa_audit_is_dcm_code(const char *code)
{
  if (!code || strlen(code) != 6 || strspn(code, "0123456789") != 6)
    return 0;
  return !strncmp(code, "110", 3) || !strncmp(code, "113", 3);
}

const char *pa_audit_event_code(struct pa_arena *a, const char *system, const char *code)
{
  const char *sys;
  size_t ls, lc;
  char *out;

  if (!code || !*code)
    return NULL;
  sys = pa_audit_system(system);
  if ((!sys || !*sys) && pa_audit_is_dcm_code(code))
    sys = "DCM";
  if (!sys || !*sys)
    return pa_arena_strndup(a, code, strlen(code));
  ls = strlen(sys);
  lc = strlen(code);
  out = arena_alloc(a, ls + lc + 2);
  if (!out)
    return NULL;
  memcpy(out, sys, ls);
  out[ls] = ':';
  memcpy(out + ls + 1, code, lc + 1);
  return out;
}

const char *pa_audit_aetitle(struct pa_arena *a, const char *s)
{
  const char *p, *e;

  if (!s)
    return NULL;
  for (p = s; *p; p++) {
    if (!strncasecmp(p, "AETITLES=", 9)) {
      p += 9;
      break;
    }
    if (!strncasecmp(p, "AETITLE=", 8)) {
      p += 8;
      break;
    }
  }
  if (!*p)
    return NULL;
  while (*p == ' ')
    p++;
  e = p + strcspn(p, ";,");
  while (e > p && e[-1] == ' ')
    e--;
  if (e == p)
    return NULL;
  return pa_arena_strndup(a, p, (size_t)(e - p));
}

void pa_audit_cx_split(struct pa_arena *a, struct pa_object *o)
{
  const char *s = o->object_id, *c[5] = {0};
  size_t lens[5] = {0};
  int k = 0;

  if (!s || !strchr(s, '^'))
    return;
  c[0] = s;
  for (const char *p = s;; p++) {
    if (*p == '^' || *p == '\0') {
      lens[k] = (size_t)(p - c[k]);
      if (*p == '\0' || k == 4)
        break;
      c[++k] = p + 1;
    }
  }
  o->cx_id = pa_arena_strndup(a, c[0], lens[0]);
  if (c[3] && lens[3]) { /* assigning authority: NS&OID&ISO */
    const char *amp = memchr(c[3], '&', lens[3]);
    size_t nsl = amp ? (size_t)(amp - c[3]) : lens[3];
    if (nsl)
      o->cx_namespace = pa_arena_strndup(a, c[3], nsl);
    if (amp) {
      const char *u = amp + 1, *end = c[3] + lens[3];
      const char *amp2 = memchr(u, '&', (size_t)(end - u));
      size_t ul = (size_t)((amp2 ? amp2 : end) - u);
      if (ul)
        o->cx_universal_id = pa_arena_strndup(a, u, ul);
    }
  }
}

pa_rc pa_audit_list_add(struct pa_buf *b, const char *sep, const char *item)
{
  size_t sl = strlen(sep);
  const char *hit;
  pa_rc rc;

  if (b->len && (rc = pa_buf_append(b, sep, sl)) != PA_OK)
    return rc;
  if (!item)
    return PA_OK;
  /* the separator inside an item would shift every later index: write it
   * with its ',' as ';' and its '|' as '/' */
  while ((hit = strstr(item, sep))) {
    if ((rc = pa_buf_append(b, item, (size_t)(hit - item))) != PA_OK)
      return rc;
    for (size_t k = 0; k < sl; k++) {
      char c = sep[k] == ',' ? ';' : sep[k] == '|' ? '/' : sep[k];
      if ((rc = pa_buf_append(b, &c, 1)) != PA_OK)
        return rc;
    }
    item = hit + sl;
  }
  return pa_buf_append(b, item, strlen(item));
}

/* ---- the events row ---- */

int pa_audit_list_has(const char *list, const char *code)
{
  size_t n = strlen(code);
  for (const char *p = list; p && *p;) {
    const char *e = strchr(p, ',');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (l == n && !memcmp(p, code, n))
      return 1;
    p = e ? e + 1 : NULL;
  }
  return 0;
}

/* Codes that say what kind of participant it is, not which RBAC role it
 * holds: DICOM application roles 110150..110155 and the FHIR agent types
 * (extra-security-role-type, v3-ParticipationType) used by BALP. */
static int is_app_role(const char *p, size_t l)
{
  static const char *const kinds[] = {"humanuser", "dataprocessor", "datasubject", "authserver",
                                      "IRCP", "AUT", "CST", "INF", "PROV", "CUST"};
  if (l == 6 && !memcmp(p, "11015", 5) && p[5] >= '0' && p[5] <= '5')
    return 1;
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strlen(kinds[i]) == l && !memcmp(p, kinds[i], l))
      return 1;
  return 0;
}

/* Index (0-based) of the first RBAC role in roles, -1 none. */
static int first_rbac_role(const char *roles)
{
  int i = 0;
  for (const char *p = roles; p && *p; i++) {
    const char *e = strchr(p, ',');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (l && !is_app_role(p, l))
      return i;
    p = e ? e + 1 : NULL;
  }
  return -1;
}

/* The i-th item of a list split by sep, as an arena string. */
static const char *nth(struct pa_arena *a, const char *list, const char *sep, int i)
{
  size_t sl = strlen(sep);
  const char *p = list;
  if (!list)
    return NULL;
  for (; i > 0 && p; i--) {
    p = strstr(p, sep);
    if (p)
      p += sl;
  }
  if (!p)
    return NULL;
  const char *e = strstr(p, sep);
  size_t l = e ? (size_t)(e - p) : strlen(p);
  return l ? pa_arena_strndup(a, p, l) : NULL;
}

static int is_human(const struct pa_participant *p)
{
  if (p->user_type == 2)
    return 0;
  if (p->user_id_type && (!strcmp(p->user_id_type, "110119") || !strcmp(p->user_id_type, "113877") ||
                          !strcmp(p->user_id_type, "110182")))
    return 0;
  if (p->user_type == 1)
    return 1;
  if (p->user_id_type && !strcmp(p->user_id_type, "113871"))
    return 1;
  if (p->user_name && *p->user_name)
    return 1;
  return first_rbac_role(p->roles) >= 0;
}

/* The participant's address for the events row: a DNS name or an IP, an
 * IP without the port some senders append. */
static const char *usable_addr(struct pa_arena *ar, const struct pa_participant *p)
{
  size_t o, l;

  if (!p || !p->net_id || !*p->net_id)
    return NULL;
  if (p->net_type_effective != 1 && p->net_type_effective != 2)
    return NULL;
  if (ip_span(p->net_id, &o, &l) && (o || p->net_id[l]))
    return pa_arena_strndup(ar, p->net_id + o, l);
  return p->net_id;
}

const char *pa_audit_event_type(struct pa_arena *a, const char *event_types)
{
  size_t n;
  char *out;

  if (!event_types)
    return NULL;
  n = strcspn(event_types, ",");
  if (!n)
    return NULL;
  /* the same test as migration 6: GLOB '110[0-9][0-9][0-9]*' */
  if (n >= 6 && !strncmp(event_types, "110", 3) && strspn(event_types + 3, "0123456789") >= 3) {
    out = arena_alloc(a, n + 5);
    if (!out)
      return NULL;
    memcpy(out, "DCM:", 4);
    memcpy(out + 4, event_types, n);
    out[n + 4] = 0;
    return out;
  }
  return pa_arena_strndup(a, event_types, n);
}

void pa_audit_derive(struct pa_audit *a, struct pa_arena *ar)
{
  const struct pa_participant *req = NULL, *src = NULL, *dst = NULL;
  struct pa_event *ev = &a->ev;
  int64_t count = -1;

  ev->event_type = pa_audit_event_type(ar, a->event_types);

  for (size_t i = 0; i < a->n_participants; i++) {
    const struct pa_participant *p = &a->participants[i];
    if (p->is_requestor == 1 && is_human(p)) {
      req = p;
      break;
    }
  }
  for (size_t i = 0; !req && i < a->n_participants; i++)
    if (a->participants[i].is_requestor == 1)
      req = &a->participants[i];
  for (size_t i = 0; i < a->n_participants; i++) {
    const struct pa_participant *p = &a->participants[i];
    if (!src && pa_audit_list_has(p->roles, "110153"))
      src = p;
    if (!dst && pa_audit_list_has(p->roles, "110152"))
      dst = p;
  }
  if (!src)
    src = req;

  if (req) {
    int r;
    ev->user_id = req->user_id && *req->user_id ? req->user_id : NULL;
    ev->user_name = req->user_name && *req->user_name ? req->user_name : NULL;
    r = first_rbac_role(req->roles);
    if (r >= 0) {
      ev->user_role = nth(ar, req->role_names, " | ", r);
      if (!ev->user_role)
        ev->user_role = nth(ar, req->roles, ",", r);
    }
  }
  /* the requestor stands in for a source that gives no address or AE title,
   * unless the requestor is the destination */
  ev->src_ip = usable_addr(ar, src);
  if (!ev->src_ip && req != dst)
    ev->src_ip = usable_addr(ar, req);
  ev->src_ae = src ? src->ae_title : NULL;
  if (!ev->src_ae && req && req != dst)
    ev->src_ae = req->ae_title;
  ev->dst_ip = usable_addr(ar, dst);
  ev->dst_ae = dst ? dst->ae_title : NULL;

  for (size_t i = 0; i < a->n_objects; i++) {
    const struct pa_object *o = &a->objects[i];
    const char *id = o->cx_id ? o->cx_id : o->object_id;
    if (!ev->patient_id && o->type_code == 1 && o->role_code == 1 && id && *id &&
        strcmp(id, "<none>") != 0)
      ev->patient_id = id;
    if (!ev->study_uid && o->id_type_code && !strcmp(o->id_type_code, "110180") && o->object_id &&
        *o->object_id)
      ev->study_uid = o->object_id;
    if (o->n_instances >= 0)
      count = (count < 0 ? 0 : count) + o->n_instances;
  }
  for (size_t i = 0; !ev->study_uid && i < a->n_objects; i++)
    if (a->objects[i].study_uids)
      ev->study_uid = nth(ar, a->objects[i].study_uids, ",", 0);
  ev->object_count = count;
}
