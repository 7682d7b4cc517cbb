/* store_schema.h — the schema, one migration per version (private to the store: store.c runs them).
 *
 * Migration N takes a database at version N-1 to N. Never edit a released
 * migration: add the next one. docs/schema.md documents every column. */
#ifndef PA_STORE_SCHEMA_H
#define PA_STORE_SCHEMA_H

/* PA__CX_SPLIT(src): src's rows with what their object_id splits into as an
 * HL7 CX string, the way pa_audit_cx_split() (collectors/audit_map.c) does
 * it and the store writes it (an empty part is NULL): dx_id the ID (the
 * text before the first '^'), dx_ns and dx_uni the namespace and universal
 * id of the assigning authority (the fourth component, NS&OID&ISO). All NULL
 * when object_id holds no '^'. Built-in SQL only, so that any SQLite reads
 * the view. Used by migration 14 (its view and its copy); the writer
 * (store_put.c, cx_derived) splits the same way in C, for speed: change
 * them together, and only with a new migration. */
#define PA__CX_SPLIT(src) PA__CX_SPLIT_F(src, "")
/* fence: "" or PA__CX_FENCE, which keeps SQLite from flattening the levels
 * into one expression that repeats each level's text (2^k copies: a full
 * scan costs 35 µs a row flattened). A fenced view would lose the push-down of
 * a WHERE on event_id, so only the migration's copy (a full scan) uses it. */
#define PA__CX_FENCE " LIMIT -1 OFFSET 0"
#define PA__CX_SPLIT_F(src, fence)                                                     \
  "(SELECT *, CASE WHEN c1 > 0 THEN nullif(substr(object_id, 1, c1 - 1), '') END AS dx_id," \
  " nullif(substr(aa, 1, instr(aa || '&', '&') - 1), '') AS dx_ns,"                    \
  " CASE WHEN instr(aa, '&') > 0 THEN nullif(substr(u0, 1, instr(u0 || '&', '&') - 1), '')" \
  " END AS dx_uni FROM"                                                                \
  " (SELECT *, substr(aa, instr(aa, '&') + 1) AS u0 FROM"                              \
  " (SELECT *, substr(t3, 1, instr(t3 || '^', '^') - 1) AS aa FROM"                    \
  " (SELECT *, CASE WHEN instr(t2, '^') > 0 THEN substr(t2, instr(t2, '^') + 1) END AS t3 FROM" \
  " (SELECT *, CASE WHEN instr(t1, '^') > 0 THEN substr(t1, instr(t1, '^') + 1) END AS t2 FROM" \
  " (SELECT *, CASE WHEN c1 > 0 THEN substr(object_id, c1 + 1) END AS t1 FROM"          \
  " (SELECT *, instr(object_id, '^') AS c1 FROM " src fence ")" fence ")" fence ")"     \
  fence ")" fence ")" fence ")" fence ")"

/* The columns of atna_objects_data from a PA__CX_SPLIT of rows in
 * atna_objects' shape: the cx_* parts kept only when they differ from the
 * split (cx_stored 1), else NULL. */
#define PA__CX_SAME "(cx_id IS dx_id AND cx_namespace IS dx_ns AND cx_universal_id IS dx_uni)"
#define PA__CX_KEEP_COLS                                                                \
  "event_id, seq, object_id, type_code, role_code, lifecycle, id_type_code,"          \
  " id_type_system, name, description, query_b64,"                                   \
  " CASE WHEN " PA__CX_SAME " THEN NULL ELSE 1 END,"                                 \
  " CASE WHEN " PA__CX_SAME " THEN NULL ELSE cx_id END,"                             \
  " CASE WHEN " PA__CX_SAME " THEN NULL ELSE cx_namespace END,"                      \
  " CASE WHEN " PA__CX_SAME " THEN NULL ELSE cx_universal_id END,"                   \
  " n_instances, sop_classes, accession, study_uids"

/* PA__EVENTS_COLS_V1: the columns events was made with (migration 1);
 * migration 15 makes the table again from them. PA__EVENTS_V14_NAMES: the
 * names of every column of events that is not generated, as of version 14
 * (migration 15 copies them; an event's insert and the move of pending
 * events name them too, so a column added to events later is added there). */
