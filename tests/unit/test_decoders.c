/* test_decoders.c — the built-in decoders on real-looking lines, lines that
 * must not match, and decoder JSON that must be refused with a useful error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analyzer/limits.h"
#include "analyzer/tm.h"
#include "collectors/decoders.h"
#include "collectors/syslog.h"
#include "tests/unit/pa_test.h"

#include <stdio.h>
#include <zlib.h>
#include <stdlib.h>
#include <string.h>

/* collectors/decoders in the source tree, or $PA_DECODERS_DIR. */
static const char *builtin_dir(void)
{
  static char dir[4096];
  const char *env = getenv("PA_DECODERS_DIR");
  if (env)
    return env;
  pa_test_src_path(dir, sizeof dir, "collectors/decoders");
  return dir;
}

static int setup(void **state)
{
  struct pa_err e;
  pa_decoders *d = pa_decoders_new();
  assert_non_null(d);
  pa_err_clear(&e);
  if (pa_decoders_load_dir(d, builtin_dir(), &e) != PA_OK)
    fail_msg("%s", e.msg);
  *state = d;
  return 0;
}

static int teardown(void **state)
{
  pa_decoders_free(*state);
  return 0;
}

struct want {
  const char *line;     /* a syslog message as it arrives */
  const char *decoder;  /* NULL: must not match */
  const char *code, *type;
  int outcome;
  const char *user, *ip, *role;
};

