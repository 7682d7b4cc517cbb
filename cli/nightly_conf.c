/* nightly_conf.c — reading and checking the nightly job's config (see
 * nightly_conf.h; docs/nightly.md has the keys). */
#include "nightly_conf.h"
#include "cli.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>

void pa_nightly_conf_free(struct pa_nightly_conf *c)
{
  free(c->dir);
  free(c->db);
  free(c->policy);
  free(c->lock);
  free(c->reports_dir);
  free(c->seal_key);
  free(c->seal_out);
  for (size_t i = 0; i < c->n_inputs; i++)
    free(c->inputs[i]);
  for (size_t i = 0; i < c->n_rules; i++)
    free(c->rules[i]);
  json_decref(c->root);
}

/* p joined to the config's folder unless absolute: malloc'd, the caller's. */
static char *resolve(const struct pa_nightly_conf *c, const char *p)
{
  size_t n;
  char *out;

  if (p[0] == '/')
    return strdup(p);
  n = strlen(c->dir) + 1 + strlen(p) + 1;
  if ((out = malloc(n)))
    snprintf(out, n, "%s/%s", c->dir, p);
  return out;
}

static int bad(const struct pa_nightly_conf *c, const char *key, const char *why)
{
  pa_cli_line(c->msgs, "pacsaudit: %s: %s: %s", c->path, key, why);
  return -1;
}

/* A non-empty string at key of o, resolved as a path into *out (NULL when
 * absent and optional). */
static int get_path(struct pa_nightly_conf *c, json_t *o, const char *key, const char *name,
                    int required, char **out)
{
  json_t *v = json_object_get(o, key);

  *out = NULL;
  if (!v)
    return required ? bad(c, name, "missing") : 0;
  if (!json_is_string(v) || !json_string_length(v))
    return bad(c, name, "must be a non-empty string (a path)");
  if (!(*out = resolve(c, json_string_value(v))))
    return bad(c, name, "out of memory");
  return 0;
}

/* An array of path strings at key of o into list. */
static int get_paths(struct pa_nightly_conf *c, json_t *o, const char *key, char **list, size_t *n)
{
  json_t *a = json_object_get(o, key), *v;
  size_t i;
  char name[64];

  if (!a)
    return 0;
  if (!json_is_array(a) || json_array_size(a) > PA_NIGHTLY_MAX_LIST)
    return bad(c, key, "must be an array of at most 64 paths");
  json_array_foreach(a, i, v)
  {
    snprintf(name, sizeof name, "%s[%zu]", key, i);
    if (!json_is_string(v) || !json_string_length(v))
      return bad(c, name, "must be a non-empty string (a path or a glob)");
    if (!(list[(*n)++] = resolve(c, json_string_value(v))))
      return bad(c, name, "out of memory");
  }
  return 0;
}

static int check_keys(struct pa_nightly_conf *c, json_t *o, const char *where,
                      const char *const *known)
{
  const char *k;
  json_t *v;

  json_object_foreach(o, k, v)
  {
    size_t i;
    for (i = 0; known[i] && strcmp(known[i], k); i++)
      ;
    if (!known[i])
      pa_cli_line(c->msgs, "pacsaudit: %s: warning: %s%s%s: unknown key, ignored", c->path, where,
                  *where ? "." : "", k);
  }
  return 0;
}

static int get_reports(struct pa_nightly_conf *c)
{
  static const char *const keys[] = {"dir", "formats", "lang", NULL};
  json_t *r = json_object_get(c->root, "reports"), *f, *v;
  size_t i;

  c->lang = "ja";
  if (!r)
    return 0;
  if (!json_is_object(r))
    return bad(c, "reports", "must be an object with dir, formats and lang");
  check_keys(c, r, "reports", keys);
  if (get_path(c, r, "dir", "reports.dir", 1, &c->reports_dir))
    return -1;
  if ((v = json_object_get(r, "lang"))) {
    if (!json_is_string(v) ||
        (strcmp(json_string_value(v), "ja") && strcmp(json_string_value(v), "en")))
      return bad(c, "reports.lang", "must be \"ja\" or \"en\"");
    c->lang = json_string_value(v);
  }
  if (!(f = json_object_get(r, "formats"))) {
    c->formats[0] = PA_REPORT_HTML;
    c->format_names[0] = "html";
    c->n_formats = 1;
    return 0;
  }
  if (!json_is_array(f) || !json_array_size(f) || json_array_size(f) > 8)
    return bad(c, "reports.formats", "must be an array of 1 to 8 of html, json, csv, text");
  json_array_foreach(f, i, v)
  {
    char name[48];
    snprintf(name, sizeof name, "reports.formats[%zu]", i);
    if (!json_is_string(v) ||
        pa_report_format_parse(json_string_value(v), &c->formats[c->n_formats]) != PA_OK)
      return bad(c, name, "must be one of html, json, csv, text");
    c->format_names[c->n_formats++] = json_string_value(v);
  }
  return 0;
}

