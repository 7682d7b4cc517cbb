/* rule.c — load and validate rule files (see rule.h). */
#include "rules/rule.h"
#include "rules/compile.h"

#include "analyzer/limits.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int pa__rule_kind_known(const char *kind);

struct pa_ruleset {
  struct pa_rule **v; /* owned, sorted by id */
  size_t n, cap;
};

/* A control byte is written as \xNN wherever it comes from (a JSON key in
 * a path, jansson's text near a bad token), so no input can break the line
 * or forge another. */
static void diag(struct pa_diag *d, int is_err, const char *fmt, va_list ap)
{
  char raw[1024], line[4 * sizeof raw];
  vsnprintf(raw, sizeof raw, fmt, ap);
  pa_escape_ctl(line, sizeof line, raw);
  if (is_err)
    d->n_errors++;
  else
    d->n_warnings++;
  if (d->emit)
    d->emit(d->ctx, line);
}

void pa_diag_error(struct pa_diag *d, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  diag(d, 1, fmt, ap);
  va_end(ap);
}

void pa_diag_warn(struct pa_diag *d, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  diag(d, 0, fmt, ap);
  va_end(ap);
}

pa_ruleset *pa_ruleset_new(void) { return calloc(1, sizeof(pa_ruleset)); }

static void rule_free(struct pa_rule *r)
{
  if (!r)
    return;
  free(r->file);
  free(r->guideline);
  json_decref(r->doc);
  free(r);
}

void pa_ruleset_free(pa_ruleset *rs)
{
  if (!rs)
    return;
  for (size_t i = 0; i < rs->n; i++)
    rule_free(rs->v[i]);
  free(rs->v);
  free(rs);
}

size_t pa_ruleset_count(const pa_ruleset *rs) { return rs->n; }
const struct pa_rule *pa_ruleset_get(const pa_ruleset *rs, size_t i) { return rs->v[i]; }

const struct pa_rule *pa_ruleset_find(const pa_ruleset *rs, const char *id)
{
  for (size_t i = 0; i < rs->n; i++)
    if (!strcmp(rs->v[i]->id, id))
      return rs->v[i];
  return NULL;
}

/* A {"en": ..., "ja": ...} pair, both non-empty strings. */
static int bilingual(struct pa_rule *r, struct pa_diag *d, const char *key, const char **en,
                     const char **ja)
{
  json_t *o = json_object_get(r->doc, key);
  *en = json_string_value(json_object_get(o, "en"));
  *ja = json_string_value(json_object_get(o, "ja"));
  if (!json_is_object(o) || !*en || !**en || !*ja || !**ja || json_object_size(o) != 2) {
    pa_diag_error(d, "%s: %s: {\"en\": \"...\", \"ja\": \"...\"}, both required", r->file, key);
    return -1;
  }
  return 0;
}

static int one_of(const char *v, const char *const *set)
{
  for (; v && *set; set++)
    if (!strcmp(v, *set))
      return 1;
  return 0;
}

pa_rc pa_rule_check(struct pa_rule *r, struct pa_diag *d)
{
  static const char *const strengths[] = {"direct", "derived", "advisory", NULL};
  static const char *const severities[] = {"info", "low", "medium", "high", "critical", NULL};
  size_t before = d->n_errors, i;
  json_t *g, *v;
  const char *id;

  if (!json_is_object(r->doc)) {
    pa_diag_error(d, "%s: (rule): a rule file holds one JSON object", r->file);
    return PA_RULE;
  }
  id = json_string_value(json_object_get(r->doc, "id"));
  if (!id || !*id || strlen(id) > 64 || strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                  "abcdefghijklmnopqrstuvwxyz0123456789-_.")
                                             != strlen(id))
    pa_diag_error(d, "%s: id: a name of letters, digits, '-', '_' or '.', up to 64", r->file);
  r->id = id ? id : "";
  r->kind = json_string_value(json_object_get(r->doc, "kind"));
  if (!pa__rule_kind_known(r->kind))
    pa_diag_error(d, "%s: kind: \"%s\" is not a kind (match, threshold, sequence, absence,"
                  " reconcile, gap, backwards)", r->file, r->kind ? r->kind : "(missing)");
  r->strength = json_string_value(json_object_get(r->doc, "strength"));
  if (!one_of(r->strength, strengths))
    pa_diag_error(d, "%s: strength: direct, derived or advisory", r->file);
  r->severity = json_string_value(json_object_get(r->doc, "severity"));
  if (!one_of(r->severity, severities))
    pa_diag_error(d, "%s: severity: info, low, medium, high or critical", r->file);
  bilingual(r, d, "title", &r->title_en, &r->title_ja);
  bilingual(r, d, "message", &r->message_en, &r->message_ja);
  g = json_object_get(r->doc, "guideline");
  if (!json_is_array(g) || !json_array_size(g)) {
    pa_diag_error(d, "%s: guideline: a list of the sections cited, e.g. [\"シス17①\"]", r->file);
  } else {
    json_array_foreach(g, i, v)
      if (!json_is_string(v) || !*json_string_value(v))
        pa_diag_error(d, "%s: guideline[%zu]: a section, as a string", r->file, i);
    free(r->guideline);
    r->guideline = json_dumps(g, JSON_COMPACT);
    if (!r->guideline)
      return PA_NOMEM;
  }
  if ((v = json_object_get(r->doc, "params")) && !json_is_object(v))
    pa_diag_error(d, "%s: params: an object of name: default", r->file);
  if ((v = json_object_get(r->doc, "plan"))) {
    if (!json_is_array(v))
      pa_diag_error(d, "%s: plan: a list of the index names its statements must use", r->file);
    else
      json_array_foreach(v, i, g)
        if (!json_is_string(g))
          pa_diag_error(d, "%s: plan[%zu]: an index name", r->file, i);
  }
  if ((v = json_object_get(r->doc, "tests")) && !json_is_array(v))
    pa_diag_error(d, "%s: tests: a list of cases", r->file);
  return d->n_errors > before ? PA_RULE : PA_OK;
}