static void run_table(pa_decoders *d, const struct want *t, size_t n)
{
  pa_decoders_scratch *s = pa_decoders_scratch_new();
  struct pa_syslog_opts o;
  assert_non_null(s);
  pa_syslog_opts_init(&o, 1700000000000000LL, "Asia/Tokyo");
  for (size_t i = 0; i < n; i++) {
    struct pa_syslog_msg m;
    struct pa_event ev;
    struct pa_decoded info;
    struct pa_err e;
    pa_err_clear(&e);
    assert_int_equal(pa_syslog_parse((const uint8_t *)t[i].line, strlen(t[i].line), &o, &m, &e),
                     PA_OK);
    assert_int_equal(pa_decoders_match(d, &m, s, &ev, &info, &e), PA_OK);
    if (!t[i].decoder) {
      if (info.matched)
        fail_msg("%zu: [%s] matched %s", i, t[i].line, info.decoder);
      continue;
    }
    if (!info.matched)
      fail_msg("%zu: [%s] did not match", i, t[i].line);
    if (strcmp(info.decoder, t[i].decoder))
      fail_msg("%zu: matched %s, want %s", i, info.decoder, t[i].decoder);
    assert_string_equal(ev.source, "syslog");
    assert_string_equal(ev.event_code, t[i].code);
    if (t[i].type) {
      assert_string_equal(info.event_type, t[i].type);
      assert_string_equal(ev.event_type, t[i].type); /* the events row carries it */
    } else {
      assert_null(info.event_type);
      assert_null(ev.event_type);
    }
    assert_int_equal(ev.outcome, t[i].outcome);
    assert_int_equal(ev.action, 'E');
#define FIELD(got, want_)                                                      \
  do {                                                                         \
    if ((want_) == NULL)                                                       \
      assert_null(got);                                                        \
    else if ((got) == NULL || strcmp((got), (want_)))                          \
      fail_msg("%zu: %s = %s, want %s", i, #got, (got) ? (got) : "NULL", (want_)); \
  } while (0)
    FIELD(ev.user_id, t[i].user);
    FIELD(ev.src_ip, t[i].ip);
    FIELD(ev.user_role, t[i].role);
    assert_true(m.has_ts);
    assert_int_equal(ev.ts, m.ts);
    assert_int_equal(ev.received_ts, m.ts);
    assert_non_null(ev.host);
    assert_string_equal(ev.host, "pacs01");
  }
  pa_decoders_scratch_free(s);
}

static void test_sshd(void **state)
{
  static const struct want t[] = {
    {"<38>Jan 12 08:01:02 pacs01 sshd[2211]: Accepted password for alice from 192.0.2.10 "
     "port 52144 ssh2",
     "sshd-accepted", "DCM:110114", "DCM:110122", 0, "alice", "192.0.2.10", NULL},
    {"Jan 12 08:01:02 pacs01 sshd[2211]: Accepted publickey for rad.tanaka from "
     "2001:db8::7 port 40022 ssh2: ED25519 SHA256:q2r3s4t5u6v7w8x9y0zAbCdEfGhIjKlMnOpQrStUvW",
     "sshd-accepted", "DCM:110114", "DCM:110122", 0, "rad.tanaka", "2001:db8::7", NULL},
    {"<38>1 2024-01-12T08:01:02.5+09:00 pacs01 sshd-session 3001 - - Accepted "
     "keyboard-interactive/pam for bob from 198.51.100.4 port 61000 ssh2",
     "sshd-accepted", "DCM:110114", "DCM:110122", 0, "bob", "198.51.100.4", NULL},
    {"<38>Jan 12 08:02:00 pacs01 sshd[2300]: Failed password for alice from 192.0.2.10 port "
     "52150 ssh2",
     "sshd-failed", "DCM:110114", "DCM:110122", 4, "alice", "192.0.2.10", NULL},
    {"<38>Jan 12 08:02:05 pacs01 sshd[2301]: Failed password for invalid user admin from "
     "203.0.113.9 port 33012 ssh2",
     "sshd-failed", "DCM:110114", "DCM:110122", 4, "admin", "203.0.113.9", NULL},
    {"<38>Jan 12 08:02:05 pacs01 sshd[2301]: Failed none for invalid user  from 203.0.113.9 "
     "port 33012 ssh2",
     "sshd-failed", "DCM:110114", "DCM:110122", 4, NULL, "203.0.113.9", NULL},
    {"<38>Jan 12 08:02:04 pacs01 sshd[2301]: Invalid user admin from 203.0.113.9 port 33012",
     "sshd-invalid-user", "DCM:110114", "DCM:110122", 4, "admin", "203.0.113.9", NULL},
    {"<38>Jan 12 08:02:04 pacs01 sshd[2301]: Invalid user oracle from 203.0.113.9",
     "sshd-invalid-user", "DCM:110114", "DCM:110122", 4, "oracle", "203.0.113.9", NULL},
    {"<38>Jan 12 08:02:09 pacs01 sshd[2301]: error: maximum authentication attempts exceeded "
     "for root from 203.0.113.9 port 33012 ssh2 [preauth]",
     "sshd-max-auth", "DCM:110114", "DCM:110122", 4, "root", "203.0.113.9", NULL},
    {"<38>Jan 12 17:30:00 pacs01 sshd[2211]: Disconnected from user alice 192.0.2.10 port 52144",
     "sshd-disconnected", "DCM:110114", "DCM:110123", 0, "alice", "192.0.2.10", NULL},
    /* not authentication facts, or not sshd */
    {"<38>Jan 12 08:02:10 pacs01 sshd[2301]: Connection closed by 203.0.113.9 port 33012 "
     "[preauth]",
     NULL, NULL, NULL, 0, NULL, NULL, NULL},
    {"<38>Jan 12 08:02:10 pacs01 sshd[2301]: Received disconnect from 203.0.113.9 port 33012:11: "
     "Bye Bye [preauth]",
     NULL, NULL, NULL, 0, NULL, NULL, NULL},
    {"<38>Jan 12 08:01:02 pacs01 nginx[77]: Accepted password for alice from 192.0.2.10 port 1 "
     "ssh2",
     NULL, NULL, NULL, 0, NULL, NULL, NULL},
    /* sshd's PAM line is left to sshd's own "Failed password" line */
    {"<38>Jan 12 08:02:00 pacs01 sshd[2300]: pam_unix(sshd:auth): authentication failure; "
     "logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.10  user=alice",
     NULL, NULL, NULL, 0, NULL, NULL, NULL},
  };
  run_table(*state, t, sizeof t / sizeof t[0]);
}

/* sshd's "Invalid user" and the "Failed ... for invalid user" line of the
 * same process and port carry one key (try_key on the first, join_key on
 * the second); another port, another process or no process id do not. */
static void test_sshd_same_try(void **state)
{
  static const char *const lines[] = {
    "<38>Jan 12 08:02:04 pacs01 sshd[2301]: Invalid user admin from 203.0.113.9 port 33012",
    "<38>Jan 12 08:02:05 pacs01 sshd[2301]: Failed password for invalid user admin from "
    "203.0.113.9 port 33012 ssh2",
    "<38>Jan 12 08:02:05 pacs01 sshd[2301]: Failed password for invalid user admin from "
    "203.0.113.9 port 33013 ssh2",
    "<38>Jan 12 08:02:05 pacs01 sshd[2302]: Failed password for invalid user admin from "
    "203.0.113.9 port 33012 ssh2",
    "<38>Jan 12 08:02:05 pacs01 sshd: Failed password for invalid user admin from "
    "203.0.113.9 port 33012 ssh2",
    "<38>Jan 12 08:02:04 pacs01 sshd[2301]: Invalid user admin from 203.0.113.9",
    "<38>Jan 12 08:01:02 pacs01 sshd[2211]: Accepted password for alice from 192.0.2.10 "
    "port 52144 ssh2",
  };
  pa_decoders_scratch *s = pa_decoders_scratch_new();
  struct pa_syslog_opts o;
  char first[300] = "";
  assert_non_null(s);
  pa_syslog_opts_init(&o, 1700000000000000LL, "Asia/Tokyo");
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
    struct pa_syslog_msg m;
    struct pa_event ev;
    struct pa_decoded info;
    struct pa_err e;
    pa_err_clear(&e);
    assert_int_equal(pa_syslog_parse((const uint8_t *)lines[i], strlen(lines[i]), &o, &m, &e),
                     PA_OK);
    assert_int_equal(pa_decoders_match(*state, &m, s, &ev, &info, &e), PA_OK);
    assert_true(info.matched);
    switch (i) {
    case 0:
      assert_non_null(info.try_key);
      assert_null(info.join_key);
      snprintf(first, sizeof first, "%s", info.try_key);
      break;
    case 1:
      assert_null(info.try_key);
      assert_non_null(info.join_key);
      assert_string_equal(info.join_key, first);
      break;
    case 2: case 3: /* another port, another process */
      assert_non_null(info.join_key);
      assert_string_not_equal(info.join_key, first);
      break;
    case 4: case 5: /* no process id; no port */
      assert_null(info.join_key);
      assert_null(info.try_key);
      break;
    default: /* no part of a try */
      assert_null(info.join_key);
      assert_null(info.try_key);
    }
  }
  pa_decoders_scratch_free(s);
}

