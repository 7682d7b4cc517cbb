/* test_syslog.c — RFC 5424 / RFC 3164 parsing, year inference, RFC 6587
 * framing (split at every byte), resync, the file-mode line joiner, body
 * sniffing, and the shared corpus when it is present. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analyzer/limits.h"
#include "analyzer/tm.h"
#include "collectors/syslog.h"
#include "tests/unit/pa_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* syslog/name in the shared corpus (see pa_test_corpus_path). */
static const char *corpus(const char *name)
{
  static char path[1024];
  char rel[512];
  snprintf(rel, sizeof rel, "syslog/%s", name);
  pa_test_corpus_path(path, sizeof path, rel);
  return path;
}

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
  int64_t us;
  assert_int_equal(pa_time_from_utc(y, mo, d, h, mi, s, 0, &us), PA_OK);
  return us;
}

static void assert_str(struct pa_syslog_str s, const char *want)
{
  if (!want) {
    assert_null(s.p);
    return;
  }
  assert_non_null(s.p);
  if (s.len != strlen(want) || memcmp(s.p, want, s.len) != 0)
    fail_msg("got [%.*s] want [%s]", (int)s.len, (const char *)s.p, want);
}

static pa_rc parse(const char *s, struct pa_syslog_msg *m, struct pa_err *e)
{
  struct pa_syslog_opts o;
  /* reference: 2023-11-14T22:13:20Z, read in Tokyo */
  pa_syslog_opts_init(&o, 1700000000000000LL, "Asia/Tokyo");
  pa_err_clear(e);
  return pa_syslog_parse((const uint8_t *)s, strlen(s), &o, m, e);
}

/* ---- RFC 5424 ----------------------------------------------------------- */

static void test_5424_examples(void **state)
{
  (void)state;
  struct pa_syslog_msg m;
  struct pa_err e;

  /* RFC 5424 §6.5 ex.1 with the real BOM bytes */
  assert_int_equal(parse("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
                         "\xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8",
                         &m, &e),
                   PA_OK);
  assert_int_equal(m.format, PA_SYSLOG_RFC5424);
  assert_int_equal(m.pri, 34);
  assert_int_equal(m.facility, 4);
  assert_int_equal(m.severity, 2);
  assert_int_equal(m.version, 1);
  assert_true(m.has_ts);
  assert_int_equal(m.ts, utc(2003, 10, 11, 22, 14, 15) + 3000);
  assert_str(m.ts_raw, "2003-10-11T22:14:15.003Z");
  assert_str(m.hostname, "mymachine.example.com");
  assert_str(m.app_name, "su");
  assert_str(m.procid, NULL);
  assert_str(m.msgid, "ID47");
  assert_str(m.sd, NULL);
  assert_int_equal(m.bom, 1);
  assert_str(m.msg, "'su root' failed for lonvick on /dev/pts/8");
  assert_int_equal(m.flags, 0);

  /* ex.2: 6-digit fraction and -07:00, no BOM */
  assert_int_equal(parse("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - "
                         "%% It's time to make the do-nuts.",
                         &m, &e),
                   PA_OK);
  assert_int_equal(m.ts, utc(2003, 8, 24, 12, 14, 15) + 3);
  assert_str(m.procid, "8710");
  assert_str(m.msgid, NULL);
  assert_int_equal(m.bom, 0);
  assert_str(m.msg, "%% It's time to make the do-nuts.");

  /* ex.4: SD only, no MSG */
  assert_int_equal(parse("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
                         "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" "
                         "eventID=\"1011\"][examplePriority@32473 class=\"high\"]",
                         &m, &e),
                   PA_OK);
  assert_int_equal(m.sd_count, 2);
  assert_str(m.sd, "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
                   "[examplePriority@32473 class=\"high\"]");
  assert_non_null(m.msg.p);
  assert_int_equal(m.msg.len, 0);
}

static void test_5424_sd_escapes_bom_multiline(void **state)
{
  (void)state;
  struct pa_syslog_msg m;
  struct pa_err e;

  /* PARAM-VALUE with \" \\ \] and a literal "\x"; "]" and " " inside quotes */
  assert_int_equal(parse("<85>1 2024-01-02T03:04:05+09:00 h a 1 m "
                         "[x@1 q=\"a\\\"b\" s=\"c\\\\\" r=\"d\\]e]\" k=\"\\x y\"][y@2] "
                         "\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<AuditMessage>\n</AuditMessage>\n",
                         &m, &e),
                   PA_OK);
  assert_int_equal(m.sd_count, 2);
  assert_str(m.sd, "[x@1 q=\"a\\\"b\" s=\"c\\\\\" r=\"d\\]e]\" k=\"\\x y\"][y@2]");
  assert_int_equal(m.bom, 1);
  assert_str(m.msg, "<?xml version=\"1.0\"?>\n<AuditMessage>\n</AuditMessage>");
  assert_true(m.flags & PA_SYSLOG_F_TRAILER);
  assert_int_equal(m.ts, utc(2024, 1, 1, 18, 4, 5));
  assert_int_equal(pa_syslog_body_kind(m.msg.p, m.msg.len), PA_SYSLOG_BODY_ATNA_XML);

  /* nil timestamp; SD then end; SP then empty MSG */
  assert_int_equal(parse("<0>1 - - - - - -", &m, &e), PA_OK);
  assert_false(m.has_ts);
  assert_true(m.flags & PA_SYSLOG_F_NO_TS);
  assert_str(m.hostname, NULL);
  assert_int_equal(m.msg.len, 0);
  assert_int_equal(parse("<0>1 - - - - - - ", &m, &e), PA_OK);
  assert_int_equal(m.msg.len, 0);

  /* zone-less and leap second: tolerated, flagged */
  assert_int_equal(parse("<13>1 2016-12-31T23:59:60Z h a - - - x", &m, &e), PA_OK);
  assert_true(m.flags & PA_SYSLOG_F_LEAP_SECOND);
  assert_int_equal(m.ts, utc(2016, 12, 31, 23, 59, 59));
  assert_int_equal(parse("<13>1 2024-01-02T03:04:05 h a - - - x", &m, &e), PA_OK);
  assert_true(m.flags & PA_SYSLOG_F_TS_NO_ZONE);
  assert_int_equal(m.ts, utc(2024, 1, 1, 18, 4, 5));
  /* a bad date keeps the message */
  assert_int_equal(parse("<13>1 2024-13-02T03:04:05Z h a - - - x", &m, &e), PA_OK);
  assert_true(m.flags & PA_SYSLOG_F_BAD_TS);
  assert_false(m.has_ts);
  assert_str(m.hostname, "h");
  /* CRLF trailer */
  assert_int_equal(parse("<13>1 - h a - - - x\r\n", &m, &e), PA_OK);
  assert_str(m.msg, "x");
  /* a long APP-NAME is accepted and flagged */
  assert_int_equal(parse("<13>1 - h aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa - - - x",
                         &m, &e),
                   PA_OK);
  assert_true(m.flags & PA_SYSLOG_F_LONG_FIELD);
}

