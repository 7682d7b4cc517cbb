/* decoders.c — PCRE2 decoders for plain syslog text, loaded from JSON (see
 * decoders.h). One table lists the event fields a decoder may fill. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "decoders.h"

#include "../analyzer/limits.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The event fields a decoder's "fields" may name, with where they go. */
static const struct field_def {
  const char *name;
  size_t off; /* offsetof(struct pa_event, ...) of a const char * */
} field_defs[] = {
  {"user_id", offsetof(struct pa_event, user_id)},
  {"user_name", offsetof(struct pa_event, user_name)},
  {"user_role", offsetof(struct pa_event, user_role)},
  {"src_ip", offsetof(struct pa_event, src_ip)},
  {"src_ae", offsetof(struct pa_event, src_ae)},
  {"dst_ip", offsetof(struct pa_event, dst_ip)},
  {"dst_ae", offsetof(struct pa_event, dst_ae)},
  {"host", offsetof(struct pa_event, host)},
  {"patient_id", offsetof(struct pa_event, patient_id)},
  {"study_uid", offsetof(struct pa_event, study_uid)},
  {"auth_method", offsetof(struct pa_event, auth_method)},
};
#define N_FIELDS (sizeof field_defs / sizeof field_defs[0])

struct decoder {
  char *name;                /* owned */
  char *file;                /* owned: the file (label) it came from */
  char **programs;           /* owned: APP-NAME / TAG values, any of them */
  size_t n_programs;
  pcre2_code *program_re;    /* or a regex on APP-NAME / TAG; NULL */
  pcre2_code *re;            /* the pattern on MSG */
  char *event_code, *event_type; /* owned; event_type may be NULL */
  char action;
  int outcome;
  int group[N_FIELDS];       /* capture group number filling each field, -1 none */
  /* same_try: this decoder's line joins an earlier line of decoder `after`
   * (same host, process id and key groups) as one try */
  char *after_name;          /* owned: same_try.after, NULL none */
  char *key_names[PA_DECODER_TRY_KEYS]; /* owned: same_try.key group names */
  size_t n_key;
  int after;                 /* index of that decoder, -1 none (resolved at load) */
  int key_groups[PA_DECODER_TRY_KEYS];   /* the key groups in this pattern */
  int after_groups[PA_DECODER_TRY_KEYS]; /* the same groups in `after`'s pattern */
  int joined_by;             /* index of the decoder whose same_try.after names this, -1 */
};

struct pa_decoders {
  struct decoder *v;
  size_t n, size;
  pcre2_match_context *mctx;
  uint32_t max_groups;       /* most capture groups of any pattern */
  char err_input[512];       /* the file named by the last error */
};

struct pa_decoders_scratch {
  pcre2_match_data *md;
  uint32_t md_groups;
  char text[N_FIELDS + 1][PA_DECODER_MAX_FIELD + 1];
  char try_key[PA_DECODER_TRY_KEY_LEN]; /* pa_decoded.try_key / join_key */
};

static void decoder_cleanup(struct decoder *x)
{
  free(x->name);
  free(x->file);
  for (size_t i = 0; i < x->n_programs; i++)
    free(x->programs[i]);
  free(x->programs);
  pcre2_code_free(x->program_re);
  pcre2_code_free(x->re);
  free(x->event_code);
  free(x->event_type);
  free(x->after_name);
  for (size_t i = 0; i < x->n_key; i++)
    free(x->key_names[i]);
  memset(x, 0, sizeof *x);
}

pa_decoders *pa_decoders_new(void)
{
  pa_decoders *d = calloc(1, sizeof *d);
  if (!d)
    return NULL;
  d->mctx = pcre2_match_context_create(NULL);
  if (!d->mctx) {
    free(d);
    return NULL;
  }
  pcre2_set_match_limit(d->mctx, PA_DECODER_MATCH_LIMIT);
  pcre2_set_depth_limit(d->mctx, PA_DECODER_DEPTH_LIMIT);
  return d;
}

