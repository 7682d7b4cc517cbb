/* pa_test.h — helpers shared by the unit tests (and one fuzz target): files
 * read into memory, paths to fixtures, the shared corpus and the source tree,
 * a recording copy of a pa_audit, and a fresh store in a private folder.
 *
 * Header-only, every function static inline (no warning where one is unused).
 * It needs no cmocka, so a fuzz target can use it too; failures return NULL
 * and the caller asserts. */
#ifndef PA_TEST_H
#define PA_TEST_H

#include "analyzer/event.h"
#include "analyzer/store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

/* Reads the file at path whole. Returns a malloc'd buffer of *len_out bytes
 * plus one spare byte (so a caller may NUL-terminate it), which the caller
 * frees with free(); NULL, quietly, when there is no such file (an absent
 * corpus is not an error), and NULL with a line on stderr when it cannot be
 * read. */
static inline uint8_t *pa_test_slurp(const char *path, size_t *len_out)
{
  FILE *f = fopen(path, "rb");
  uint8_t *b = NULL;
  long n;

  *len_out = 0;
  if (!f)
    return NULL;
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
    goto out;
  b = malloc((size_t)n + 1);
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  if (b)
    *len_out = (size_t)n;
out:
  fclose(f);
  if (!b)
    fprintf(stderr, "pa_test: cannot read %s\n", path);
  return b;
}

/* $PA_FIXTURES/rel (ctest sets it; "fixtures" relative to the working folder
 * otherwise) into buf. */
static inline void pa_test_fixture_path(char *buf, size_t size, const char *rel)
{
  const char *dir = getenv("PA_FIXTURES");
  snprintf(buf, size, "%s/%s", dir ? dir : "fixtures", rel);
}

/* pa_test_slurp of fixtures/rel: same ownership; NULL, said on stderr, when
 * it is absent (a fixture should be there). */
static inline uint8_t *pa_test_fixture(const char *rel, size_t *len_out)
{
  char path[1024];
  uint8_t *b;
  pa_test_fixture_path(path, sizeof path, rel);
  b = pa_test_slurp(path, len_out);
  if (!b)
    fprintf(stderr, "pa_test: cannot open %s\n", path);
  return b;
}

/* The shared corpus is not part of the repository: $PA_CORPUS/rel, else
 * $PA_FIXTURES/../../shared/corpus/rel (the checkout beside shared/, as CI
 * lays it out). Tests that need it skip when it is absent. */
static inline void pa_test_corpus_path(char *buf, size_t size, const char *rel)
{
  const char *env = getenv("PA_CORPUS"), *fx = getenv("PA_FIXTURES");
  if (env && *env)
    snprintf(buf, size, "%s/%s", env, rel);
  else
    snprintf(buf, size, "%s/../../shared/corpus/%s", fx ? fx : "fixtures", rel);
}

/* rel inside the source tree, found from this header's own path
 * (tests/unit/pa_test.h; CMake passes sources whole, so it is absolute). */
static inline void pa_test_src_path(char *buf, size_t size, const char *rel)
{
  const char *f = __FILE__;
  size_t n = strlen(f);
  for (int i = 0; i < 3; i++) /* drop pa_test.h, unit, tests */
    while (n > 0 && f[--n] != '/')
      ;
  if (n == 0 && f[0] != '/')
    snprintf(buf, size, "./%s", rel); /* a relative __FILE__: built from the root */
  else
    snprintf(buf, size, "%.*s/%s", (int)n, f, rel);
}

/* ---- a recording copy of one pa_audit ------------------------------------ */

/* Strings a sink copies: NULL becomes "(null)", so a test compares it with
 * assert_string_equal like any other value. */
#define PA_TEST_CP(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "(null)")

#define PA_TEST_NP 8 /* participants and objects kept */

/* The text and numbers of one pa_audit (its events row, participants and
 * objects), owned by the struct, so they outlive the sink call. */