static void test_5424_malformed(void **state)
{
  (void)state;
  static const struct {
    const char *in;
    pa_rc rc;
    size_t off;
  } t[] = {
    {"<13>1 - h a - -", PA_MALFORMED, 15},                 /* no SD */
    {"<13>1 - h a -", PA_MALFORMED, 13},                   /* header ends before MSGID */
    {"<13>1 - h  a - - - x", PA_MALFORMED, 10},            /* double SP */
    {"<13>1 - h a - - x", PA_MALFORMED, 16},               /* SD neither - nor [ */
    {"<13>1 - h a - - [x a=\"1\"", PA_MALFORMED, 24},      /* unterminated element */
    {"<13>1 - h a - - [x a=\"1]", PA_MALFORMED, 24},       /* unterminated value */
    {"<13>1 - h a - - [x a= \"1\"]", PA_MALFORMED, 21},    /* rsyslog's "= \"" */
    {"<13>1 - h a - - [x a]", PA_MALFORMED, 20},           /* no = */
    {"<13>1 - h a - - []", PA_MALFORMED, 17},              /* empty SD-ID */
    {"<13>1 - h a - - [x]y", PA_MALFORMED, 19},            /* no SP after SD */
    {"<13>1 - h a\x01 - - - x", PA_MALFORMED, 11},         /* control byte */
    {"", PA_MALFORMED, 0},
    {"\n", PA_MALFORMED, 0},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    struct pa_syslog_msg m;
    struct pa_err e;
    pa_rc rc = parse(t[i].in, &m, &e);
    if (rc != t[i].rc || e.offset != t[i].off)
      fail_msg("%zu [%s]: rc %d off %llu (%s)", i, t[i].in, rc, (unsigned long long)e.offset,
               e.msg);
  }

  /* the rest is kept for quarantine */
  struct pa_syslog_msg m;
  struct pa_err e;
  assert_int_equal(parse("<13>1 - h a - - [x a= \"1\"] body", &m, &e), PA_MALFORMED);
  assert_str(m.hostname, "h");
  assert_str(m.msg, "[x a= \"1\"] body");

  /* SD element cap */
  char buf[2048];
  size_t n = (size_t)snprintf(buf, sizeof buf, "<13>1 - h a - - ");
  for (int i = 0; i <= PA_SYSLOG_MAX_SD_ELEMS; i++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, "[e%d]", i);
  assert_int_equal(parse(buf, &m, &e), PA_LIMIT);
  assert_int_equal(m.sd_count, PA_SYSLOG_MAX_SD_ELEMS);

  /* over-long HOSTNAME */
  n = (size_t)snprintf(buf, sizeof buf, "<13>1 - ");
  memset(buf + n, 'h', 300);
  snprintf(buf + n + 300, sizeof buf - n - 300, " a - - - x");
  assert_int_equal(parse(buf, &m, &e), PA_LIMIT);
}

/* ---- RFC 3164 ----------------------------------------------------------- */

struct v3164 {
  const char *in;
  int pri;
  const char *host, *tag, *pid, *msg;
  int64_t ts; /* 0: no timestamp */
  unsigned flags_set;
};