void pa_decoders_free(pa_decoders *d)
{
  if (!d)
    return;
  for (size_t i = 0; i < d->n; i++)
    decoder_cleanup(&d->v[i]);
  free(d->v);
  pcre2_match_context_free(d->mctx);
  free(d);
}

size_t pa_decoders_count(const pa_decoders *d) { return d->n; }

/* ---- loading ------------------------------------------------------------ */

struct ld {
  pa_decoders *d;
  const char *label;
  struct pa_err *err;
};

static pa_rc bad(struct ld *l, size_t i, const char *path, const char *what)
{
  return pa_err_set(l->err, PA_RULE, UINT64_MAX, i + 1, "%s: decoders[%zu]%s%s: %s", l->label, i,
                    path[0] ? "." : "", path, what);
}

static char *dup_str(const char *s)
{
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p)
    memcpy(p, s, n);
  return p;
}

static pa_rc compile(struct ld *l, size_t i, const char *path, const char *pat, pcre2_code **out)
{
  int code;
  PCRE2_SIZE off;
  pcre2_code *re;

  re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
  if (!re) {
    PCRE2_UCHAR msg[160];
    if (code == PCRE2_ERROR_NOMEMORY)
      return PA_NOMEM;
    pcre2_get_error_message(code, msg, sizeof msg);
    return pa_err_set(l->err, PA_RULE, UINT64_MAX, i + 1,
                      "%s: decoders[%zu].%s: regex error at offset %zu: %s", l->label, i, path,
                      (size_t)off, (const char *)msg);
  }
  /* JIT when the platform has it; the interpreter otherwise */
  (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
  *out = re;
  return PA_OK;
}

static pa_rc load_event(struct ld *l, size_t i, json_t *ev, struct decoder *x)
{
  const char *key;
  json_t *v;
  char path[128];

  if (!json_is_object(ev))
    return bad(l, i, "event", "expected an object");
  x->action = 'E';
  x->outcome = -1;
  json_object_foreach(ev, key, v) {
    snprintf(path, sizeof path, "event.%s", key);
    if (!strcmp(key, "event_code") || !strcmp(key, "event_type")) {
      char **dst = key[6] == 'c' ? &x->event_code : &x->event_type;
      if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 64)
        return bad(l, i, path, "expected a string of 1..64 bytes");
      if (!(*dst = dup_str(json_string_value(v))))
        return PA_NOMEM;
    } else if (!strcmp(key, "action")) {
      const char *s = json_is_string(v) ? json_string_value(v) : NULL;
      if (!s || strlen(s) != 1 || !strchr("CRUDE", s[0]))
        return bad(l, i, path, "expected one of \"C\" \"R\" \"U\" \"D\" \"E\"");
      x->action = s[0];
    } else if (!strcmp(key, "outcome")) {
      json_int_t o = json_is_integer(v) ? json_integer_value(v) : -1;
      if (o != 0 && o != 4 && o != 8 && o != 12)
        return bad(l, i, path, "expected one of 0, 4, 8, 12");
      x->outcome = (int)o;
    } else if (!strcmp(key, "fields")) {
      const char *fk;
      json_t *fv;
      if (!json_is_object(v))
        return bad(l, i, path, "expected an object");
      json_object_foreach(v, fk, fv) {
        size_t f;
        int g;
        snprintf(path, sizeof path, "event.fields.%s", fk);
        for (f = 0; f < N_FIELDS && strcmp(field_defs[f].name, fk); f++)
          ;
        if (f == N_FIELDS)
          return bad(l, i, path, "unknown event field");
        if (!json_is_string(fv))
          return bad(l, i, path, "expected the name of a capture group");
        g = pcre2_substring_number_from_name(x->re, (PCRE2_SPTR)json_string_value(fv));
        if (g <= 0)
          return bad(l, i, path, "the pattern has no group of that name");
        x->group[f] = g;
      }
    } else {
      return bad(l, i, path, "unknown key");
    }
  }
  if (!x->event_code)
    return bad(l, i, "event", "missing \"event_code\"");
  if (x->outcome < 0)
    return bad(l, i, "event", "missing \"outcome\"");
  return PA_OK;
}