struct pa_test_audit {
  int calls; /* pa_test_audit_copy calls into this struct */
  char code[64], display[64], types[128], type_names[256], format[16], user_id[64],
    user_name[64], user_role[64], src_ip[64], src_ae[20], dst_ip[64], dst_ae[20], host[64],
    patient[64], study[96], source_id[64], source_site[64], source_types[32], purpose[64],
    outcome_desc[128], warnings[1024], origin[64], system[32], event_type[64];
  char action;
  int outcome;
  int64_t ts, received_ts, raw_id, object_count;
  size_t n_parts, n_objs;
  char p_uid[PA_TEST_NP][64], p_ae[PA_TEST_NP][20], p_roles[PA_TEST_NP][64];
  int p_req[PA_TEST_NP], p_net_eff[PA_TEST_NP], p_type[PA_TEST_NP];
  char o_id[PA_TEST_NP][96], o_cx[PA_TEST_NP][64], o_ns[PA_TEST_NP][64], o_uni[PA_TEST_NP][64],
    o_sops[PA_TEST_NP][128], o_acc[PA_TEST_NP][64], o_name[PA_TEST_NP][64],
    o_desc[PA_TEST_NP][64], o_query[PA_TEST_NP][64], o_studies[PA_TEST_NP][64];
  int64_t o_n[PA_TEST_NP];
};

/* Copies a into r (the first PA_TEST_NP participants and objects) and
 * counts the call; a is only read. */
static inline void pa_test_audit_copy(struct pa_test_audit *r, const struct pa_audit *a)
{
  const struct pa_event *e = &a->ev;
  r->calls++;
  PA_TEST_CP(r->code, e->event_code);
  PA_TEST_CP(r->display, a->event_display);
  PA_TEST_CP(r->system, a->event_id_system);
  PA_TEST_CP(r->types, a->event_types);
  PA_TEST_CP(r->event_type, e->event_type);
  PA_TEST_CP(r->type_names, a->event_type_names);
  PA_TEST_CP(r->format, a->format);
  PA_TEST_CP(r->user_id, e->user_id);
  PA_TEST_CP(r->user_name, e->user_name);
  PA_TEST_CP(r->user_role, e->user_role);
  PA_TEST_CP(r->src_ip, e->src_ip);
  PA_TEST_CP(r->src_ae, e->src_ae);
  PA_TEST_CP(r->dst_ip, e->dst_ip);
  PA_TEST_CP(r->dst_ae, e->dst_ae);
  PA_TEST_CP(r->host, e->host);
  PA_TEST_CP(r->patient, e->patient_id);
  PA_TEST_CP(r->study, e->study_uid);
  PA_TEST_CP(r->source_id, a->source_id);
  PA_TEST_CP(r->source_site, a->source_site);
  PA_TEST_CP(r->source_types, a->source_types);
  PA_TEST_CP(r->purpose, a->purpose);
  PA_TEST_CP(r->outcome_desc, a->outcome_desc);
  PA_TEST_CP(r->warnings, a->warnings);
  PA_TEST_CP(r->origin, e->origin);
  r->action = e->action;
  r->outcome = e->outcome;
  r->ts = e->ts;
  r->received_ts = e->received_ts;
  r->raw_id = e->raw_id;
  r->object_count = e->object_count;
  r->n_parts = a->n_participants;
  r->n_objs = a->n_objects;
  for (size_t i = 0; i < a->n_participants && i < PA_TEST_NP; i++) {
    const struct pa_participant *p = &a->participants[i];
    PA_TEST_CP(r->p_uid[i], p->user_id);
    PA_TEST_CP(r->p_ae[i], p->ae_title);
    PA_TEST_CP(r->p_roles[i], p->roles);
    r->p_req[i] = p->is_requestor;
    r->p_net_eff[i] = p->net_type_effective;
    r->p_type[i] = p->user_type;
  }
  for (size_t i = 0; i < a->n_objects && i < PA_TEST_NP; i++) {
    const struct pa_object *o = &a->objects[i];
    PA_TEST_CP(r->o_id[i], o->object_id);
    PA_TEST_CP(r->o_cx[i], o->cx_id);
    PA_TEST_CP(r->o_ns[i], o->cx_namespace);
    PA_TEST_CP(r->o_uni[i], o->cx_universal_id);
    PA_TEST_CP(r->o_sops[i], o->sop_classes);
    PA_TEST_CP(r->o_acc[i], o->accession);
    PA_TEST_CP(r->o_name[i], o->name);
    PA_TEST_CP(r->o_desc[i], o->description);
    PA_TEST_CP(r->o_query[i], o->query_b64);
    PA_TEST_CP(r->o_studies[i], o->study_uids);
    r->o_n[i] = o->n_instances;
  }
}