/* sshd's method goes into events.auth_method on Accepted and Failed lines;
 * a line that names none leaves it NULL. */
static void test_sshd_auth_method(void **state)
{
  static const struct {
    const char *line, *method;
  } t[] = {
    {"<38>Jan 12 08:01:02 pacs01 sshd[2211]: Accepted password for alice from 192.0.2.10 "
     "port 52144 ssh2", "password"},
    {"<38>Jan 12 08:01:02 pacs01 sshd[2211]: Accepted publickey for bob from 192.0.2.10 "
     "port 52144 ssh2: ED25519 SHA256:abc", "publickey"},
    {"<38>Jan 12 08:02:05 pacs01 sshd[2301]: Failed keyboard-interactive/pam for invalid user "
     "admin from 203.0.113.9 port 33012 ssh2", "keyboard-interactive/pam"},
    {"<38>Jan 12 08:02:04 pacs01 sshd[2301]: Invalid user admin from 203.0.113.9 port 33012",
     NULL},
  };
  pa_decoders_scratch *s = pa_decoders_scratch_new();
  struct pa_syslog_opts o;
  assert_non_null(s);
  pa_syslog_opts_init(&o, 1700000000000000LL, "Asia/Tokyo");
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    struct pa_syslog_msg m;
    struct pa_event ev;
    struct pa_decoded info;
    struct pa_err e;
    pa_err_clear(&e);
    assert_int_equal(pa_syslog_parse((const uint8_t *)t[i].line, strlen(t[i].line), &o, &m, &e),
                     PA_OK);
    assert_int_equal(pa_decoders_match(*state, &m, s, &ev, &info, &e), PA_OK);
    assert_true(info.matched);
    if (t[i].method)
      assert_string_equal(ev.auth_method, t[i].method);
    else
      assert_null(ev.auth_method);
  }
  pa_decoders_scratch_free(s);
}