/* "same_try": {"after": "NAME", "key": ["group", ...]}: names only; the
 * decoder and its groups are resolved once the whole file is read. */
static pa_rc load_same_try(struct ld *l, size_t i, json_t *v, struct decoder *x)
{
  const char *key;
  json_t *w;
  char path[96];

  if (!json_is_object(v))
    return bad(l, i, "same_try", "expected an object {\"after\": ..., \"key\": [...]}");
  json_object_foreach(v, key, w) {
    if (strcmp(key, "after") && strcmp(key, "key")) {
      snprintf(path, sizeof path, "same_try.%s", key);
      return bad(l, i, path, "unknown key");
    }
  }
  w = json_object_get(v, "after");
  if (!json_is_string(w) || json_string_length(w) == 0 || json_string_length(w) > 64)
    return bad(l, i, "same_try.after", "expected a decoder name of 1..64 bytes");
  if (!(x->after_name = dup_str(json_string_value(w))))
    return PA_NOMEM;
  w = json_object_get(v, "key");
  if (!json_is_array(w) || json_array_size(w) == 0 || json_array_size(w) > PA_DECODER_TRY_KEYS) {
    snprintf(path, sizeof path, "expected an array of 1..%d group names", PA_DECODER_TRY_KEYS);
    return bad(l, i, "same_try.key", path);
  }
  for (size_t k = 0; k < json_array_size(w); k++) {
    json_t *s = json_array_get(w, k);
    int g;
    snprintf(path, sizeof path, "same_try.key[%zu]", k);
    if (!json_is_string(s))
      return bad(l, i, path, "expected the name of a capture group");
    g = pcre2_substring_number_from_name(x->re, (PCRE2_SPTR)json_string_value(s));
    if (g <= 0)
      return bad(l, i, path, "the pattern has no group of that name");
    x->key_groups[k] = g;
    if (!(x->key_names[k] = dup_str(json_string_value(s))))
      return PA_NOMEM;
    x->n_key = k + 1;
  }
  return PA_OK;
}

/* Resolves the same_try of the file's new decoders v[first..first+n) against
 * every decoder loaded so far and those of the file; writes nothing of
 * the old ones (that is done at commit, once the file is good). */
static pa_rc resolve_tries(struct ld *l, size_t first, size_t n)
{
  pa_decoders *d = l->d;
  char path[96];

  for (size_t k = 0; k < n; k++) {
    struct decoder *x = &d->v[first + k];
    size_t t;
    if (!x->after_name)
      continue;
    for (t = 0; t < first + n && strcmp(d->v[t].name, x->after_name); t++)
      ;
    if (t == first + n || t == first + k)
      return bad(l, k, "same_try.after", "no other decoder of that name is loaded");
    for (size_t j = 0; j < first + n; j++)
      if (j < first + k && d->v[j].after_name && !strcmp(d->v[j].after_name, x->after_name))
        return bad(l, k, "same_try.after", "another decoder already joins that one");
    if (d->v[t].after_name)
      return bad(l, k, "same_try.after", "that decoder joins another itself");
    for (size_t g = 0; g < x->n_key; g++) {
      int n_g = pcre2_substring_number_from_name(d->v[t].re, (PCRE2_SPTR)x->key_names[g]);
      if (n_g <= 0) {
        snprintf(path, sizeof path, "same_try.key[%zu]", g);
        return bad(l, k, path, "the decoder it joins has no group of that name");
      }
      x->after_groups[g] = n_g;
    }
    x->after = (int)t;
  }
  return PA_OK;
}