/* The total length of every string in a (events row, audit fields,
 * participants, objects): a fuzz sink calls it so that the sanitizers see
 * each byte the store would read. */
static inline size_t pa_test_audit_strlen(const struct pa_audit *a)
{
  const struct pa_event *e = &a->ev;
  const char *s[] = {e->source, e->origin, e->event_code, e->user_id, e->user_name, e->user_role,
                     e->src_ip, e->src_ae, e->dst_ip, e->dst_ae, e->host, e->patient_id,
                     e->study_uid, a->format, a->event_id_system, a->event_display,
                     a->event_types, a->event_type_names, a->outcome_desc, a->purpose,
                     a->source_id, a->source_site, a->source_types, a->warnings};
  size_t n = 0;
  for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
    n += s[i] ? strlen(s[i]) : 0;
  for (size_t i = 0; i < a->n_participants; i++) {
    const struct pa_participant *p = &a->participants[i];
    const char *ps[] = {p->user_id, p->alt_user_id, p->user_name, p->user_id_type,
                        p->net_id, p->ae_title, p->roles, p->role_names};
    for (size_t j = 0; j < sizeof ps / sizeof ps[0]; j++)
      n += ps[j] ? strlen(ps[j]) : 0;
  }
  for (size_t i = 0; i < a->n_objects; i++) {
    const struct pa_object *o = &a->objects[i];
    const char *os[] = {o->object_id, o->id_type_code, o->id_type_system, o->name,
                        o->description, o->query_b64, o->cx_id, o->cx_namespace,
                        o->cx_universal_id, o->sop_classes, o->accession, o->study_uids};
    for (size_t j = 0; j < sizeof os / sizeof os[0]; j++)
      n += os[j] ? strlen(os[j]) : 0;
  }
  return n;
}

/* A fresh store in a private folder under /tmp: the folder, the database
 * file in it (t.db) and the store open on it. */
struct pa_test_db {
  char dir[64];
  char path[128];
  pa_store *s;
};

/* Makes one, the folder named after tag. Malloc'd, the caller's:
 * pa_test_db_free. NULL, with a line on stderr, when it cannot. */
static inline struct pa_test_db *pa_test_db_new(const char *tag)
{
  struct pa_test_db *d = calloc(1, sizeof *d);
  struct pa_err err;

  if (!d)
    return NULL;
  snprintf(d->dir, sizeof d->dir, "/tmp/pa_%s_XXXXXX", tag);
  if (!mkdtemp(d->dir)) {
    perror(d->dir);
    free(d);
    return NULL;
  }
  snprintf(d->path, sizeof d->path, "%s/t.db", d->dir);
  pa_err_clear(&err);
  if (pa_store_open(d->path, &d->s, &err) != PA_OK) {
    fprintf(stderr, "%s\n", err.msg);
    rmdir(d->dir);
    free(d);
    return NULL;
  }
  return d;
}

/* Closes the store and removes its folder with whatever a test left in it
 * (NULL ok). */
static inline void pa_test_db_free(struct pa_test_db *d)
{
  struct dirent *e;
  char p[sizeof d->dir + 256 + 2];
  DIR *dir;

  if (!d)
    return;
  pa_store_close(d->s);
  if ((dir = opendir(d->dir))) {
    while ((e = readdir(dir)))
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
        snprintf(p, sizeof p, "%s/%s", d->dir, e->d_name);
        unlink(p);
      }
    closedir(dir);
  }
  rmdir(d->dir);
  free(d);
}

#endif