static void test_pam_sudo(void **state)
{
  static const struct want t[] = {
    {"<86>Jan 12 09:00:00 pacs01 login[901]: pam_unix(login:auth): authentication failure; "
     "logname=LOGIN uid=0 euid=0 tty=tty1 ruser= rhost=  user=alice",
     "pam-auth-failure", "DCM:110114", "DCM:110122", 4, "alice", NULL, NULL},
    {"<86>Jan 12 09:00:00 pacs01 vsftpd[902]: pam_unix(vsftpd:auth): authentication failure; "
     "logname= uid=0 euid=0 tty=ftp ruser=bob rhost=192.0.2.77",
     "pam-auth-failure", "DCM:110114", "DCM:110122", 4, NULL, "192.0.2.77", NULL},
    {"<85>Jan 12 09:01:00 pacs01 su[903]: pam_unix(su:session): session opened for user "
     "root(uid=0) by alice(uid=1000)",
     "pam-session-opened", "DCM:110114", "DCM:110122", 0, "root", NULL, NULL},
    {"<85>Jan 12 09:01:00 pacs01 su[903]: pam_unix(su-l:session): session opened for user "
     "postgres by alice(uid=1000)",
     "pam-session-opened", "DCM:110114", "DCM:110122", 0, "postgres", NULL, NULL},
    {"<85>Jan 12 09:05:00 pacs01 su[903]: pam_unix(su:session): session closed for user root",
     "pam-session-closed", "DCM:110114", "DCM:110123", 0, "root", NULL, NULL},
    {"<85>Jan 12 09:05:00 pacs01 CRON[1200]: pam_unix(cron:session): session opened for user "
     "root(uid=0) by (uid=0)",
     NULL, NULL, NULL, 0, NULL, NULL, NULL},
    {"<85>Jan 12 09:05:00 pacs01 sudo[1300]: pam_unix(sudo:session): session opened for user "
     "root(uid=0) by alice(uid=1000)",
     NULL, NULL, NULL, 0, NULL, NULL, NULL},
    {"<85>Jan 12 09:10:00 pacs01 sudo[1300]:    alice : TTY=pts/0 ; PWD=/home/alice ; "
     "USER=root ; COMMAND=/usr/bin/systemctl restart orthanc",
     "sudo-command", "SYSLOG:sudo", NULL, 0, "alice", NULL, "root"},
    {"<85>Jan 12 09:10:00 pacs01 sudo[1300]: alice : TTY=pts/0 ; PWD=/srv/dicom ; USER=pacs ; "
     "ENV=LANG=C ; COMMAND=/usr/bin/find . -name *.dcm",
     "sudo-command", "SYSLOG:sudo", NULL, 0, "alice", NULL, "pacs"},
    {"<85>Jan 12 09:11:00 pacs01 sudo[1301]: bob : 3 incorrect password attempts ; TTY=pts/1 ; "
     "PWD=/home/bob ; USER=root ; COMMAND=/bin/cat /etc/shadow",
     "sudo-denied", "SYSLOG:sudo", NULL, 4, "bob", NULL, "root"},
    {"<85>Jan 12 09:12:00 pacs01 sudo[1302]: eve : user NOT in sudoers ; TTY=pts/2 ; PWD=/tmp ; "
     "USER=root ; COMMAND=/bin/sh",
     "sudo-denied", "SYSLOG:sudo", NULL, 4, "eve", NULL, "root"},
    {"<85>Jan 12 09:11:00 pacs01 sudo[1301]: pam_unix(sudo:auth): authentication failure; "
     "logname=bob uid=1000 euid=0 tty=/dev/pts/1 ruser=bob rhost=  user=bob",
     "pam-auth-failure", "DCM:110114", "DCM:110122", 4, "bob", NULL, NULL},
    {"<85>Jan 12 09:11:00 pacs01 sudo[1301]: alice : a random remark",
     NULL, NULL, NULL, 0, NULL, NULL, NULL},
  };
  run_table(*state, t, sizeof t / sizeof t[0]);
}