static void test_3164_variants(void **state)
{
  (void)state;
  /* Tokyo is UTC+9; the reference is 2023-11-14, so a year-less stamp is 2023. */
  const int64_t H = 3600LL * 1000000;
  const struct v3164 t[] = {
    {"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", 34,
     "mymachine", "su", NULL, "'su root' failed for lonvick on /dev/pts/8",
     utc(2023, 10, 11, 22, 14, 15) - 9 * H, PA_SYSLOG_F_YEAR_INFERRED | PA_SYSLOG_F_TS_NO_ZONE},
    /* no PRI at all, CRLF */
    {"Oct 11 22:14:15 mymachine sshd[123]: Accepted\r\n", -1, "mymachine", "sshd", "123",
     "Accepted", utc(2023, 10, 11, 13, 14, 15), PA_SYSLOG_F_NO_PRI | PA_SYSLOG_F_TRAILER},
    /* no timestamp: all content */
    {"Use the BFG!", -1, NULL, NULL, NULL, "Use the BFG!", 0,
     PA_SYSLOG_F_NO_PRI | PA_SYSLOG_F_NO_TS | PA_SYSLOG_F_NO_TAG},
    {"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!", 13, "10.0.0.99", NULL, NULL, "Use the BFG!",
     utc(2023, 2, 5, 8, 32, 18), PA_SYSLOG_F_NO_TAG},
    /* zone and year in what RFC 3164 calls content */
    {"<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% do-nuts %%", 165, "mymachine",
     "myproc", "10", "%% do-nuts %%", utc(1987, 8, 23, 20, 34, 0),
     PA_SYSLOG_F_ZONE_IGNORED | PA_SYSLOG_F_TS_YEAR},
    /* year first, TZ-6 */
    {"<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org sched[0]: That's All Folks!", 0,
     "scapegoat.dmz.example.org", "sched", "0", "That's All Folks!", utc(1990, 10, 22, 1, 52, 1),
     PA_SYSLOG_F_ZONE_IGNORED | PA_SYSLOG_F_TS_YEAR},
    /* padded and unpadded day, space after PRI */
    {"<38> Mar  7 19:06:53 example tag: testmessage", 38, "example", "tag", NULL, "testmessage",
     utc(2023, 3, 7, 10, 6, 53), PA_SYSLOG_F_SP_AFTER_PRI},
    {"<38>Mar 7 19:06:53 example tag: testmessage", 38, "example", "tag", NULL, "testmessage",
     utc(2023, 3, 7, 10, 6, 53), PA_SYSLOG_F_TS_ODD},
    /* year inside the stamp, trailing colon */
    {"<38>Mar 7 2008 19:06:53: example tag: testmessage", 38, "example", "tag", NULL,
     "testmessage", utc(2008, 3, 7, 10, 6, 53), PA_SYSLOG_F_TS_YEAR | PA_SYSLOG_F_TS_ODD},
    {"<38>Mar 7 2008 19:06:53 example tag: testmessage", 38, "example", "tag", NULL,
     "testmessage", utc(2008, 3, 7, 10, 6, 53), PA_SYSLOG_F_TS_YEAR},
    {"<38>Mar 7 19:06:53: example tag: testmessage", 38, "example", "tag", NULL, "testmessage",
     utc(2023, 3, 7, 10, 6, 53), PA_SYSLOG_F_TS_ODD},
    /* upper-case month; year after the time */
    {"<6>AUG 10 22:18:24 host tag: 8-bit \xC3\xA4\xC3\xB6", 6, "host", "tag", NULL,
     "8-bit \xC3\xA4\xC3\xB6", utc(2023, 8, 10, 13, 18, 24), PA_SYSLOG_F_TS_ODD},
    {"<6>AUG 10 22:18:24 2009  netips-warden2-p [audit] user=[*SMS]", 6, "netips-warden2-p",
     NULL, NULL, "[audit] user=[*SMS]", utc(2009, 8, 10, 13, 18, 24), PA_SYSLOG_F_TS_YEAR},
    /* RFC 3339 stamp without VERSION */
    {"<14>2010-08-30T23:00:05Z X4711 AAAA", 14, "X4711", NULL, NULL, "AAAA",
     utc(2010, 8, 30, 23, 0, 5), PA_SYSLOG_F_TS_RFC3339},
    {"<14>2010-08-30T23:00:05Z", 14, NULL, NULL, NULL, "", utc(2010, 8, 30, 23, 0, 5),
     PA_SYSLOG_F_TS_RFC3339},
    /* missing hostname: the first token is the TAG */
    {"<13>Oct 11 22:14:15 sshd[4242]: Failed password", 13, NULL, "sshd", "4242",
     "Failed password", utc(2023, 10, 11, 13, 14, 15), PA_SYSLOG_F_NO_HOSTNAME},
    {"<13>Oct 11 22:14:15 su: x", 13, NULL, "su", NULL, "x", utc(2023, 10, 11, 13, 14, 15),
     PA_SYSLOG_F_NO_HOSTNAME},
    /* IP host, Cisco tag; invalid IP kept as sent */
    {"<167>Mar  6 16:57:54 172.20.245.8 %PIX-7-710005: UDP request", 167, "172.20.245.8",
     "%PIX-7-710005", NULL, "UDP request", utc(2023, 3, 6, 7, 57, 54), 0},
    {"<131>Oct  8 23:05:06 10.321.1.123 05\",result_code=200,b", 131, "10.321.1.123", NULL,
     NULL, "05\",result_code=200,b", utc(2023, 10, 8, 14, 5, 6), PA_SYSLOG_F_NO_TAG},
    /* tags with parentheses, over 32 chars, MARK */
    {"<38>Mar 27 19:06:53 source_server sshd(pam_unix)[12750]: session opened for user foo", 38,
     "source_server", "sshd(pam_unix)", "12750", "session opened for user foo",
     utc(2023, 3, 27, 10, 6, 53), 0},
    {"<38>Mar 27 19:06:53 s 0123456789012345678901234567890123456789: MSG part", 38, "s",
     "0123456789012345678901234567890123456789", NULL, "MSG part", utc(2023, 3, 27, 10, 6, 53),
     PA_SYSLOG_F_LONG_TAG},
    {"<6>Feb 18 16:01:59 serverX -- MARK --", 6, "serverX", NULL, NULL, "-- MARK --",
     utc(2023, 2, 18, 7, 1, 59), PA_SYSLOG_F_NO_TAG},
    /* empty and near-empty */
    {"<14>Aug 30 23:00:05 X4711 ", 14, "X4711", NULL, NULL, "", utc(2023, 8, 30, 14, 0, 5), 0},
    {"<14>Aug 30 23:00:05", 14, NULL, NULL, NULL, "", utc(2023, 8, 30, 14, 0, 5), 0},
    /* UTC zone name is honoured */
    {"<14>Aug 30 23:00:05 UTC host app: x", 14, "host", "app", NULL, "x",
     utc(2023, 8, 30, 23, 0, 5), 0},
    /* bad PRI: content */
    {"<192>Oct 11 22:14:15 h a: x", -1, NULL, NULL, NULL, "<192>Oct 11 22:14:15 h a: x", 0,
     PA_SYSLOG_F_BAD_PRI | PA_SYSLOG_F_NO_TS},
    /* fractional seconds */
    {"<14>Aug 30 23:00:05.250 h a: x", 14, "h", "a", NULL, "x",
     utc(2023, 8, 30, 14, 0, 5) + 250000, PA_SYSLOG_F_TS_ODD},
    /* Snare tab-escaped */
    {"<141>Mar 10 09:30:20 zuse.xysystems.local MSWinEventLog#0111#011Security", 141,
     "zuse.xysystems.local", NULL, NULL, "MSWinEventLog#0111#011Security",
     utc(2023, 3, 10, 0, 30, 20), PA_SYSLOG_F_NO_TAG},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    struct pa_syslog_msg m;
    struct pa_err e;
    if (parse(t[i].in, &m, &e) != PA_OK)
      fail_msg("%zu: %s", i, e.msg);
    if (m.format != PA_SYSLOG_RFC3164 || m.pri != t[i].pri)
      fail_msg("%zu: format %d pri %d", i, m.format, m.pri);
    assert_str(m.hostname, t[i].host);
    assert_str(m.app_name, t[i].tag);
    assert_str(m.procid, t[i].pid);
    assert_str(m.msg, t[i].msg);
    if (t[i].ts) {
      if (!m.has_ts || m.ts != t[i].ts)
        fail_msg("%zu: ts %lld want %lld", i, (long long)m.ts, (long long)t[i].ts);
    } else {
      assert_false(m.has_ts);
    }
    if ((m.flags & t[i].flags_set) != t[i].flags_set)
      fail_msg("%zu: flags %#x lack %#x", i, m.flags, t[i].flags_set);
  }
}

