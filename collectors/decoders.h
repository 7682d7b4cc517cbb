/* decoders.h — plain syslog text to normalized events, by PCRE2 patterns
 * written as JSON (the "text" branch of the pipeline, after body sniffing).
 *
 * A decoder file holds {"decoders": [ {...}, ... ]}; each decoder has a
 * name, an optional program match (APP-NAME / TAG equality or regex), a
 * PCRE2 pattern with named groups, and the event it yields. Files are data:
 * the built-in ones are the .json files of collectors/decoders/; sites add their
 * own directory. docs/syslog.md describes the format and the event codes.
 *
 * Loading validates everything once (unknown keys, types, duplicate keys,
 * regex syntax with its offset, groups named in "fields" that the pattern
 * lacks) and compiles each pattern once with JIT. Matching runs with a match
 * context carrying PA_DECODER_MATCH_LIMIT / PA_DECODER_DEPTH_LIMIT. */
#ifndef PA_DECODERS_H
#define PA_DECODERS_H

#include "../analyzer/err.h"
#include "../analyzer/event.h"
#include "syslog.h"

#include <stddef.h>

typedef struct pa_decoders pa_decoders;
typedef struct pa_decoders_scratch pa_decoders_scratch;

/* An empty set; NULL when out of memory. Free with pa_decoders_free. */
pa_decoders *pa_decoders_new(void);
void pa_decoders_free(pa_decoders *d);

/* Adds the decoders of one JSON file (at most PA_MAX_DECODER_FILE bytes).
 * All or nothing: on error d is unchanged. Returns PA_OK, PA_IO, PA_RULE
 * (invalid file: err->msg names the file and the JSON path, e.g.
 * "sshd.json: decoders[2].event.outcome: expected one of 0, 4, 8, 12"),
 * PA_LIMIT or PA_NOMEM. err->input points into d (valid while d lives). */
pa_rc pa_decoders_load_file(pa_decoders *d, const char *path, struct pa_err *err);

/* Adds every ".json" file of dir, in name order (so "50-site.json" can be
 * placed after or before "sshd.json"); stops at the first bad file. */
pa_rc pa_decoders_load_dir(pa_decoders *d, const char *dir, struct pa_err *err);

/* Adds decoders from JSON text json[0..len); label names it in errors. */
pa_rc pa_decoders_load_string(pa_decoders *d, const char *label, const char *json, size_t len,
                              struct pa_err *err);

/* Decoders loaded. */
size_t pa_decoders_count(const pa_decoders *d);

/* Per-thread match state: PCRE2 match data and the buffer the matched
 * event's strings live in. NULL when out of memory. One scratch serves any
 * decoder set. Free with pa_decoders_scratch_free. */
pa_decoders_scratch *pa_decoders_scratch_new(void);
void pa_decoders_scratch_free(pa_decoders_scratch *s);

/* What matched, besides the event. */
struct pa_decoded {
  int matched;             /* 1 when a decoder matched */
  const char *decoder;     /* its name (borrowed from d) */
  const char *event_type;  /* EventTypeCode-like subtype, e.g. "DCM:110122" (Login),
                              "DCM:110123" (Logout); NULL if the decoder sets none */
  /* One try written as two lines (sshd: "Invalid user X ... port P", then
   * "Failed password for invalid user X ... port P" from the same process)
   * is one fact. A decoder's "same_try": {"after": D, "key": [groups]} says
   * its line joins the last line of decoder D with the same host, process
   * id and key group values. Keys are borrowed from s, valid until the next
   * match; NULL when the line is no part of a try (or lacks a process id or
   * a key group, or the key is over PA_DECODER_TRY_KEY_LEN). */
  const char *try_key;     /* this line opens a try: remember its event under it */
  const char *join_key;    /* this line joins the try remembered under it, if any:
                              its event is that one (add what it tells, e.g. the
                              method), not a new one */
};

/* Tries the decoders in load order on m's MSG (for 3164, the CONTENT after
 * the TAG); the first whose program and pattern match fills *ev_out:
 *   source "syslog", ts = received_ts = the syslog header time (0 when the
 *   header had none: the caller sets receipt time), host = HOSTNAME,
 *   event_code / action / outcome from the decoder, and the fields the
 *   decoder maps from named groups (a group overrides HOSTNAME for "host").
 * ev_out's strings are borrowed from s, valid until the next match with s.
 * origin, raw_id etc. are left to the caller (pa_event_init values).
 * Returns PA_OK (info_out->matched says whether one matched), PA_LIMIT (a
 * pattern hit the match/depth limit on this line: err names the decoder;
 * treat the line as unmatched), PA_MALFORMED (a decoder matched but a field
 * it maps is longer than PA_DECODER_MAX_FIELD: err names decoder, field and
 * length; quarantine the line rather than keep a cut value), PA_NOMEM. */
pa_rc pa_decoders_match(const pa_decoders *d, const struct pa_syslog_msg *m,
                        pa_decoders_scratch *s, struct pa_event *ev_out,
                        struct pa_decoded *info_out, struct pa_err *err);

#endif