static pa_rc load_one(struct ld *l, size_t i, json_t *o, struct decoder *x)
{
  json_t *v;
  const char *key;
  pa_rc rc;
  char path[96];

  for (size_t f = 0; f < N_FIELDS; f++)
    x->group[f] = -1;
  x->after = x->joined_by = -1;
  if (!json_is_object(o))
    return bad(l, i, "", "expected an object");
  json_object_foreach(o, key, v) {
    if (strcmp(key, "name") && strcmp(key, "description") && strcmp(key, "program") &&
        strcmp(key, "program_regex") && strcmp(key, "pattern") && strcmp(key, "event") &&
        strcmp(key, "same_try")) {
      snprintf(path, sizeof path, "%s", key);
      return bad(l, i, path, "unknown key");
    }
  }
  v = json_object_get(o, "name");
  if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 64)
    return bad(l, i, "name", "expected a string of 1..64 bytes");
  for (size_t k = 0; k < l->d->n; k++)
    if (!strcmp(l->d->v[k].name, json_string_value(v)))
      return bad(l, i, "name", "a decoder of that name is already loaded");
  if (!(x->name = dup_str(json_string_value(v))))
    return PA_NOMEM;
  v = json_object_get(o, "description");
  if (v && !json_is_string(v))
    return bad(l, i, "description", "expected a string");
  if ((v = json_object_get(o, "program")) != NULL) {
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (json_object_get(o, "program_regex"))
      return bad(l, i, "program", "give \"program\" or \"program_regex\", not both");
    if (!json_is_string(v) && !(json_is_array(v) && n > 0 && n <= 64))
      return bad(l, i, "program", "expected a string or an array of 1..64 strings");
    if (!(x->programs = calloc(n, sizeof *x->programs)))
      return PA_NOMEM;
    for (size_t k = 0; k < n; k++) {
      json_t *s = json_is_array(v) ? json_array_get(v, k) : v;
      if (!json_is_string(s) || json_string_length(s) == 0) {
        snprintf(path, sizeof path, "program[%zu]", k);
        return bad(l, i, path, "expected a non-empty string");
      }
      if (!(x->programs[k] = dup_str(json_string_value(s))))
        return PA_NOMEM;
      x->n_programs = k + 1;
    }
  }
  if ((v = json_object_get(o, "program_regex")) != NULL) {
    if (!json_is_string(v))
      return bad(l, i, "program_regex", "expected a string");
    if ((rc = compile(l, i, "program_regex", json_string_value(v), &x->program_re)))
      return rc;
  }
  v = json_object_get(o, "pattern");
  if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 4096)
    return bad(l, i, "pattern", "expected a string of 1..4096 bytes");
  if ((rc = compile(l, i, "pattern", json_string_value(v), &x->re)))
    return rc;
  if ((v = json_object_get(o, "same_try")) != NULL && (rc = load_same_try(l, i, v, x)))
    return rc;
  if (!(v = json_object_get(o, "event")))
    return bad(l, i, "", "missing \"event\"");
  return load_event(l, i, v, x);
}