static void test_year_inference(void **state)
{
  (void)state;
  struct pa_syslog_opts o;
  int64_t us;
  int inf;

  /* read on 2024-01-05 10:00 Tokyo */
  pa_syslog_opts_init(&o, utc(2024, 1, 5, 1, 0, 0), "Asia/Tokyo");
  assert_int_equal(o.ref_year, 2024);
  assert_int_equal(pa_syslog_3164_time(0, 12, 31, 23, 59, 59, 0, &o, &us, &inf), PA_OK);
  assert_int_equal(us, utc(2023, 12, 31, 14, 59, 59));
  assert_int_equal(inf, 1);
  assert_int_equal(pa_syslog_3164_time(0, 1, 4, 12, 0, 0, 0, &o, &us, &inf), PA_OK);
  assert_int_equal(us, utc(2024, 1, 4, 3, 0, 0));
  /* up to ~31 days ahead stays in the reference year (clock skew, late mtime) */
  assert_int_equal(pa_syslog_3164_time(0, 2, 4, 0, 0, 0, 0, &o, &us, &inf), PA_OK);
  assert_int_equal(us, utc(2024, 2, 3, 15, 0, 0));
  assert_int_equal(pa_syslog_3164_time(0, 2, 10, 0, 0, 0, 0, &o, &us, &inf), PA_OK);
  assert_int_equal(us, utc(2023, 2, 9, 15, 0, 0));

  /* the reference year is the year in the zone: 2023-12-31T20:00Z is 2024 in Tokyo */
  pa_syslog_opts_init(&o, utc(2023, 12, 31, 20, 0, 0), "Asia/Tokyo");
  assert_int_equal(o.ref_year, 2024);
  assert_int_equal(pa_syslog_3164_time(0, 1, 1, 4, 0, 0, 0, &o, &us, &inf), PA_OK);
  assert_int_equal(us, utc(2023, 12, 31, 19, 0, 0));
  pa_syslog_opts_init(&o, utc(2023, 12, 31, 20, 0, 0), "UTC");
  assert_int_equal(o.ref_year, 2023);
  assert_int_equal(pa_syslog_3164_time(0, 1, 1, 4, 0, 0, 0, &o, &us, &inf), PA_OK);
  assert_int_equal(us, utc(2023, 1, 1, 4, 0, 0));

  /* Feb 29 walks back to a leap year */
  pa_syslog_opts_init(&o, utc(2025, 3, 1, 0, 0, 0), "UTC");
  assert_int_equal(pa_syslog_3164_time(0, 2, 29, 1, 2, 3, 0, &o, &us, &inf), PA_OK);
  assert_int_equal(us, utc(2024, 2, 29, 1, 2, 3));
  /* impossible dates */
  assert_int_equal(pa_syslog_3164_time(0, 2, 30, 1, 2, 3, 0, &o, &us, &inf), PA_MALFORMED);
  assert_int_equal(pa_syslog_3164_time(0, 4, 31, 1, 2, 3, 0, &o, &us, &inf), PA_MALFORMED);

  /* through the parser: a December line in a file written in January */
  struct pa_syslog_msg m;
  struct pa_err e;
  const char *line = "<13>Dec 31 23:59:59 h a: x";
  pa_syslog_opts_init(&o, utc(2024, 1, 1, 0, 30, 0), NULL); /* 09:30 Tokyo */
  assert_int_equal(pa_syslog_parse((const uint8_t *)line, strlen(line), &o, &m, &e), PA_OK);
  assert_int_equal(m.ts, utc(2023, 12, 31, 14, 59, 59));
  assert_true(m.flags & PA_SYSLOG_F_YEAR_INFERRED);
  /* an invalid day is kept as a message without time */
  line = "<13>Feb 31 23:59:59 h a: x";
  assert_int_equal(pa_syslog_parse((const uint8_t *)line, strlen(line), &o, &m, &e), PA_OK);
  assert_false(m.has_ts);
  assert_true(m.flags & PA_SYSLOG_F_BAD_TS);
  assert_str(m.hostname, "h");
}

/* ---- framing ------------------------------------------------------------ */

struct got {
  size_t n;
  char *frame[128];
  size_t len[128];
  pa_rc rc[128];
  unsigned flags[128];
  uint64_t off[128];
  unsigned lines[128];
};

static void got_free(struct got *g)
{
  for (size_t i = 0; i < g->n; i++)
    free(g->frame[i]);
  memset(g, 0, sizeof *g);
}

static void drain(struct pa_syslog_framer *f, struct got *g)
{
  struct pa_syslog_frame fr;
  struct pa_err e;
  pa_rc rc;
  while ((rc = pa_syslog_framer_next(f, &fr, &e)) != PA_NEED_MORE) {
    assert_true(rc == PA_OK || rc == PA_MALFORMED || rc == PA_LIMIT);
    assert_true(g->n < 128);
    g->frame[g->n] = malloc(fr.len + 1);
    memcpy(g->frame[g->n], fr.p, fr.len);
    g->frame[g->n][fr.len] = 0;
    g->len[g->n] = fr.len;
    g->rc[g->n] = rc;
    g->flags[g->n] = fr.flags;
    g->off[g->n] = fr.offset;
    g->lines[g->n] = fr.lines;
    g->n++;
  }
}

/* Feeds s in chunks cut at the given points (sorted, may be empty). */
static void frame_split(const uint8_t *s, size_t len, unsigned mode, size_t cap,
                        const size_t *cuts, size_t ncuts, struct got *g)
{
  struct pa_syslog_framer f;
  size_t at = 0;
  pa_syslog_framer_init(&f, cap, mode);
  memset(g, 0, sizeof *g);
  for (size_t i = 0; i <= ncuts; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    /* copy each chunk so a frame that points into an old chunk shows up under ASan */
    uint8_t *chunk = malloc(end - at + 1);
    memcpy(chunk, s + at, end - at);
    assert_int_equal(pa_syslog_framer_feed(&f, chunk, end - at), PA_OK);
    drain(&f, g);
    free(chunk);
    at = end;
  }
  pa_syslog_framer_end(&f);
  drain(&f, g);
  pa_syslog_framer_cleanup(&f);
}

static void frame_str(const char *s, unsigned mode, struct got *g)
{
  frame_split((const uint8_t *)s, strlen(s), mode, 0, NULL, 0, g);
}