static int by_id(const void *a, const void *b)
{
  return strcmp((*(struct pa_rule *const *)a)->id, (*(struct pa_rule *const *)b)->id);
}

static pa_rc add(pa_ruleset *rs, struct pa_rule *r, struct pa_diag *d)
{
  for (size_t i = 0; i < rs->n; i++)
    if (!strcmp(rs->v[i]->id, r->id)) {
      pa_diag_warn(d, "%s: rule %s replaces the one from %s", r->file, r->id, rs->v[i]->file);
      rule_free(rs->v[i]);
      rs->v[i] = r;
      return PA_OK;
    }
  if (rs->n >= PA_RULE_MAX_RULES) {
    pa_diag_error(d, "%s: more than %d rules", r->file, PA_RULE_MAX_RULES);
    rule_free(r);
    return PA_OK;
  }
  if (rs->n == rs->cap) {
    size_t n = rs->cap ? rs->cap * 2 : 64;
    struct pa_rule **nv = realloc(rs->v, n * sizeof *nv);
    if (!nv) {
      rule_free(r);
      return PA_NOMEM;
    }
    rs->v = nv;
    rs->cap = n;
  }
  rs->v[rs->n++] = r;
  qsort(rs->v, rs->n, sizeof rs->v[0], by_id);
  return PA_OK;
}

pa_rc pa_ruleset_load_string(pa_ruleset *rs, const char *label, const char *json, size_t len,
                             int builtin, struct pa_diag *d)
{
  struct pa_compile_opts o = {0};
  struct pa_compiled c;
  struct pa_rule *r;
  json_error_t je;
  size_t before = d->n_errors;
  pa_rc rc;

  if (len > PA_RULE_MAX_FILE) {
    pa_diag_error(d, "%s: over %u bytes", label, PA_RULE_MAX_FILE);
    return PA_OK;
  }
  if (!(r = calloc(1, sizeof *r)) || !(r->file = strdup(label))) {
    free(r);
    return PA_NOMEM;
  }
  r->builtin = builtin;
  r->doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
  if (!r->doc) {
    pa_diag_error(d, "%s: line %d, column %d: %s", label, je.line, je.column, je.text);
    rule_free(r);
    return PA_OK;
  }
  if ((rc = pa_rule_check(r, d)) == PA_NOMEM) {
    rule_free(r);
    return rc;
  }
  if (rc == PA_OK) { /* the predicates: compile once with the defaults */
    rc = pa_rule_compile(r, &o, &c, d);
    pa_compiled_cleanup(&c);
    if (rc == PA_NOMEM) {
      rule_free(r);
      return rc;
    }
  }
  if (d->n_errors > before) {
    pa_diag_error(d, "%s: rule skipped", label);
    rule_free(r);
    return PA_OK;
  }
  return add(rs, r, d);
}

/* Reads the rule file at path (a regular file of at most PA_RULE_MAX_FILE
 * bytes) and loads it as pa_ruleset_load_string does. */
static pa_rc load_file(pa_ruleset *rs, const char *path, int builtin, struct pa_diag *d)
{
  FILE *f;
  struct stat sb;
  char *data = NULL;
  size_t n;
  pa_rc rc = PA_OK;

  if (!(f = fopen(path, "rb")) || fstat(fileno(f), &sb) != 0) {
    pa_diag_error(d, "%s: cannot read: %s", path, strerror(errno));
    goto out;
  }
  if (!S_ISREG(sb.st_mode)) {
    pa_diag_error(d, "%s: not a regular file", path);
    goto out;
  }
  if ((uint64_t)sb.st_size > PA_RULE_MAX_FILE) {
    pa_diag_error(d, "%s: over %u bytes", path, PA_RULE_MAX_FILE);
    goto out;
  }
  if (!(data = malloc((size_t)sb.st_size + 1))) {
    rc = PA_NOMEM;
    goto out;
  }
  if ((n = fread(data, 1, (size_t)sb.st_size, f)) != (size_t)sb.st_size) {
    pa_diag_error(d, "%s: cannot read", path);
    goto out;
  }
  rc = pa_ruleset_load_string(rs, path, data, n, builtin, d);
out:
  if (f)
    fclose(f);
  free(data);
  return rc;
}

static int json_name(const struct dirent *e)
{
  size_t n = strlen(e->d_name);
  return e->d_name[0] != '.' && n > 5 && !strcmp(e->d_name + n - 5, ".json");
}

pa_rc pa_ruleset_load(pa_ruleset *rs, const char *path, int builtin, struct pa_diag *d)
{
  struct dirent **names;
  struct stat sb;
  pa_rc rc = PA_OK;
  int n;

  if (stat(path, &sb) != 0) {
    pa_diag_error(d, "%s: no such rule file or folder", path);
    return PA_IO;
  }
  if (!S_ISDIR(sb.st_mode)) {
    return load_file(rs, path, builtin, d);
  }
  if ((n = scandir(path, &names, json_name, alphasort)) < 0) {
    pa_diag_error(d, "%s: cannot read the folder", path);
    return PA_IO;
  }
  for (int i = 0; i < n; i++) {
    char full[4096];
    if (rc == PA_OK) {
      snprintf(full, sizeof full, "%s/%s", path, names[i]->d_name);
      if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode))
        rc = load_file(rs, full, builtin, d);
    }
    free(names[i]);
  }
  free(names);
  return rc;
}