static void test_keycloak(void **state)
{
  static const struct want t[] = {
    /* the quoted form of recent Keycloak */
    {"<12>1 2024-10-17T10:43:38.199+09:00 pacs01 keycloak 42 - - 2024-10-17 10:43:38,199 WARN  "
     "[org.keycloak.events] (executor-thread-3) type=\"LOGIN_ERROR\", realmId=\"dcm4che\", "
     "realmName=\"dcm4che\", clientId=\"dcm4chee-arc-ui\", userId=\"null\", "
     "ipAddress=\"10.1.2.3\", error=\"invalid_user_credentials\", auth_method=\"openid-connect\", "
     "username=\"rad01\"",
     "keycloak-login-error", "DCM:110114", "DCM:110122", 4, "rad01", "10.1.2.3", NULL},
    /* the unquoted form of older versions, no username */
    {"<12>1 2024-10-17T10:43:38Z pacs01 java 42 - - 10:43:38,199 WARN  [org.keycloak.events] "
     "(default task-5) type=LOGIN_ERROR, realmId=dcm4che, clientId=null, userId=null, "
     "ipAddress=10.1.2.4, error=expired_code",
     "keycloak-login-error", "DCM:110114", "DCM:110122", 4, NULL, "10.1.2.4", NULL},
    {"<15>1 2024-10-17T10:44:00Z pacs01 keycloak 42 - - type=LOGIN, realmId=dcm4che, "
     "clientId=dcm4chee-arc-ui, userId=6a1c, ipAddress=10.1.2.3, auth_method=openid-connect, "
     "username=rad01",
     "keycloak-login", "DCM:110114", "DCM:110122", 0, "rad01", "10.1.2.3", NULL},
    {"<15>1 2024-10-17T18:00:00Z pacs01 keycloak 42 - - type=\"LOGOUT\", realmId=\"dcm4che\", "
     "userId=\"6a1c\", ipAddress=\"10.1.2.3\"",
     "keycloak-logout", "DCM:110114", "DCM:110123", 0, NULL, "10.1.2.3", NULL},
    {"<15>1 2024-10-17T18:00:00Z pacs01 keycloak 42 - - type=\"CODE_TO_TOKEN\", realmId=\"x\"",
     NULL, NULL, NULL, 0, NULL, NULL, NULL},
  };
  run_table(*state, t, sizeof t / sizeof t[0]);
}

static void test_builtin_count(void **state)
{
  assert_int_equal(pa_decoders_count(*state), 13);
}

static void test_no_header_time(void **state)
{
  /* no timestamp: ts stays 0 for the caller to fill; no hostname: host NULL */
  pa_decoders_scratch *s = pa_decoders_scratch_new();
  struct pa_syslog_msg m;
  struct pa_event ev;
  struct pa_decoded info;
  struct pa_err e;
  const char *l = "sshd[1]: Invalid user x from 192.0.2.1";
  assert_int_equal(pa_syslog_parse((const uint8_t *)l, strlen(l), NULL, &m, &e), PA_OK);
  assert_int_equal(pa_decoders_match(*state, &m, s, &ev, &info, &e), PA_OK);
  assert_true(info.matched);
  assert_int_equal(ev.ts, 0);
  assert_null(ev.host);
  assert_string_equal(ev.user_id, "x");
  pa_decoders_scratch_free(s);
}

/* ---- bad decoder files --------------------------------------------------- */

static void refused(const char *json, pa_rc want, const char *msg_part)
{
  pa_decoders *d = pa_decoders_new();
  struct pa_err e;
  pa_err_clear(&e);
  pa_rc rc = pa_decoders_load_string(d, "site.json", json, strlen(json), &e);
  if (rc != want || !strstr(e.msg, msg_part))
    fail_msg("rc %d msg [%s], want %d [%s]", rc, e.msg, want, msg_part);
  assert_int_equal(pa_decoders_count(d), 0);
  assert_string_equal(e.input, "site.json");
  pa_decoders_free(d);
}

#define DEC(body) "{\"decoders\":[{\"name\":\"n\",\"pattern\":\"^(?<u>x)\"," body "}]}"
#define EV(body) DEC("\"event\":{\"event_code\":\"C\",\"outcome\":0" body "}")