static void same(const struct got *a, const struct got *b)
{
  assert_int_equal(a->n, b->n);
  for (size_t i = 0; i < a->n; i++) {
    assert_int_equal(a->len[i], b->len[i]);
    assert_memory_equal(a->frame[i], b->frame[i], a->len[i]);
    assert_int_equal(a->rc[i], b->rc[i]);
    assert_int_equal(a->off[i], b->off[i]);
    assert_int_equal(a->flags[i], b->flags[i]);
  }
}

/* Every split point, and every pair of split points, gives the same frames. */
static void every_split(const uint8_t *s, size_t len, unsigned mode, size_t cap,
                        const struct got *want, int pairs)
{
  struct got g;
  for (size_t c = 0; c <= len; c++) {
    frame_split(s, len, mode, cap, &c, 1, &g);
    same(want, &g);
    got_free(&g);
    if (!pairs)
      continue;
    for (size_t d = c; d <= len; d += 3) {
      size_t cuts[2] = {c, d};
      frame_split(s, len, mode, cap, cuts, 2, &g);
      same(want, &g);
      got_free(&g);
    }
  }
  /* byte by byte */
  size_t *cuts = malloc((len + 1) * sizeof *cuts);
  for (size_t c = 0; c < len; c++)
    cuts[c] = c + 1;
  frame_split(s, len, mode, cap, cuts, len ? len - 1 : 0, &g);
  same(want, &g);
  got_free(&g);
  free(cuts);
}

static void test_octet_counting(void **state)
{
  (void)state;
  /* three frames, the second with an LF inside and a stray LF after it */
  const char *m1 = "<13>1 - h a - - x", *m2 = "<13>1 - h a - - a\nb", *m3 = "<13>1 - h a - - ";
  char s[256];
  struct got g;
  int n = snprintf(s, sizeof s, "%zu %s%zu %s\n%zu %s", strlen(m1), m1, strlen(m2), m2,
                   strlen(m3), m3);

  frame_str(s, PA_SYSLOG_FRAMING_AUTO, &g);
  assert_int_equal(g.n, 3);
  assert_string_equal(g.frame[0], m1);
  assert_int_equal(g.off[0], 3);
  assert_string_equal(g.frame[1], m2);
  assert_int_equal(g.off[1], 3 + strlen(m1) + 3);
  assert_string_equal(g.frame[2], m3);
  assert_int_equal(g.off[2], 3 + strlen(m1) + 3 + strlen(m2) + 1 + 3);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(g.rc[i], PA_OK);
    assert_int_equal(g.flags[i], 0);
  }
  every_split((const uint8_t *)s, (size_t)n, PA_SYSLOG_FRAMING_AUTO, 0, &g, 1);
  every_split((const uint8_t *)s, (size_t)n, PA_SYSLOG_FRAMING_OCTET, 0, &g, 1);
  got_free(&g);
}

static void test_lf_crlf_nul(void **state)
{
  (void)state;
  const char s[] = "<13>a\n<13>b\r\n\n\r\n<13>c\0<13>d\n<13>e"; /* e: no trailer */
  struct got g;
  frame_split((const uint8_t *)s, sizeof s - 1, PA_SYSLOG_FRAMING_AUTO, 0, NULL, 0, &g);
  assert_int_equal(g.n, 5);
  assert_string_equal(g.frame[0], "<13>a");
  assert_string_equal(g.frame[1], "<13>b");
  assert_string_equal(g.frame[2], "<13>c");
  assert_string_equal(g.frame[3], "<13>d");
  assert_string_equal(g.frame[4], "<13>e");
  assert_int_equal(g.off[2], 16);
  assert_true(g.flags[4] & PA_SYSLOG_FRAME_F_NO_TRAILER);
  every_split((const uint8_t *)s, sizeof s - 1, PA_SYSLOG_FRAMING_AUTO, 0, &g, 1);
  every_split((const uint8_t *)s, sizeof s - 1, PA_SYSLOG_FRAMING_LF, 0, &g, 1);
  got_free(&g);
}

static void test_fallback_and_resync(void **state)
{
  (void)state;
  struct got g;

  /* leading zero and over-long counts in an LF stream: LF frames (OpenBSD) */
  frame_str("000002 ab\n99999999999 <13>x\n5 <13>y\n", PA_SYSLOG_FRAMING_AUTO, &g);
  assert_int_equal(g.n, 3);
  assert_string_equal(g.frame[0], "000002 ab");
  assert_true(g.flags[0] & PA_SYSLOG_FRAME_F_FALLBACK);
  assert_string_equal(g.frame[1], "99999999999 <13>x");
  assert_true(g.flags[1] & PA_SYSLOG_FRAME_F_FALLBACK);
  assert_string_equal(g.frame[2], "<13>y");
  assert_int_equal(g.rc[2], PA_OK);
  got_free(&g);

  /* no-PRI lines that start with a number are not octet counts */
  frame_str("1990 Oct 22 10:52:01 TZ-6 h x\n2 <13>ab", PA_SYSLOG_FRAMING_AUTO, &g);
  assert_int_equal(g.n, 3);
  assert_string_equal(g.frame[0], "1990 Oct 22 10:52:01 TZ-6 h x");
  assert_true(g.flags[0] & PA_SYSLOG_FRAME_F_FALLBACK); /* digits SP: could have been a count */
  assert_string_equal(g.frame[1], "<1"); /* a 2-byte octet frame ... */
  assert_string_equal(g.frame[2], "3>ab"); /* ... then garbage in what is now an octet stream */
  assert_int_equal(g.rc[2], PA_MALFORMED);
  got_free(&g);

  /* in an octet stream, garbage is reported and the next good frame survives */
  const char *s = "5 <13>agarbage!7 <13>bcd9999999 <13>zz\n3 <1>3 <2>";
  frame_str(s, PA_SYSLOG_FRAMING_AUTO, &g);
  assert_int_equal(g.n, 6);
  assert_string_equal(g.frame[0], "<13>a");
  assert_string_equal(g.frame[1], "garbage!");
  assert_int_equal(g.rc[1], PA_MALFORMED);
  assert_true(g.flags[1] & PA_SYSLOG_FRAME_F_RESYNC);
  assert_string_equal(g.frame[2], "<13>bcd");
  assert_int_equal(g.rc[2], PA_OK);
  assert_string_equal(g.frame[3], "9999999 <13>zz"); /* over the cap: skipped to LF */
  assert_int_equal(g.rc[3], PA_LIMIT);
  assert_string_equal(g.frame[4], "<1>");
  assert_string_equal(g.frame[5], "<2>");
  every_split((const uint8_t *)s, strlen(s), PA_SYSLOG_FRAMING_AUTO, 0, &g, 1);
  got_free(&g);

  /* strict octet mode: an LF-framed message is garbage, resync on the count */
  s = "<13>lf message\n4 <1>x";
  frame_str(s, PA_SYSLOG_FRAMING_OCTET, &g);
  assert_int_equal(g.n, 2);
  assert_int_equal(g.rc[0], PA_MALFORMED);
  assert_string_equal(g.frame[0], "<13>lf message");
  assert_string_equal(g.frame[1], "<1>x");
  got_free(&g);

  /* a frame cut by the end of the stream */
  frame_str("4 <1>x10 <13>abc", PA_SYSLOG_FRAMING_AUTO, &g);
  assert_int_equal(g.n, 2);
  assert_int_equal(g.rc[1], PA_MALFORMED);
  assert_true(g.flags[1] & PA_SYSLOG_FRAME_F_TRUNCATED);
  assert_string_equal(g.frame[1], "<13>abc");
  got_free(&g);
}