static pa_rc load_json(pa_decoders *d, const char *label, json_t *root, struct pa_err *err)
{
  struct ld l = {d, label, err};
  json_t *arr, *v;
  const char *key;
  struct decoder *nv = NULL;
  size_t n, done = 0;
  pa_rc rc = PA_OK;

  if (!json_is_object(root))
    return pa_err_set(err, PA_RULE, UINT64_MAX, 0, "%s: expected an object {\"decoders\": [...]}",
                      label);
  json_object_foreach(root, key, v) {
    if (strcmp(key, "decoders") && strcmp(key, "description"))
      return pa_err_set(err, PA_RULE, UINT64_MAX, 0, "%s: %s: unknown key", label, key);
  }
  arr = json_object_get(root, "decoders");
  if (!json_is_array(arr))
    return pa_err_set(err, PA_RULE, UINT64_MAX, 0, "%s: decoders: expected an array", label);
  n = json_array_size(arr);
  if (n > PA_MAX_DECODERS - d->n)
    return pa_err_set(err, PA_LIMIT, UINT64_MAX, 0, "%s: more than %d decoders in all", label,
                      PA_MAX_DECODERS);
  if (d->n + n > d->size) {
    size_t sz = d->size ? d->size : 16;
    while (sz < d->n + n)
      sz *= 2;
    nv = realloc(d->v, sz * sizeof *nv);
    if (!nv)
      return PA_NOMEM;
    d->v = nv;
    d->size = sz;
  }
  /* build into the free slots; commit only when every decoder is good */
  for (done = 0; done < n; done++) {
    struct decoder *x = &d->v[d->n + done];
    memset(x, 0, sizeof *x);
    if ((rc = load_one(&l, done, json_array_get(arr, done), x)) != PA_OK) {
      decoder_cleanup(x);
      break;
    }
    if (!(x->file = dup_str(label))) {
      decoder_cleanup(x);
      rc = PA_NOMEM;
      break;
    }
    /* a later decoder of this file may not reuse the name either */
    for (size_t k = 0; k < done; k++)
      if (!strcmp(d->v[d->n + k].name, x->name)) {
        rc = bad(&l, done, "name", "a decoder of that name is already loaded");
        decoder_cleanup(x);
        break;
      }
    if (rc)
      break;
  }
  if (!rc)
    rc = resolve_tries(&l, d->n, n);
  if (rc) {
    for (size_t k = 0; k < done; k++)
      decoder_cleanup(&d->v[d->n + k]);
    return rc;
  }
  for (size_t k = 0; k < n; k++) {
    uint32_t g = 0;
    pcre2_pattern_info(d->v[d->n + k].re, PCRE2_INFO_CAPTURECOUNT, &g);
    if (g > d->max_groups)
      d->max_groups = g;
    if (d->v[d->n + k].after >= 0)
      d->v[d->v[d->n + k].after].joined_by = (int)(d->n + k);
  }
  d->n += n;
  return PA_OK;
}

pa_rc pa_decoders_load_string(pa_decoders *d, const char *label, const char *json, size_t len,
                              struct pa_err *err)
{
  json_error_t je;
  json_t *root;
  pa_rc rc;

  snprintf(d->err_input, sizeof d->err_input, "%s", label);
  if (err)
    err->input = d->err_input;
  if (len > PA_MAX_DECODER_FILE)
    return pa_err_set(err, PA_LIMIT, UINT64_MAX, 0, "%s: larger than %u bytes", label,
                      PA_MAX_DECODER_FILE);
  root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
  if (!root)
    return pa_err_set(err, PA_RULE, (uint64_t)je.position, (uint64_t)je.line, "%s:%d:%d: %s",
                      label, je.line, je.column, je.text);
  rc = load_json(d, label, root, err);
  json_decref(root);
  return rc;
}

pa_rc pa_decoders_load_file(pa_decoders *d, const char *path, struct pa_err *err)
{
  FILE *f;
  char *buf;
  size_t n;
  pa_rc rc;

  snprintf(d->err_input, sizeof d->err_input, "%s", path);
  if (err)
    err->input = d->err_input;
  if (!(f = fopen(path, "rb")))
    return pa_err_set(err, PA_IO, UINT64_MAX, 0, "%s: %s", path, strerror(errno));
  if (!(buf = malloc(PA_MAX_DECODER_FILE + 1))) {
    fclose(f);
    return PA_NOMEM;
  }
  n = fread(buf, 1, PA_MAX_DECODER_FILE + 1, f);
  if (ferror(f))
    rc = pa_err_set(err, PA_IO, UINT64_MAX, 0, "%s: read error", path);
  else
    rc = pa_decoders_load_string(d, path, buf, n, err);
  fclose(f);
  free(buf);
  return rc;
}