#define PA__EVENTS_COLS_V1                                                            \
  "  id INTEGER PRIMARY KEY,"                                                         \
  "  ts INTEGER NOT NULL,"                                                            \
  "  received_ts INTEGER,"                                                            \
  "  source TEXT NOT NULL,"                                                           \
  "  origin TEXT,"                                                                    \
  "  event_code TEXT,"                                                                \
  "  action TEXT,"                                                                    \
  "  outcome INTEGER,"                                                                \
  "  user_id TEXT,"                                                                   \
  "  user_name TEXT,"                                                                 \
  "  user_role TEXT,"                                                                 \
  "  src_ip TEXT,"                                                                    \
  "  src_ae TEXT,"                                                                    \
  "  dst_ip TEXT,"                                                                    \
  "  dst_ae TEXT,"                                                                    \
  "  host TEXT,"                                                                      \
  "  patient_id TEXT,"                                                                \
  "  study_uid TEXT,"                                                                 \
  "  object_count INTEGER,"                                                           \
  "  secure INTEGER,"                                                                 \
  "  assoc_id INTEGER REFERENCES associations(id),"                                   \
  "  raw_id INTEGER REFERENCES raw(id)"
/* PA__EVENTS_COLS_V14: the columns of events that are not generated, as of
 * version 14 (migrations 15 and 16). */
#define PA__EVENTS_COLS_V14                                                           \
  PA__EVENTS_COLS_V1 ","                                                              \
  "  event_type TEXT,"                                                                \
  "  auth_method TEXT,"                                                               \
  "  received_via TEXT"
#define PA__EVENTS_V14_NAMES                                                          \
  "id, ts, received_ts, source, origin, event_code, action, outcome, user_id,"          \
  " user_name, user_role, src_ip, src_ae, dst_ip, dst_ae, host, patient_id, study_uid," \
  " object_count, secure, assoc_id, raw_id, event_type, auth_method, received_via"

/* PA__EVENTS_OP: the column op of events, the one operation of the
 * policy's vocabulary each event is (policy.md). Migration 6 added it
 * VIRTUAL; migration 15 stores it. The same text in both: change it only
 * with a new migration. */
#define PA__EVENTS_OP                                                                   \
  "op TEXT GENERATED ALWAYS AS (CASE"                                                   \
   "   WHEN event_code = 'DIMSE:C-FIND-RQ' THEN 'query'"                                \
   "   WHEN event_code IN ('DIMSE:C-MOVE-RQ', 'DIMSE:C-GET-RQ') THEN 'retrieve'"        \
   "   WHEN event_code = 'DIMSE:C-STORE-RQ' THEN 'store'"                               \
   "   WHEN event_code IN ('DIMSE:N-DELETE-RQ') THEN 'delete'"                          \
   "   WHEN event_code IN ('DIMSE:N-SET-RQ') THEN 'modify'"                             \
   "   WHEN event_code = 'DCM:110114' THEN"                                             \
   "     CASE WHEN event_type = 'DCM:110123' THEN 'logout' ELSE 'login' END"            \
   "   WHEN event_code = 'DCM:110112' THEN 'query'"                                     \
   "   WHEN event_code = 'DCM:110106' THEN 'export'"                                    \
   "   WHEN event_code = 'DCM:110107' THEN 'import'"                                    \
   "   WHEN event_code = 'DCM:110101' THEN 'audit-read'"                                \
   "   WHEN event_code = 'DCM:110104' THEN"                                             \
   "     CASE action WHEN 'C' THEN 'store' ELSE 'retrieve' END"                         \
   "   WHEN event_code IN ('DCM:110103', 'DCM:110110', 'DCM:110105', 'DCM:110109',"     \
   "                       'DCM:110111', 'DCM:110108', 'FHIR:rest') THEN"               \
   "     CASE action WHEN 'C' THEN 'store' WHEN 'R' THEN 'view' WHEN 'U' THEN 'modify'" \
   "       WHEN 'D' THEN 'delete' ELSE"                                                 \
   "       CASE WHEN event_code = 'FHIR:rest' THEN 'query' ELSE 'view' END END"         \
   "   WHEN event_code IN ('DCM:110100', 'SYSLOG:sudo') THEN 'admin'"                   \
   /* a security alert is about someone, not done by them, except a change              \
    * of roles or attributes and a remote service operation */                          \
   "   WHEN event_code = 'DCM:110113' AND event_type IN ('DCM:110136', 'DCM:110137',"   \
   "     'DCM:110139', 'DCM:110140') THEN 'admin'"                                      \
   "   END)"