static void test_cap(void **state)
{
  (void)state;
  struct got g;
  /* cap 16: an LF line of 40 bytes is cut in pieces, the next line is intact */
  const char *s = "<13>0123456789abcdefghijklmnopqrstuvwxyzA\n<13>next\n";
  frame_split((const uint8_t *)s, strlen(s), PA_SYSLOG_FRAMING_AUTO, 16, NULL, 0, &g);
  assert_int_equal(g.n, 4);
  assert_int_equal(g.rc[0], PA_LIMIT);
  assert_true(g.flags[0] & PA_SYSLOG_FRAME_F_TRUNCATED);
  assert_int_equal(g.len[0], 16);
  assert_int_equal(g.rc[1], PA_LIMIT);
  assert_true(g.flags[1] & PA_SYSLOG_FRAME_F_CONT);
  assert_int_equal(g.rc[2], PA_LIMIT);
  assert_string_equal(g.frame[1], "cdefghijklmnopqr");
  assert_string_equal(g.frame[2], "stuvwxyzA");
  assert_string_equal(g.frame[3], "<13>next");
  assert_int_equal(g.rc[3], PA_OK);
  every_split((const uint8_t *)s, strlen(s), PA_SYSLOG_FRAMING_AUTO, 16, &g, 1);
  got_free(&g);

  /* octet count over the cap in an LF stream: LF fallback */
  frame_split((const uint8_t *)"20 <13>0123456789abcdef\n", 24, PA_SYSLOG_FRAMING_AUTO, 16,
              NULL, 0, &g);
  assert_true(g.n >= 1);
  assert_true(g.flags[0] & PA_SYSLOG_FRAME_F_FALLBACK);
  got_free(&g);
}

/* A long message that had to be gathered across reads leaves no buffer
 * behind once it is handed out: a listener keeps one framer per client. */
static void test_buffer_released(void **state)
{
  struct pa_syslog_framer f;
  struct pa_syslog_frame fr;
  size_t n = 200 * 1024;
  uint8_t *s = malloc(n + 1);
  (void)state;
  assert_non_null(s);
  memcpy(s, "<13>", 4);
  memset(s + 4, 'x', n - 4);
  s[n] = '\n';
  pa_syslog_framer_init(&f, 0, PA_SYSLOG_FRAMING_AUTO);
  assert_int_equal(pa_syslog_framer_feed(&f, s, n / 2), PA_OK);
  assert_int_equal(pa_syslog_framer_next(&f, &fr, NULL), PA_NEED_MORE);
  assert_true(f.acc.size >= n / 2); /* the first half, held */
  assert_int_equal(pa_syslog_framer_feed(&f, s + n / 2, n + 1 - n / 2), PA_OK);
  assert_int_equal(pa_syslog_framer_next(&f, &fr, NULL), PA_OK);
  assert_int_equal(fr.len, n);
  assert_int_equal(pa_syslog_framer_next(&f, &fr, NULL), PA_NEED_MORE);
  assert_int_equal(f.acc.size, 0);
  pa_syslog_framer_cleanup(&f);
  free(s);
}