static int by_name(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

pa_rc pa_decoders_load_dir(pa_decoders *d, const char *dir, struct pa_err *err)
{
  DIR *dp = opendir(dir);
  struct dirent *de;
  char **names = NULL, path[4096];
  size_t n = 0, size = 0;
  pa_rc rc = PA_OK;

  snprintf(d->err_input, sizeof d->err_input, "%s", dir);
  if (err)
    err->input = d->err_input;
  if (!dp)
    return pa_err_set(err, PA_IO, UINT64_MAX, 0, "%s: %s", dir, strerror(errno));
  while ((de = readdir(dp)) != NULL) {
    size_t len = strlen(de->d_name);
    if (len < 6 || de->d_name[0] == '.' || strcmp(de->d_name + len - 5, ".json"))
      continue;
    if (n == size) {
      char **nn = realloc(names, (size ? size * 2 : 16) * sizeof *nn);
      if (!nn) {
        rc = PA_NOMEM;
        goto out;
      }
      names = nn;
      size = size ? size * 2 : 16;
    }
    if (!(names[n] = dup_str(de->d_name))) {
      rc = PA_NOMEM;
      goto out;
    }
    n++;
  }
  qsort(names, n, sizeof *names, by_name);
  for (size_t i = 0; i < n && rc == PA_OK; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    rc = pa_decoders_load_file(d, path, err);
  }
out:
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  closedir(dp);
  return rc;
}

/* ---- matching ----------------------------------------------------------- */

pa_decoders_scratch *pa_decoders_scratch_new(void)
{
  return calloc(1, sizeof(pa_decoders_scratch));
}

void pa_decoders_scratch_free(pa_decoders_scratch *s)
{
  if (!s)
    return;
  pcre2_match_data_free(s->md);
  free(s);
}

static const char *keep(char *dst, const uint8_t *p, size_t n)
{
  struct pa_syslog_str s = {p, n};
  pa_syslog_str_copy(dst, PA_DECODER_MAX_FIELD + 1, s);
  return dst;
}

static int program_ok(const pa_decoders *d, const struct decoder *x, struct pa_syslog_str prog,
                      pcre2_match_data *md)
{
  if (x->n_programs) {
    for (size_t i = 0; i < x->n_programs; i++)
      if (pa_syslog_str_eq(prog, x->programs[i]))
        return 1;
    return 0;
  }
  if (x->program_re)
    return pcre2_match(x->program_re, prog.p ? prog.p : (const uint8_t *)"", prog.len, 0, 0, md,
                       d->mctx) >= 0;
  return 1;
}

/* The key of one try, in s->try_key: the name of the decoder that opens it,
 * the host, the process id and the key groups' values, 0x1F-separated.
 * NULL when the line lacks a process id or a key group, or the key is too
 * long: such a line is never joined. */
static int key_add(char *dst, size_t *len, size_t cap, const void *p, size_t n)
{
  if (n >= cap - *len)
    return -1;
  memcpy(dst + *len, p, n);
  *len += n;
  return 0;
}

static const char *try_key(pa_decoders_scratch *s, const char *opener,
                           const struct pa_syslog_msg *m, const uint8_t *subj,
                           const PCRE2_SIZE *ov, int n_ov, const int *groups, size_t n)
{
  const size_t cap = sizeof s->try_key;
  char *k = s->try_key;
  size_t len = 0;

  if (!m->procid.p || !m->procid.len)
    return NULL;
  if (key_add(k, &len, cap, opener, strlen(opener)) || key_add(k, &len, cap, "\x1f", 1) ||
      (m->hostname.p && key_add(k, &len, cap, m->hostname.p, m->hostname.len)) ||
      key_add(k, &len, cap, "\x1f", 1) || key_add(k, &len, cap, m->procid.p, m->procid.len))
    return NULL;
  for (size_t i = 0; i < n; i++) {
    int g = groups[i];
    if (g >= n_ov || ov[2 * g] == PCRE2_UNSET || ov[2 * g + 1] <= ov[2 * g])
      return NULL;
    if (key_add(k, &len, cap, "\x1f", 1) ||
        key_add(k, &len, cap, subj + ov[2 * g], ov[2 * g + 1] - ov[2 * g]))
      return NULL;
  }
  k[len] = 0;
  return k;
}

pa_rc pa_decoders_match(const pa_decoders *d, const struct pa_syslog_msg *m,
                        pa_decoders_scratch *s, struct pa_event *ev_out,
                        struct pa_decoded *info_out, struct pa_err *err)
{
  const uint8_t *subj = m->msg.p ? m->msg.p : (const uint8_t *)"";

  memset(info_out, 0, sizeof *info_out);
  if (!s->md || s->md_groups < d->max_groups + 1) {
    pcre2_match_data_free(s->md);
    s->md = pcre2_match_data_create(d->max_groups + 1, NULL);
    if (!s->md)
      return PA_NOMEM;
    s->md_groups = d->max_groups + 1;
  }
  for (size_t i = 0; i < d->n; i++) {
    const struct decoder *x = &d->v[i];
    PCRE2_SIZE *ov;
    int rc;

    if (!program_ok(d, x, m->app_name, s->md))
      continue;
    rc = pcre2_match(x->re, subj, m->msg.len, 0, 0, s->md, d->mctx);
    if (rc == PCRE2_ERROR_NOMATCH)
      continue;
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
        rc == PCRE2_ERROR_JIT_STACKLIMIT || rc == PCRE2_ERROR_HEAPLIMIT)
      return pa_err_set(err, PA_LIMIT, UINT64_MAX, 0, "decoder %s: match limit hit", x->name);
    if (rc == PCRE2_ERROR_NOMEMORY)
      return PA_NOMEM;
    if (rc < 0)
      continue; /* other errors: this decoder does not apply */
    ov = pcre2_get_ovector_pointer(s->md);
    pa_event_init(ev_out);
    ev_out->source = "syslog";
    ev_out->event_code = x->event_code;
    ev_out->event_type = x->event_type;
    ev_out->action = x->action;
    ev_out->outcome = x->outcome;
    if (m->has_ts)
      ev_out->ts = ev_out->received_ts = m->ts;
    if (m->hostname.p)
      ev_out->host = keep(s->text[N_FIELDS], m->hostname.p, m->hostname.len);
    /* an empty capture (e.g. "rhost=") leaves the field NULL; one too long
     * to keep whole is refused, since a cut value could name someone else */
    for (size_t f = 0; f < N_FIELDS; f++) {
      int g = x->group[f];
      if (g < 0 || g >= rc || ov[2 * g] == PCRE2_UNSET || ov[2 * g + 1] <= ov[2 * g])
        continue;
      if (ov[2 * g + 1] - ov[2 * g] > PA_DECODER_MAX_FIELD)
        return pa_err_set(err, PA_MALFORMED, (uint64_t)ov[2 * g], 0,
                          "decoder %s: %s is %zu bytes, more than %d", x->name,
                          field_defs[f].name, (size_t)(ov[2 * g + 1] - ov[2 * g]),
                          PA_DECODER_MAX_FIELD);
      *(const char **)((char *)ev_out + field_defs[f].off) =
        keep(s->text[f], subj + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
    }
    info_out->matched = 1;
    info_out->decoder = x->name;
    info_out->event_type = x->event_type;
    if (x->joined_by >= 0) {
      const struct decoder *j = &d->v[x->joined_by];
      info_out->try_key = try_key(s, x->name, m, subj, ov, rc, j->after_groups, j->n_key);
    } else if (x->after >= 0) {
      info_out->join_key = try_key(s, d->v[x->after].name, m, subj, ov, rc, x->key_groups,
                                   x->n_key);
    }
    return PA_OK;
  }
  return PA_OK;
}