static void test_bad_json(void **state)
{
  (void)state;
  refused("{\"decoders\":[}", PA_RULE, "site.json:1:");
  refused("{\"decoders\":[], \"decoders\":[]}", PA_RULE, "duplicate");
  refused(DEC("\"event\":{\"event_code\":\"C\",\"outcome\":0,\"outcome\":4}"), PA_RULE,
          "duplicate");
  refused("[]", PA_RULE, "expected an object");
  refused("{\"decoder\":[]}", PA_RULE, "site.json: decoder: unknown key");
  refused("{\"decoders\":{}}", PA_RULE, "decoders: expected an array");
  refused(DEC("\"patern\":\"x\""), PA_RULE, "site.json: decoders[0].patern: unknown key");
  refused(EV(",\"colour\":1"), PA_RULE, "decoders[0].event.colour: unknown key");
  refused(EV(",\"fields\":{\"user\":\"u\"}"), PA_RULE,
          "decoders[0].event.fields.user: unknown event field");
  refused(EV(",\"fields\":{\"user_id\":\"v\"}"), PA_RULE, "has no group of that name");
  refused(EV(",\"fields\":{\"user_id\":1}"), PA_RULE, "expected the name of a capture group");
  refused(DEC("\"event\":{\"event_code\":\"C\",\"outcome\":\"0\"}"), PA_RULE,
          "decoders[0].event.outcome: expected one of 0, 4, 8, 12");
  refused(DEC("\"event\":{\"event_code\":\"C\",\"outcome\":3}"), PA_RULE, "event.outcome");
  refused(DEC("\"event\":{\"event_code\":\"C\"}"), PA_RULE, "missing \"outcome\"");
  refused(DEC("\"event\":{\"outcome\":0}"), PA_RULE, "missing \"event_code\"");
  refused(EV(",\"action\":\"X\""), PA_RULE, "event.action");
  refused(DEC("\"event\":[]"), PA_RULE, "decoders[0].event: expected an object");
  refused(EV("},\"same_try\":{\"after\":\"zz\",\"key\":[\"u\"]"), PA_RULE,
          "decoders[0].same_try.after: no other decoder of that name is loaded");
  refused(EV("},\"same_try\":{\"after\":\"n\",\"key\":[\"u\"]"), PA_RULE,
          "same_try.after: no other decoder");
  refused(EV("},\"same_try\":{\"after\":\"zz\",\"key\":[\"v\"]"), PA_RULE,
          "decoders[0].same_try.key[0]: the pattern has no group of that name");
  refused(EV("},\"same_try\":{\"after\":\"zz\",\"key\":[]"), PA_RULE,
          "same_try.key: expected an array");
  refused(EV("},\"same_try\":{\"afterr\":1"), PA_RULE, "same_try.afterr: unknown key");
  refused("{\"decoders\":[{\"name\":\"a\",\"pattern\":\"^x\",\"event\":{\"event_code\":\"C\","
          "\"outcome\":0}},{\"name\":\"b\",\"pattern\":\"^(?<u>x)\",\"same_try\":{\"after\":"
          "\"a\",\"key\":[\"u\"]},\"event\":{\"event_code\":\"C\",\"outcome\":0}}]}",
          PA_RULE, "decoders[1].same_try.key[0]: the decoder it joins has no group of that name");
  refused(DEC("\"program\":5,\"event\":{\"event_code\":\"C\",\"outcome\":0}"), PA_RULE,
          "decoders[0].program: expected a string or an array");
  refused(DEC("\"program\":[\"a\",\"\"],\"event\":{\"event_code\":\"C\",\"outcome\":0}"), PA_RULE,
          "decoders[0].program[1]");
  refused(DEC("\"program\":\"a\",\"program_regex\":\"a\",\"event\":{\"event_code\":\"C\","
              "\"outcome\":0}"),
          PA_RULE, "not both");
  refused("{\"decoders\":[{\"pattern\":\"x\",\"event\":{\"event_code\":\"C\",\"outcome\":0}}]}",
          PA_RULE, "decoders[0].name");
  refused("{\"decoders\":[{\"name\":\"n\",\"event\":{\"event_code\":\"C\",\"outcome\":0}}]}",
          PA_RULE, "decoders[0].pattern");
  refused("{\"decoders\":[{\"name\":\"n\",\"pattern\":\"x\"}]}", PA_RULE, "missing \"event\"");
  /* regex errors say where */
  refused("{\"decoders\":[{\"name\":\"n\",\"pattern\":\"^ab(c\",\"event\":{\"event_code\":\"C\","
          "\"outcome\":0}}]}",
          PA_RULE, "decoders[0].pattern: regex error at offset 5: missing closing parenthesis");
  refused("{\"decoders\":[{\"name\":\"n\",\"pattern\":\"x\",\"program_regex\":\"[z-a]\","
          "\"event\":{\"event_code\":\"C\",\"outcome\":0}}]}",
          PA_RULE, "decoders[0].program_regex: regex error at offset 3: range out of order");
  /* the second decoder is bad: the first is not kept either */
  refused("{\"decoders\":[{\"name\":\"a\",\"pattern\":\"x\",\"event\":{\"event_code\":\"C\","
          "\"outcome\":0}},{\"name\":\"a\",\"pattern\":\"x\",\"event\":{\"event_code\":\"C\","
          "\"outcome\":0}}]}",
          PA_RULE, "decoders[1].name: a decoder of that name is already loaded");
}