static void test_joiner(void **state)
{
  (void)state;
  const char *s = "<85>1 2024-01-02T03:04:05Z h app 1 IHE+RFC-3881 - <?xml version=\"1.0\"?>\n"
                  "<AuditMessage>\n"
                  "\n"
                  "  <EventIdentification EventActionCode=\"E\"/>\n"
                  "</AuditMessage>\n"
                  "<86>1 2024-01-02T03:04:06Z h app 1 - - single\n"
                  "Jan  2 03:04:07 h sshd[1]: 3164 line\n"
                  "\tat java.lang.Thread.run(Thread.java:750)\n"
                  "2024-01-02T03:04:08Z h x: rfc3339 line\n"
                  "<AuditMessage/>";
  struct got g;
  frame_str(s, PA_SYSLOG_FRAMING_AUTO | PA_SYSLOG_FRAMING_JOIN, &g);
  assert_int_equal(g.n, 4);
  assert_string_equal(g.frame[0], "<85>1 2024-01-02T03:04:05Z h app 1 IHE+RFC-3881 - "
                                  "<?xml version=\"1.0\"?>\n<AuditMessage>\n\n"
                                  "  <EventIdentification EventActionCode=\"E\"/>\n"
                                  "</AuditMessage>");
  assert_int_equal(g.lines[0], 5);
  assert_string_equal(g.frame[1], "<86>1 2024-01-02T03:04:06Z h app 1 - - single");
  assert_string_equal(g.frame[2], "Jan  2 03:04:07 h sshd[1]: 3164 line\n"
                                  "\tat java.lang.Thread.run(Thread.java:750)");
  assert_string_equal(g.frame[3], "2024-01-02T03:04:08Z h x: rfc3339 line\n<AuditMessage/>");
  every_split((const uint8_t *)s, strlen(s), PA_SYSLOG_FRAMING_AUTO | PA_SYSLOG_FRAMING_JOIN, 0,
              &g, 1);
  got_free(&g);

  /* in a file, a NUL inside a line is a byte of it (one frame, not two), and
   * a line's leading NULs (a crash's padding) are passed over */
  {
    static const char nul[] = "<38>Dec  3 02:14:05 gw sshd[1]: Failed password for a\0x\n"
                              "\0\0\0<38>Dec  3 02:14:06 gw sshd[2]: Failed password for b\n";
    frame_split((const uint8_t *)nul, sizeof nul - 1,
                PA_SYSLOG_FRAMING_AUTO | PA_SYSLOG_FRAMING_JOIN, 0, NULL, 0, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.len[0], 55);
    assert_memory_equal(g.frame[0], nul, 55);
    assert_string_equal(g.frame[1], "<38>Dec  3 02:14:06 gw sshd[2]: Failed password for b");
    every_split((const uint8_t *)nul, sizeof nul - 1,
                PA_SYSLOG_FRAMING_AUTO | PA_SYSLOG_FRAMING_JOIN, 0, &g, 1);
    got_free(&g);
    /* on the wire, NUL is a trailer (RFC 6587) */
    frame_split((const uint8_t *)nul, sizeof nul - 1, PA_SYSLOG_FRAMING_LF, 0, NULL, 0, &g);
    assert_int_equal(g.n, 3);
    got_free(&g);
  }

  /* a file that starts mid-message */
  frame_str("</AuditMessage>\n<13>Jan  2 03:04:07 h a: x\n",
            PA_SYSLOG_FRAMING_LF | PA_SYSLOG_FRAMING_JOIN, &g);
  assert_int_equal(g.n, 2);
  assert_true(g.flags[0] & PA_SYSLOG_FRAME_F_ORPHAN);
  assert_false(g.flags[1] & PA_SYSLOG_FRAME_F_ORPHAN);
  got_free(&g);

  /* the header test itself */
  static const struct {
    const char *l;
    int want;
  } h[] = {
    {"<13>anything at all....", 1},    {"<1>", 1},
    {"<AuditMessage>.........", 0},   {"Jan  2 03:04:07 host x", 1},
    {"JAN 2 2024 03:04:07 host", 1},  {"2024-01-02T03:04:05Z host", 1},
    {"2024 Jan  2 03:04:05 host", 1}, {"  <ActiveParticipant ...", 0},
    {"January is a month......", 0}, {"12345678901234567890123", 0},
  };
  for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
    assert_int_equal(pa_syslog_line_is_header((const uint8_t *)h[i].l, strlen(h[i].l), 1),
                     h[i].want);
  assert_int_equal(pa_syslog_line_is_header((const uint8_t *)"<1", 2, 0), -1);
}