static const char *const pa__store_migrations[] = {
  /* 0 -> 1 */
  "CREATE TABLE raw ("
  "  id INTEGER PRIMARY KEY,"
  "  received_ts INTEGER NOT NULL,"
  "  origin TEXT,"
  "  offset INTEGER,"
  "  size INTEGER NOT NULL,"
  "  compressed INTEGER NOT NULL DEFAULT 0,"
  "  bytes BLOB NOT NULL,"
  "  sha256 BLOB NOT NULL UNIQUE,"
  "  prev_hash BLOB,"
  "  chain_hash BLOB NOT NULL);"
  "CREATE TABLE associations ("
  "  id INTEGER PRIMARY KEY,"
  "  started_at INTEGER NOT NULL,"
  "  ended_at INTEGER,"
  "  client_ip TEXT NOT NULL,"
  "  client_port INTEGER NOT NULL,"
  "  server_ip TEXT NOT NULL,"
  "  server_port INTEGER NOT NULL,"
  "  calling_ae TEXT,"
  "  called_ae TEXT,"
  "  result TEXT NOT NULL,"
  "  reject_reason TEXT,"
  "  user_identity_type INTEGER,"
  "  user_identity TEXT,"
  "  tls INTEGER NOT NULL,"
  "  bytes INTEGER NOT NULL DEFAULT 0,"
  "  origin TEXT,"
  "  user_identity_sha256 TEXT,"
  "  user_identity_response INTEGER,"
  "  tls_server_name TEXT,"
  "  application_context TEXT,"
  "  max_pdu_rq INTEGER,"
  "  max_pdu_ac INTEGER,"
  "  impl_class_rq TEXT,"
  "  impl_version_rq TEXT,"
  "  impl_class_ac TEXT,"
  "  impl_version_ac TEXT,"
  "  UNIQUE (client_ip, client_port, server_ip, server_port, started_at));"
  "CREATE INDEX associations_started ON associations(started_at);"
  "CREATE INDEX associations_calling ON associations(calling_ae, started_at);"
  "CREATE TABLE presentation_contexts ("
  "  assoc_id INTEGER NOT NULL REFERENCES associations(id),"
  "  pc_id INTEGER NOT NULL,"
  "  abstract_syntax TEXT,"
  "  transfer_syntaxes TEXT,"
  "  result INTEGER,"
  "  accepted_transfer_syntax TEXT,"
  "  PRIMARY KEY (assoc_id, pc_id));"
  "CREATE TABLE dimse ("
  "  id INTEGER PRIMARY KEY,"
  "  assoc_id INTEGER NOT NULL REFERENCES associations(id),"
  "  ts INTEGER NOT NULL,"
  "  message_id INTEGER,"
  "  command TEXT NOT NULL,"
  "  sop_class_uid TEXT,"
  "  sop_instance_uid TEXT,"
  "  status INTEGER,"
  "  patient_id TEXT,"
  "  study_uid TEXT,"
  "  query TEXT,"
  "  move_destination TEXT,"
  "  rsp_ts INTEGER,"
  "  by_acceptor INTEGER NOT NULL DEFAULT 0,"
  "  completed INTEGER,"
  "  failed INTEGER,"
  "  warning INTEGER);"
  "CREATE INDEX dimse_assoc ON dimse(assoc_id);"
  "CREATE TABLE events (" PA__EVENTS_COLS_V1 ");"
  "CREATE INDEX events_ts ON events(ts);"
  "CREATE INDEX events_user ON events(user_id, ts) WHERE user_id IS NOT NULL;"
  "CREATE INDEX events_patient ON events(patient_id, ts) WHERE patient_id IS NOT NULL;"
  "CREATE INDEX events_src_ip ON events(src_ip, ts) WHERE src_ip IS NOT NULL;"
  "CREATE INDEX events_src_ae ON events(src_ae, ts) WHERE src_ae IS NOT NULL;"
  "CREATE TABLE quarantine ("
  "  id INTEGER PRIMARY KEY,"
  "  received_ts INTEGER NOT NULL,"
  "  origin TEXT,"
  "  offset INTEGER,"
  "  error TEXT NOT NULL,"
  "  size INTEGER NOT NULL,"
  "  bytes BLOB NOT NULL,"
  "  sha256 BLOB NOT NULL UNIQUE,"
  "  run_id INTEGER REFERENCES runs(id));"
  "CREATE TABLE findings ("
  "  id INTEGER PRIMARY KEY,"
  "  rule_id TEXT NOT NULL,"
  "  severity TEXT NOT NULL,"
  "  guideline_ref TEXT NOT NULL,"
  "  subject TEXT,"
  "  first_ts INTEGER,"
  "  last_ts INTEGER,"
  "  count INTEGER NOT NULL,"
  "  evidence TEXT NOT NULL,"
  "  fingerprint TEXT NOT NULL UNIQUE,"
  "  first_seen_run INTEGER REFERENCES runs(id),"
  "  status TEXT NOT NULL DEFAULT 'new');"
  "CREATE TABLE runs ("
  "  id INTEGER PRIMARY KEY,"
  "  started_at INTEGER NOT NULL,"
  "  ended_at INTEGER,"
  "  command TEXT NOT NULL,"
  "  args TEXT,"
  "  status TEXT,"
  "  inputs INTEGER NOT NULL DEFAULT 0,"
  "  inputs_skipped INTEGER NOT NULL DEFAULT 0,"
  "  associations INTEGER NOT NULL DEFAULT 0,"
  "  dimse INTEGER NOT NULL DEFAULT 0,"
  "  events INTEGER NOT NULL DEFAULT 0,"
  "  raw INTEGER NOT NULL DEFAULT 0,"
  "  quarantined INTEGER NOT NULL DEFAULT 0,"
  "  errors INTEGER NOT NULL DEFAULT 0,"
  "  detail TEXT);"
  "CREATE TABLE ingest_state ("
  "  path TEXT PRIMARY KEY,"
  "  kind TEXT NOT NULL,"
  "  inode INTEGER,"
  "  size INTEGER NOT NULL,"
  "  mtime INTEGER,"
  "  head_sha256 TEXT NOT NULL,"
  "  offset INTEGER NOT NULL,"
  "  run_id INTEGER REFERENCES runs(id),"
  "  updated_at INTEGER NOT NULL);",

  /* 1 -> 2: the detail of audit messages (ATNA, FHIR). Clustered on
   * (event_id, seq) so the detail rows of an event sit together and cost no
   * second index. */
  "CREATE TABLE audit_details ("
  "  event_id INTEGER PRIMARY KEY REFERENCES events(id),"
  "  format TEXT,"
  "  event_id_system TEXT,"
  "  event_display TEXT,"
  "  event_types TEXT,"
  "  event_type_names TEXT,"
  "  outcome_desc TEXT,"
  "  purpose TEXT,"
  "  source_id TEXT,"
  "  source_site TEXT,"
  "  source_types TEXT,"
  "  warnings TEXT);"
  "CREATE TABLE atna_participants ("
  "  event_id INTEGER NOT NULL REFERENCES events(id),"
  "  seq INTEGER NOT NULL,"
  "  user_id TEXT,"
  "  alt_user_id TEXT,"
  "  user_name TEXT,"
  "  is_requestor INTEGER,"
  "  user_type INTEGER,"
  "  user_id_type TEXT,"
  "  net_id TEXT,"
  "  net_type INTEGER,"
  "  net_type_effective INTEGER,"
  "  ae_title TEXT,"
  "  roles TEXT,"
  "  role_names TEXT,"
  "  PRIMARY KEY (event_id, seq)) WITHOUT ROWID;"
  "CREATE TABLE atna_objects ("
  "  event_id INTEGER NOT NULL REFERENCES events(id),"
  "  seq INTEGER NOT NULL,"
  "  object_id TEXT,"
  "  type_code INTEGER,"
  "  role_code INTEGER,"
  "  lifecycle INTEGER,"
  "  id_type_code TEXT,"
  "  id_type_system TEXT,"
  "  name TEXT,"
  "  description TEXT,"
  "  query_b64 TEXT,"
  "  cx_id TEXT,"
  "  cx_namespace TEXT,"
  "  cx_universal_id TEXT,"
  "  n_instances INTEGER,"
  "  sop_classes TEXT,"
  "  accession TEXT,"
  "  study_uids TEXT,"
  "  PRIMARY KEY (event_id, seq)) WITHOUT ROWID;",

  /* 2 -> 3: anomalies seen in an association (stable names, for counting) */
  ("ALTER TABLE associations ADD COLUMN anomalies TEXT;"
   "ALTER TABLE associations ADD COLUMN anomaly_count INTEGER NOT NULL DEFAULT 0;"),

  /* 3 -> 4: a C-STORE sub-operation names the C-MOVE that caused it */
  ("ALTER TABLE dimse ADD COLUMN move_originator_ae TEXT;"
   "ALTER TABLE dimse ADD COLUMN move_originator_id INTEGER;"),

  /* 4 -> 5: a message received again from the same stream at another place
   * (sshd writes the same line for each failed try of one connection) is a
   * new fact; raw keeps its bytes once, this table each further place */
  ("CREATE TABLE raw_repeats ("
   "  id INTEGER PRIMARY KEY,"
   "  raw_id INTEGER NOT NULL REFERENCES raw(id),"
   "  received_ts INTEGER NOT NULL,"
   "  origin TEXT NOT NULL,"
   "  offset INTEGER,"
   "  UNIQUE (raw_id, origin, offset));"),
  /* 5 -> 6: what the rules need (docs/schema.md, "version 6").
   * event_type: the subtype (EventTypeCode) of an audit event, so a login
   * and a logout are told apart in events itself; auth_method: how a login
   * was made, where the data says it. op: the one operation of the policy's
   * vocabulary each event is (policy.md), defined here once, as a virtual
   * column, so that every rule joins on the same mapping and old rows get it
   * too. dimse_results: what a C-FIND returned (its pending responses).
   * rule_runs: what each check run decided, rule by rule. */
  ("ALTER TABLE events ADD COLUMN event_type TEXT;"
   "ALTER TABLE events ADD COLUMN auth_method TEXT;"
   /* where received_ts came from: 'header' (a syslog header's time), 'receipt'
    * (the listener's clock), 'file' (read from a file: the ingest clock). Only
    * a header time says anything about the sender's clock (AU-05). */
   "ALTER TABLE events ADD COLUMN received_via TEXT;"
   "UPDATE events SET event_type = (SELECT CASE"
   "   WHEN d.event_types GLOB '110[0-9][0-9][0-9]*' THEN 'DCM:' ||"
   "     substr(d.event_types, 1, instr(d.event_types || ',', ',') - 1)"
   "   ELSE substr(d.event_types, 1, instr(d.event_types || ',', ',') - 1) END"
   "   FROM audit_details d WHERE d.event_id = events.id AND d.event_types <> '')"
   " WHERE source IN ('atna', 'fhir');"
   "ALTER TABLE events ADD COLUMN " PA__EVENTS_OP " VIRTUAL;"
   "CREATE INDEX events_code ON events(event_code, ts);"
   /* logins, logouts and failures by user: AC-05, AC-08, AC-10, AC-03 */
   "CREATE INDEX events_op ON events(op, user_id, ts) WHERE op IS NOT NULL;"
   "CREATE TABLE dimse_results ("
   "  dimse_id INTEGER NOT NULL REFERENCES dimse(id),"
   "  seq INTEGER NOT NULL,"
   "  patient_id TEXT,"
   "  study_uid TEXT,"
   "  PRIMARY KEY (dimse_id, seq)) WITHOUT ROWID;"
   "ALTER TABLE findings ADD COLUMN strength TEXT;"
   "ALTER TABLE findings ADD COLUMN updated_run INTEGER REFERENCES runs(id);"
   "ALTER TABLE findings ADD COLUMN reason TEXT;"
   "ALTER TABLE findings ADD COLUMN assoc_evidence TEXT;"
   "ALTER TABLE findings ADD COLUMN detail TEXT;"
   "UPDATE findings SET status = 'open' WHERE status = 'new';"
   "CREATE INDEX findings_rule ON findings(rule_id, subject, first_ts);"
   "CREATE TABLE rule_runs ("
   "  run_id INTEGER NOT NULL REFERENCES runs(id),"
   "  rule_id TEXT NOT NULL,"
   "  decided INTEGER NOT NULL,"
   "  why TEXT,"
   "  since_ts INTEGER,"
   "  until_ts INTEGER,"
   "  new INTEGER NOT NULL DEFAULT 0,"
   "  known INTEGER NOT NULL DEFAULT 0,"
   "  excepted INTEGER NOT NULL DEFAULT 0,"
   "  ms INTEGER,"
   "  PRIMARY KEY (run_id, rule_id));"),

  /* 6 -> 7: retention (nightly's retention.raw_days). A message past it
   * loses its bytes but keeps its row: the sha256 and the chain links stay,
   * so the chain is verified whole, and a copy of an old message received
   * again is still known. raw_retention records each cut: verify accepts a
   * row without bytes only up to the last up_to_id. */
  ("CREATE TABLE raw_retention ("
   "  id INTEGER PRIMARY KEY,"
   "  at INTEGER NOT NULL,"
   "  before_ts INTEGER NOT NULL,"
   "  up_to_id INTEGER NOT NULL,"
   "  rows INTEGER NOT NULL,"
   "  run_id INTEGER REFERENCES runs(id));"),

  /* 7 -> 8: `query` finds an AE title or an address on either side of an
   * event. The destination had no index: a query for the called node walked
   * all of events (seconds on 10M rows; docs/performance.md, "query").
   * Partial like the source indexes: only rows that name a destination
   * (DICOM and ATNA) pay for them. */
  ("CREATE INDEX events_dst_ae ON events(dst_ae, ts) WHERE dst_ae IS NOT NULL;"
   "CREATE INDEX events_dst_ip ON events(dst_ip, ts) WHERE dst_ip IS NOT NULL;"),

  /* 8 -> 9: what reviewers do (docs/schema.md, "version 9"). A reviewer's
   * change of a finding's status is itself audit evidence: finding_history
   * keeps every change, nothing is updated or deleted in it. reviews: the
   * sign-offs of `pacsaudit review`, the review evidence of AU-02, which
   * reads them through events_and_reviews: the events, and one row per
   * sign-off (op 'review', no id, at the end of the period it covers, or
   * when it was made if that is earlier: a sign-off cannot vouch for a
   * time after it). */
  ("CREATE TABLE finding_history ("
   "  id INTEGER PRIMARY KEY,"
   "  finding_id INTEGER NOT NULL REFERENCES findings(id),"
   "  status TEXT NOT NULL,"
   "  prev_status TEXT,"
   "  by TEXT NOT NULL,"
   "  at INTEGER NOT NULL,"
   "  note TEXT,"
   "  run_id INTEGER REFERENCES runs(id));"
   "CREATE INDEX finding_history_finding ON finding_history(finding_id, at);"
   "CREATE TABLE reviews ("
   "  id INTEGER PRIMARY KEY,"
   "  by TEXT NOT NULL,"
   "  at INTEGER NOT NULL,"
   "  note TEXT,"
   "  period_from INTEGER,"
   "  period_to INTEGER,"
   "  run_id INTEGER REFERENCES runs(id));"
   "CREATE INDEX reviews_at ON reviews(at);"
   "CREATE VIEW events_and_reviews AS"
   " SELECT id, ts, received_ts, source, origin, event_code, action, outcome, user_id,"
   "  user_name, user_role, src_ip, src_ae, dst_ip, dst_ae, host, patient_id, study_uid,"
   "  object_count, secure, assoc_id, raw_id, event_type, auth_method, op, received_via"
   " FROM events"
   " UNION ALL"
   " SELECT NULL, CASE WHEN period_to IS NOT NULL AND period_to - 1 < at THEN period_to - 1"
   "  ELSE at END, at, 'pacsaudit', 'review', 'PA:review', NULL, 0, NULL, by, NULL, NULL,"
   "  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'review',"
   "  'receipt'"
   " FROM reviews;"),

  /* 9 -> 10: which process a run is, so that a run whose process died
   * (kill -9, power loss) is told from one still going: its pid, and a
   * marker of that process's start (boot id and start time in clock
   * ticks, /proc/PID/stat) that a later process with the same pid does
   * not share. */
  "ALTER TABLE runs ADD COLUMN pid INTEGER;"
  "ALTER TABLE runs ADD COLUMN proc_start TEXT;",

  /* 10 -> 11: evidence that holds up (docs/evidence.md). The chain covers
   * where and when each message was received: rows written from now on are
   * chain version 2 (chain_hash over origin, offset and received_ts too);
   * the rows already stored stay version 1, verified as they were written.
   * seals: a copy of each signed checkpoint `pacsaudit seal` appended to
   * its seal file (the file, kept away from the database's administrators,
   * is what verify trusts; this copy is for people reading the database). */
  ("ALTER TABLE raw ADD COLUMN chain_v INTEGER NOT NULL DEFAULT 1;"
   "CREATE TABLE seals ("
   "  id INTEGER PRIMARY KEY,"
   "  at INTEGER NOT NULL,"
   "  last_id INTEGER NOT NULL,"
   "  rows INTEGER NOT NULL,"
   "  head BLOB,"
   "  key_id TEXT NOT NULL,"
   "  line TEXT NOT NULL,"
   "  out TEXT);"),

  /* 11 -> 12: raw compressed with zstd and trained dictionaries (docs/schema.md,
   * "version 12"). raw_dicts keeps each dictionary once, by id; a raw row
   * compressed with one names it in dict_id. compressed: 0 verbatim, 1 zlib
   * (rows written before version 12), 2 zstd (with raw_dicts dict_id, or
   * none when dict_id is NULL). */
  ("CREATE TABLE raw_dicts ("
   "  id INTEGER PRIMARY KEY,"
   "  created_at INTEGER NOT NULL,"
   "  samples INTEGER NOT NULL,"
   "  size INTEGER NOT NULL,"
   "  bytes BLOB NOT NULL,"
   "  sha256 BLOB NOT NULL);"
   "ALTER TABLE raw ADD COLUMN dict_id INTEGER REFERENCES raw_dicts(id);"),

  /* 12 -> 13: the writer does less (issue 5/6; docs/schema.md, "version 13").
   * deferred_indexes: the secondary indexes a bulk load into an empty
   * events table dropped, with the statement that makes each again. The
   * load creates them when it ends; a database opened for writing with rows
   * here (a load that died) gets them back at open. Empty otherwise. */
  ("CREATE TABLE deferred_indexes ("
   "  name TEXT PRIMARY KEY,"
   "  sql TEXT NOT NULL,"
   "  since INTEGER NOT NULL);"
   /* raw's dedup key: sha_key, the first 8 bytes of sha256 as a signed
    * big-endian integer, under a plain index; a hit is confirmed on the
    * full sha256. The 32-byte BLOB UNIQUE index (about 45 bytes a row and a
    * random-order insert into a wide B-tree per message) goes: SQLite drops
    * a UNIQUE constraint only by making the table again, so raw is copied
    * once (the SQLite "12 steps" way; foreign keys are off). pa_sha_key()
    * is the store's own SQL function, registered at open. */
   "CREATE TABLE raw_v13 ("
   "  id INTEGER PRIMARY KEY,"
   "  received_ts INTEGER NOT NULL,"
   "  origin TEXT,"
   "  offset INTEGER,"
   "  size INTEGER NOT NULL,"
   "  compressed INTEGER NOT NULL DEFAULT 0,"
   "  bytes BLOB NOT NULL,"
   "  sha256 BLOB NOT NULL,"
   "  prev_hash BLOB,"
   "  chain_hash BLOB NOT NULL,"
   "  chain_v INTEGER NOT NULL DEFAULT 1,"
   "  dict_id INTEGER REFERENCES raw_dicts(id),"
   "  sha_key INTEGER NOT NULL);"
   "INSERT INTO raw_v13 (id, received_ts, origin, offset, size, compressed, bytes, sha256,"
   "  prev_hash, chain_hash, chain_v, dict_id, sha_key)"
   " SELECT id, received_ts, origin, offset, size, compressed, bytes, sha256, prev_hash,"
   "  chain_hash, chain_v, dict_id, pa_sha_key(sha256) FROM raw ORDER BY id;"
   "DROP TABLE raw;"
   "ALTER TABLE raw_v13 RENAME TO raw;"
   "CREATE INDEX raw_sha_key ON raw(sha_key);"),

  /* 13 -> 14: detail rows that repeat nothing (issue 5/6; docs/schema.md,
   * "version 14"). atna_objects and atna_participants become views of the
   * same columns as before over atna_objects_data and atna_participants_data.
   * An object's cx_* parts are stored only when they differ from what its
   * object_id splits into (PA__CX_SPLIT; cx_stored = 1 then). A
   * participant's user_id, user_name, net_id, roles and role_names are not
   * stored when they equal its event's user_id, user_name, src_ip and
   * user_role: from_event says which (bits 1, 2, 4, 8, 16). The rows already
   * stored are copied over the same way. */
  ("CREATE TABLE atna_objects_data ("
   "  event_id INTEGER NOT NULL REFERENCES events(id),"
   "  seq INTEGER NOT NULL,"
   "  object_id TEXT,"
   "  type_code INTEGER,"
   "  role_code INTEGER,"
   "  lifecycle INTEGER,"
   "  id_type_code TEXT,"
   "  id_type_system TEXT,"
   "  name TEXT,"
   "  description TEXT,"
   "  query_b64 TEXT,"
   "  cx_stored INTEGER,"
   "  cx_id TEXT,"
   "  cx_namespace TEXT,"
   "  cx_universal_id TEXT,"
   "  n_instances INTEGER,"
   "  sop_classes TEXT,"
   "  accession TEXT,"
   "  study_uids TEXT,"
   "  PRIMARY KEY (event_id, seq)) WITHOUT ROWID;"
   "INSERT INTO atna_objects_data (event_id, seq, object_id, type_code, role_code, lifecycle,"
   "  id_type_code, id_type_system, name, description, query_b64, cx_stored, cx_id,"
   "  cx_namespace, cx_universal_id, n_instances, sop_classes, accession, study_uids)"
   " SELECT " PA__CX_KEEP_COLS " FROM " PA__CX_SPLIT_F("atna_objects", PA__CX_FENCE) ";"
   "DROP TABLE atna_objects;"
   "CREATE VIEW atna_objects AS SELECT event_id, seq, object_id, type_code, role_code,"
   "  lifecycle, id_type_code, id_type_system, name, description, query_b64,"
   "  CASE WHEN cx_stored THEN cx_id ELSE dx_id END AS cx_id,"
   "  CASE WHEN cx_stored THEN cx_namespace ELSE dx_ns END AS cx_namespace,"
   "  CASE WHEN cx_stored THEN cx_universal_id ELSE dx_uni END AS cx_universal_id,"
   "  n_instances, sop_classes, accession, study_uids"
   " FROM " PA__CX_SPLIT("atna_objects_data") ";"
   "CREATE TABLE atna_participants_data ("
   "  event_id INTEGER NOT NULL REFERENCES events(id),"
   "  seq INTEGER NOT NULL,"
   "  user_id TEXT,"
   "  alt_user_id TEXT,"
   "  user_name TEXT,"
   "  is_requestor INTEGER,"
   "  user_type INTEGER,"
   "  user_id_type TEXT,"
   "  net_id TEXT,"
   "  net_type INTEGER,"
   "  net_type_effective INTEGER,"
   "  ae_title TEXT,"
   "  roles TEXT,"
   "  role_names TEXT,"
   "  from_event INTEGER,"
   "  PRIMARY KEY (event_id, seq)) WITHOUT ROWID;"
   "INSERT INTO atna_participants_data (event_id, seq, user_id, alt_user_id, user_name,"
   "  is_requestor, user_type, user_id_type, net_id, net_type, net_type_effective, ae_title,"
   "  roles, role_names, from_event)"
   " SELECT p.event_id, p.seq,"
   "  CASE WHEN p.user_id = e.user_id THEN NULL ELSE p.user_id END, p.alt_user_id,"
   "  CASE WHEN p.user_name = e.user_name THEN NULL ELSE p.user_name END, p.is_requestor,"
   "  p.user_type, p.user_id_type,"
   "  CASE WHEN p.net_id = e.src_ip THEN NULL ELSE p.net_id END, p.net_type,"
   "  p.net_type_effective, p.ae_title,"
   "  CASE WHEN p.roles = e.user_role THEN NULL ELSE p.roles END,"
   "  CASE WHEN p.role_names = e.user_role THEN NULL ELSE p.role_names END,"
   "  nullif(coalesce(p.user_id = e.user_id, 0) | (coalesce(p.user_name = e.user_name, 0) << 1)"
   "   | (coalesce(p.net_id = e.src_ip, 0) << 2) | (coalesce(p.roles = e.user_role, 0) << 3)"
   "   | (coalesce(p.role_names = e.user_role, 0) << 4), 0)"
   " FROM atna_participants p LEFT JOIN events e ON e.id = p.event_id;"
   "DROP TABLE atna_participants;"
   "CREATE VIEW atna_participants AS SELECT p.event_id, p.seq,"
   "  CASE WHEN p.from_event & 1 THEN e.user_id ELSE p.user_id END AS user_id, p.alt_user_id,"
   "  CASE WHEN p.from_event & 2 THEN e.user_name ELSE p.user_name END AS user_name,"
   "  p.is_requestor, p.user_type, p.user_id_type,"
   "  CASE WHEN p.from_event & 4 THEN e.src_ip ELSE p.net_id END AS net_id, p.net_type,"
   "  p.net_type_effective, p.ae_title,"
   "  CASE WHEN p.from_event & 8 THEN e.user_role ELSE p.roles END AS roles,"
   "  CASE WHEN p.from_event & 16 THEN e.user_role ELSE p.role_names END AS role_names"
   " FROM atna_participants_data p LEFT JOIN events e ON e.id = p.event_id;"),

  /* 14 -> 15: op stored (issue 3/6; docs/schema.md, "version 15"). A
   * virtual op was computed again by every read that tested it: a full
   * scan of events that asked for op cost four times one that did not.
   * SQLite makes a column STORED only in a new table, so events is copied
   * once (the SQLite "12 steps" way; foreign keys are off). Its indexes go
   * with the old table: they are listed in deferred_indexes first, and the
   * open that ran this migration makes them again (deferred_recover). The
   * views over events name it, not the table's copy: the rename leaves
   * them as they are (legacy_alter_table), and they read the new table. */
  ("INSERT OR IGNORE INTO deferred_indexes (name, sql, since)"
   " SELECT name, sql, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"
   " FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL;"
   "CREATE TABLE events_v15 (" PA__EVENTS_COLS_V14 ","
   "  " PA__EVENTS_OP " STORED);"
   "INSERT INTO events_v15 (" PA__EVENTS_V14_NAMES ") SELECT " PA__EVENTS_V14_NAMES
   " FROM events ORDER BY id;"
   "DROP TABLE events;"
   "PRAGMA legacy_alter_table=ON;"
   "ALTER TABLE events_v15 RENAME TO events;"
   "PRAGMA legacy_alter_table=OFF;"),

  /* 15 -> 16: events_pending (issue 5/6; docs/schema.md, "version 16").
   * The listener commits each small batch's events here, a table with no
   * secondary index, and moves them into events many batches at a time,
   * so that a leaf of events' nine indexes is written to the WAL once a
   * move instead of once a commit. Its columns are those of events that
   * are not generated; the ids are events' own (store.c). events_all
   * reads both, for a reader that must see every event stored (verify
   * --deep on a store a listener writes). */
  ("CREATE TABLE events_pending (" PA__EVENTS_COLS_V14 ");"
   "CREATE VIEW events_all AS SELECT " PA__EVENTS_V14_NAMES " FROM events"
   " UNION ALL SELECT " PA__EVENTS_V14_NAMES " FROM events_pending;"),
};

#define PA__STORE_N_MIGRATIONS \
  ((int)(sizeof pa__store_migrations / sizeof pa__store_migrations[0]))

#endif