static void test_load_errors_and_limits(void **state)
{
  (void)state;
  pa_decoders *d = pa_decoders_new();
  pa_decoders_scratch *s = pa_decoders_scratch_new();
  struct pa_err e;
  const char *ok = "{\"description\":\"site\",\"decoders\":[{\"name\":\"evil\",\"pattern\":"
                   "\"^(a+)+$\",\"event\":{\"event_code\":\"X\",\"outcome\":0}}]}";

  pa_err_clear(&e);
  assert_int_equal(pa_decoders_load_file(d, "/nonexistent/x.json", &e), PA_IO);
  assert_non_null(strstr(e.msg, "/nonexistent/x.json"));
  assert_int_equal(pa_decoders_load_dir(d, "/nonexistent", &e), PA_IO);
  assert_int_equal(pa_decoders_load_string(d, "evil.json", ok, strlen(ok), &e), PA_OK);
  assert_int_equal(pa_decoders_count(d), 1);
  /* the same name again, from another file */
  assert_int_equal(pa_decoders_load_string(d, "again.json", ok, strlen(ok), &e), PA_RULE);
  assert_int_equal(pa_decoders_count(d), 1);

  /* catastrophic backtracking stops at the match limit */
  char line[128];
  snprintf(line, sizeof line, "<13>1 - h a - - - %s", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab");
  struct pa_syslog_msg m;
  struct pa_event ev;
  struct pa_decoded info;
  assert_int_equal(pa_syslog_parse((const uint8_t *)line, strlen(line), NULL, &m, &e), PA_OK);
  assert_int_equal(pa_decoders_match(d, &m, s, &ev, &info, &e), PA_LIMIT);
  assert_non_null(strstr(e.msg, "evil"));
  assert_false(info.matched);

  /* a capture longer than PA_DECODER_MAX_FIELD is refused, not cut (two
   * ids that differ past the cut would become one); at the cap it is kept */
  pa_decoders *d2 = pa_decoders_new();
  const char *cut = "{\"decoders\":[{\"name\":\"long\",\"pattern\":\"^(?<u>x+)\",\"event\":{"
                    "\"event_code\":\"X\",\"outcome\":0,\"fields\":{\"user_id\":\"u\"}}}]}";
  assert_int_equal(pa_decoders_load_string(d2, "cut.json", cut, strlen(cut), &e), PA_OK);
  char *big = malloc(3000);
  memcpy(big, "<13>1 - h a - - - ", 18);
  memset(big + 18, 'x', 2000);
  assert_int_equal(pa_syslog_parse((const uint8_t *)big, 2018, NULL, &m, &e), PA_OK);
  assert_int_equal(pa_decoders_match(d2, &m, s, &ev, &info, &e), PA_MALFORMED);
  assert_string_equal(e.msg, "decoder long: user_id is 2000 bytes, more than 1024");
  assert_false(info.matched);
  assert_int_equal(pa_syslog_parse((const uint8_t *)big, 18 + PA_DECODER_MAX_FIELD, NULL, &m, &e),
                   PA_OK);
  assert_int_equal(pa_decoders_match(d2, &m, s, &ev, &info, &e), PA_OK);
  assert_true(info.matched);
  assert_int_equal(strlen(ev.user_id), PA_DECODER_MAX_FIELD);
  free(big);
  pa_decoders_free(d2);
  pa_decoders_scratch_free(s);
  pa_decoders_free(d);
  pa_decoders_free(NULL);
  pa_decoders_scratch_free(NULL);
}

/* fixtures/syslog/auth.log and its gzip-rotated predecessor, line by line:
 * how many of each decoder fire. */
static void count_file(pa_decoders *d, const char *path, int64_t ref, size_t *lines, size_t *fail,
                       size_t *ok, size_t *logout, size_t *sudo)
{
  gzFile z = gzopen(path, "rb");
  static uint8_t buf[16384];
  int n;
  struct pa_syslog_framer f;
  struct pa_syslog_frame fr;
  struct pa_syslog_opts o;
  struct pa_err e;
  pa_decoders_scratch *s = pa_decoders_scratch_new();
  pa_rc rc;

  assert_non_null(z);
  pa_syslog_opts_init(&o, ref, "Asia/Tokyo");
  pa_syslog_framer_init(&f, 0, PA_SYSLOG_FRAMING_AUTO | PA_SYSLOG_FRAMING_JOIN);
  for (int eof = 0; !eof;) {
    n = gzread(z, buf, sizeof buf);
    assert_true(n >= 0);
    if (n == 0) {
      pa_syslog_framer_end(&f);
      eof = 1;
    } else {
      assert_int_equal(pa_syslog_framer_feed(&f, buf, (size_t)n), PA_OK);
    }
    while ((rc = pa_syslog_framer_next(&f, &fr, &e)) != PA_NEED_MORE) {
      struct pa_syslog_msg m;
      struct pa_event ev;
      struct pa_decoded info;
      assert_int_equal(rc, PA_OK);
      assert_int_equal(pa_syslog_parse(fr.p, fr.len, &o, &m, &e), PA_OK);
      assert_true(m.flags & PA_SYSLOG_F_YEAR_INFERRED);
      (*lines)++;
      assert_int_equal(pa_decoders_match(d, &m, s, &ev, &info, &e), PA_OK);
      if (!info.matched)
        continue;
      if (!strcmp(ev.event_code, "SYSLOG:sudo"))
        (*sudo)++;
      else if (info.event_type && !strcmp(info.event_type, "DCM:110123"))
        (*logout)++;
      else if (ev.outcome == 0)
        (*ok)++;
      else
        (*fail)++;
    }
  }
  gzclose(z);
  pa_syslog_framer_cleanup(&f);
  pa_decoders_scratch_free(s);
}

static void test_auth_log_fixtures(void **state)
{
  char path[512];
  size_t lines = 0, fail = 0, ok = 0, logout = 0, sudo = 0;
  if (!getenv("PA_FIXTURES")) {
    skip();
    return;
  }
  /* mtime-like reference: 2024-01-12 18:00 Tokyo */
  pa_test_fixture_path(path, sizeof path, "syslog/auth.log");
  count_file(*state, path, 1705050000000000LL, &lines, &fail, &ok, &logout, &sudo);
  assert_int_equal(lines, 17);
  /* Invalid user + 2 Failed; pam sudo auth; sudo denied counts as sudo */
  assert_int_equal(fail, 4);
  assert_int_equal(ok, 2);     /* sshd Accepted, su session opened */
  assert_int_equal(logout, 2); /* sshd Disconnected, su session closed */
  assert_int_equal(sudo, 2);
  /* the rotated log spans new year: read with a reference in January */
  lines = fail = ok = logout = sudo = 0;
  pa_test_fixture_path(path, sizeof path, "syslog/auth.log.1.gz");
  count_file(*state, path, 1704067800000000LL, &lines, &fail, &ok, &logout, &sudo);
  assert_int_equal(lines, 4);
  assert_int_equal(fail, 2);
  assert_int_equal(ok, 1);
  assert_int_equal(logout, 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_builtin_count, setup, teardown),
    cmocka_unit_test_setup_teardown(test_sshd, setup, teardown),
    cmocka_unit_test_setup_teardown(test_sshd_auth_method, setup, teardown),
    cmocka_unit_test_setup_teardown(test_sshd_same_try, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pam_sudo, setup, teardown),
    cmocka_unit_test_setup_teardown(test_keycloak, setup, teardown),
    cmocka_unit_test_setup_teardown(test_no_header_time, setup, teardown),
    cmocka_unit_test_setup_teardown(test_auth_log_fixtures, setup, teardown),
    cmocka_unit_test(test_bad_json),
    cmocka_unit_test(test_load_errors_and_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