static void test_body_kind(void **state)
{
  (void)state;
  static const struct {
    const char *b;
    enum pa_syslog_body k;
  } t[] = {
    {"<?xml version=\"1.0\"?>\n<AuditMessage>", PA_SYSLOG_BODY_ATNA_XML},
    {"\xEF\xBB\xBF<?xml version=\"1.0\"?><!-- c --><AuditMessage xmlns:xsi=\"x\">",
     PA_SYSLOG_BODY_ATNA_XML},
    {"\n<?xml version=\"1.0\"?>\n<AuditMessage>", PA_SYSLOG_BODY_ATNA_XML},
    {"?<AuditMessage>", PA_SYSLOG_BODY_ATNA_XML},
    {"<ns:AuditMessage>", PA_SYSLOG_BODY_ATNA_XML},
    {"<AuditMessages>", PA_SYSLOG_BODY_TEXT},
    {"<IHEYr4>", PA_SYSLOG_BODY_IHE_YR4},
    {"<?xml version=\"1.0\"?><data>data</data>", PA_SYSLOG_BODY_XML_OTHER},
    {"<data>data</data>?>", PA_SYSLOG_BODY_TEXT},
    {" {\"resourceType\" : \"AuditEvent\"}", PA_SYSLOG_BODY_FHIR_JSON},
    {"{\"id\":1,\"resourceType\":\"Bundle\"}", PA_SYSLOG_BODY_FHIR_JSON},
    {"{\"resourceType\":\"Patient\"}", PA_SYSLOG_BODY_TEXT},
    {"Accepted password for bob", PA_SYSLOG_BODY_TEXT},
    {"", PA_SYSLOG_BODY_TEXT},
    {"<?xml", PA_SYSLOG_BODY_XML_OTHER},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (pa_syslog_body_kind((const uint8_t *)t[i].b, strlen(t[i].b)) != t[i].k)
      fail_msg("%zu: %s", i, t[i].b);
  assert_string_equal(pa_syslog_body_name(PA_SYSLOG_BODY_ATNA_XML), "atna-xml");
}

/* ---- corpus (skipped when absent) ----------------------------------------- */

static void check_four(const struct got *g)
{
  static const size_t lens[4] = {2124, 2311, 1048, 110};
  static const enum pa_syslog_body kinds[4] = {PA_SYSLOG_BODY_ATNA_XML, PA_SYSLOG_BODY_ATNA_XML,
                                               PA_SYSLOG_BODY_ATNA_XML, PA_SYSLOG_BODY_TEXT};
  assert_int_equal(g->n, 4);
  for (size_t i = 0; i < 4; i++) {
    struct pa_syslog_msg m;
    struct pa_err e;
    assert_int_equal(g->rc[i], PA_OK);
    assert_int_equal(g->len[i], lens[i]);
    assert_int_equal(pa_syslog_parse((const uint8_t *)g->frame[i], g->len[i], NULL, &m, &e),
                     PA_OK);
    assert_int_equal(m.format, PA_SYSLOG_RFC5424);
    assert_int_equal(pa_syslog_body_kind(m.msg.p, m.msg.len), kinds[i]);
  }
}

static void test_corpus_streams(void **state)
{
  (void)state;
  size_t len;
  uint8_t *b = pa_test_slurp(corpus("DERIVED_non-transparent-LF-stream_multiline-xml-BREAKS-framing.log"),
                     &len);
  struct got g;
  if (!b) {
    skip();
    return;
  }
  /* naive LF framing shreds 4 messages into 75 pieces */
  frame_split(b, len, PA_SYSLOG_FRAMING_LF, 0, NULL, 0, &g);
  assert_int_equal(g.n, 75);
  got_free(&g);
  /* the joiner puts them back together, at any chunking */
  frame_split(b, len, PA_SYSLOG_FRAMING_AUTO | PA_SYSLOG_FRAMING_JOIN, 0, NULL, 0, &g);
  check_four(&g);
  for (size_t c = 0; c <= len; c += 7) {
    struct got g2;
    frame_split(b, len, PA_SYSLOG_FRAMING_AUTO | PA_SYSLOG_FRAMING_JOIN, 0, &c, 1, &g2);
    same(&g, &g2);
    got_free(&g2);
  }
  got_free(&g);
  free(b);

  b = pa_test_slurp(corpus("DERIVED_octet-counted-stream_rfc5425-rfc6587.bin"), &len);
  if (!b)
    return;
  frame_split(b, len, PA_SYSLOG_FRAMING_OCTET, 0, NULL, 0, &g);
  check_four(&g);
  assert_int_equal(g.off[0], 5); /* "2124 " */
  every_split(b, len, PA_SYSLOG_FRAMING_AUTO, 0, &g, 0);
  got_free(&g);
  free(b);
}

static void test_corpus_lines(void **state)
{
  (void)state;
  static const char *const files[] = {
    "rfc3164_sec5.4_examples.log", "rfc5424_sec6.5_examples_real-BOM-bytes.log",
    "rsyslog-testsuite_legacy-rfc3164-and-malformed-inputs.log",
    "openhim_non-xml-payloads_INVALID.log"};
  static const size_t want[] = {6, 4, 30, 2};
  int seen = 0;
  for (size_t i = 0; i < 4; i++) {
    size_t len, bad = 0;
    uint8_t *b;
    struct got g;
    const char *path = corpus(files[i]);
    if (!(b = pa_test_slurp(path, &len)))
      continue;
    seen = 1;
    frame_split(b, len, PA_SYSLOG_FRAMING_AUTO, 0, NULL, 0, &g);
    assert_int_equal(g.n, want[i]);
    for (size_t k = 0; k < g.n; k++) {
      struct pa_syslog_msg m;
      struct pa_err e;
      if (pa_syslog_parse((const uint8_t *)g.frame[k], g.len[k], NULL, &m, &e) != PA_OK)
        bad++;
    }
    /* only rsyslog's copy of RFC 5424 ex.4 with "= \"" is malformed */
    assert_int_equal(bad, i == 2 ? 1 : 0);
    got_free(&g);
    free(b);
  }
  if (!seen)
    skip();
}

static void test_corpus_single(void **state)
{
  (void)state;
  static const char *const files[] = {
    "DERIVED_dcm4chee-query_DICOM+RFC3881_with-BOM.log",
    "ihewiki-syslog-collector_IHE+DICOM_LF-before-xml.log",
    "ihewiki-syslog-collector_IHE+RFC-3881_LF-before-xml.log",
    "openatna_javadoc-sample_MSGID-PDQIN_BOM-rendered-as-qmark.log",
    "openhim_openhie-pix-query_IHE+RFC-3881.log"};
  int seen = 0;
  for (size_t i = 0; i < 5; i++) {
    size_t len;
    uint8_t *b;
    struct pa_syslog_msg m;
    struct pa_err e;
    const char *path = corpus(files[i]);
    if (!(b = pa_test_slurp(path, &len)))
      continue;
    seen = 1;
    /* a datagram as is */
    assert_int_equal(pa_syslog_parse(b, len, NULL, &m, &e), PA_OK);
    assert_int_equal(m.format, PA_SYSLOG_RFC5424);
    assert_int_equal(m.pri, 85);
    assert_int_equal(pa_syslog_body_kind(m.msg.p, m.msg.len), PA_SYSLOG_BODY_ATNA_XML);
    assert_int_equal(m.bom, i == 0);
    free(b);
  }
  if (!seen)
    skip();
}

/* fixtures/syslog (made by make-fixtures.sh): the LF file joined and the
 * octet-counted file give the same four messages. */
static void test_fixtures(void **state)
{
  (void)state;
  size_t len1, len2;
  uint8_t *lf, *oc;
  struct got a, b;

  if (!getenv("PA_FIXTURES")) {
    skip();
    return;
  }
  assert_non_null(lf = pa_test_fixture("syslog/atna-5424.log", &len1));
  assert_non_null(oc = pa_test_fixture("syslog/atna-octet.bin", &len2));
  frame_split(lf, len1, PA_SYSLOG_FRAMING_AUTO | PA_SYSLOG_FRAMING_JOIN, 0, NULL, 0, &a);
  frame_split(oc, len2, PA_SYSLOG_FRAMING_AUTO, 0, NULL, 0, &b);
  assert_int_equal(a.n, 4);
  assert_int_equal(b.n, 4);
  for (size_t i = 0; i < 4; i++) {
    struct pa_syslog_msg m;
    struct pa_err e;
    assert_int_equal(a.len[i], b.len[i]);
    assert_memory_equal(a.frame[i], b.frame[i], a.len[i]);
    assert_int_equal(pa_syslog_parse((const uint8_t *)a.frame[i], a.len[i], NULL, &m, &e), PA_OK);
    assert_int_equal(pa_syslog_body_kind(m.msg.p, m.msg.len),
                     i == 2 ? PA_SYSLOG_BODY_TEXT : PA_SYSLOG_BODY_ATNA_XML);
    if (i == 1) {
      assert_int_equal(m.sd_count, 1);
      assert_int_equal(m.severity, 4);
    }
  }
  got_free(&a);
  got_free(&b);
  free(lf);
  free(oc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_5424_examples),
    cmocka_unit_test(test_5424_sd_escapes_bom_multiline),
    cmocka_unit_test(test_5424_malformed),
    cmocka_unit_test(test_3164_variants),
    cmocka_unit_test(test_year_inference),
    cmocka_unit_test(test_octet_counting),
    cmocka_unit_test(test_lf_crlf_nul),
    cmocka_unit_test(test_fallback_and_resync),
    cmocka_unit_test(test_cap),
    cmocka_unit_test(test_buffer_released),
    cmocka_unit_test(test_joiner),
    cmocka_unit_test(test_body_kind),
    cmocka_unit_test(test_corpus_streams),
    cmocka_unit_test(test_corpus_lines),
    cmocka_unit_test(test_corpus_single),
    cmocka_unit_test(test_fixtures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