/* c->root read: checks it and takes the values. */
static int take(struct pa_nightly_conf *c)
{
  static const char *const keys[] = {"db",      "inputs",    "policy", "rules",
                                     "reports", "retention", "lock",   "seal",
                                     NULL};
  json_t *v, *ret, *seal;

  if (!json_is_object(c->root))
    return bad(c, "config", "must be a JSON object");
  check_keys(c, c->root, "", keys);
  if (get_path(c, c->root, "db", "db", 1, &c->db) ||
      get_path(c, c->root, "policy", "policy", 0, &c->policy) ||
      get_path(c, c->root, "lock", "lock", 0, &c->lock) ||
      get_paths(c, c->root, "inputs", c->inputs, &c->n_inputs) ||
      get_paths(c, c->root, "rules", c->rules, &c->n_rules) || get_reports(c))
    return -1;
  if (c->n_rules > PA_CHECK_MAX_SITE_RULES)
    return bad(c, "rules", "at most 16 rule files or folders");
  if (!json_object_get(c->root, "inputs"))
    return bad(c, "inputs", "missing (an array of paths or globs)");
  if ((ret = json_object_get(c->root, "retention"))) {
    static const char *const rkeys[] = {"raw_days", NULL};
    if (!json_is_object(ret))
      return bad(c, "retention", "must be an object such as {\"raw_days\": 1825}");
    check_keys(c, ret, "retention", rkeys);
    if ((v = json_object_get(ret, "raw_days"))) {
      if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 100 * 366)
        return bad(c, "retention.raw_days", "must be a whole number of days, 1 or more");
      c->raw_days = json_integer_value(v);
    }
  }
  if ((seal = json_object_get(c->root, "seal"))) {
    static const char *const skeys[] = {"key", "out", "syslog", NULL};
    if (!json_is_object(seal))
      return bad(c, "seal", "must be an object such as {\"key\": \"seal.pem\", \"out\": \"seals\"}");
    check_keys(c, seal, "seal", skeys);
    if (get_path(c, seal, "key", "seal.key", 1, &c->seal_key) ||
        get_path(c, seal, "out", "seal.out", 1, &c->seal_out))
      return -1;
    if ((v = json_object_get(seal, "syslog"))) {
      if (!json_is_boolean(v))
        return bad(c, "seal.syslog", "must be true or false");
      c->seal_syslog = json_is_true(v);
    }
  }
  if (!c->lock) {
    size_t n = strlen(c->db) + sizeof ".nightly.lock";
    if (!(c->lock = malloc(n)))
      return bad(c, "lock", "out of memory");
    snprintf(c->lock, n, "%s.nightly.lock", c->db);
  }
  return 0;
}

/* Sets up c for the config at path: its folder, for relative paths. */
static int begin(struct pa_nightly_conf *c, const char *path, FILE *msgs)
{
  char *copy;

  memset(c, 0, sizeof *c);
  c->path = path;
  c->msgs = msgs;
  if (!(copy = strdup(path)) || !(c->dir = strdup(dirname(copy)))) {
    free(copy);
    return bad(c, "config", "out of memory");
  }
  free(copy);
  return 0;
}

/* A JSON error of the file, with its line and column. */
static int json_bad(struct pa_nightly_conf *c, const json_error_t *je)
{
  pa_cli_line(c->msgs, "pacsaudit: %s: line %d column %d: %s", c->path, je->line, je->column,
              je->text);
  return -1;
}

int pa_nightly_conf_load(struct pa_nightly_conf *c, const char *path, FILE *msgs)
{
  json_error_t je;

  if (begin(c, path, msgs))
    return -1;
  if (!(c->root = json_load_file(path, JSON_REJECT_DUPLICATES, &je)))
    return json_bad(c, &je);
  return take(c);
}

int pa_nightly_conf_parse(struct pa_nightly_conf *c, const char *path, const char *text,
                          size_t len, FILE *msgs)
{
  json_error_t je;

  if (begin(c, path, msgs))
    return -1;
  if (!(c->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)))
    return json_bad(c, &je);
  return take(c);
}
