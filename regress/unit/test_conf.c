/*
 * Unit tests for the relayd.conf(5) library (libconf.a): defaults, the
 * unit formatters, -D macros, and repeated parses in one process.  The
 * grammar itself is covered by the golden tests in regress/config.
 */
#include "config.h"

#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

static char	 tmpdir[64];

static void
setup(void)
{
	log_init(1, LOG_DAEMON);
	/* config files must not be group or world writable */
	umask(022);
	strlcpy(tmpdir, "/tmp/test_conf.XXXXXX", sizeof(tmpdir));
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char	 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Write text to a file in tmpdir; returns its path (static buffer). */
static const char *
writeconf(const char *name, const char *text)
{
	static char	 path[128];
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
	return (path);
}

START_TEST(test_defaults)
{
	struct relayd_config	*conf;

	conf = config_new_default();
	ck_assert_ptr_nonnull(conf);
	ck_assert_str_eq(conf->g.name, "relayd");
	ck_assert_str_eq(conf->g.endpoint, "");
	ck_assert_uint_eq(conf->g.prefork, 2);
	ck_assert_uint_eq(conf->g.body_limit, 1048576);
	ck_assert_uint_eq(conf->g.fee_ppm, 50000);
	ck_assert_int_eq(conf->g.fed_enable, 0);
	ck_assert_int_eq(conf->g.fed_accept_auto, 0);
	ck_assert_int_eq(conf->g.fed_peers_public, 0);
	ck_assert_uint_eq(conf->g.fed_max_peers, 10);
	ck_assert_uint_eq(conf->g.fed_max_hops, 3);
	ck_assert_uint_eq(conf->g.fed_hb_interval_ms, 60000);
	ck_assert_uint_eq(conf->g.fed_suspend_after, 3);
	ck_assert_uint_eq(conf->g.fed_remove_after, 5);
	ck_assert_uint_eq(conf->g.fed_query_ttl_ms, 30000);
	ck_assert_uint_eq(conf->g.fed_rate_limit, 30);
	ck_assert_uint_eq(conf->g.fed_rate_window_ms, 60000);
	ck_assert_uint_eq(conf->g.anchor_batch_size, 100);
	ck_assert_uint_eq(conf->g.anchor_interval_ms, 3600000);
	ck_assert_uint_eq(conf->g.route_w_trust + conf->g.route_w_cost +
	    conf->g.route_w_latency + conf->g.route_w_reliability +
	    conf->g.route_w_risk, 1000000);
	ck_assert_int_eq(conf->g.route_lexicographic, 0);
	ck_assert_str_eq(conf->user, RELAYD_USER);
	ck_assert_str_eq(conf->key_user, RELAYD_KEY_USER);
	ck_assert_str_eq(conf->chroot, RELAYD_CHROOT);
	ck_assert_str_eq(conf->key_path, RELAYD_KEY_FILE);
	ck_assert_str_eq(conf->key_pass_path, "");
	ck_assert_str_eq(conf->audit_log, RELAYD_AUDIT_LOG);
	ck_assert_str_eq(conf->database, RELAYD_DATABASE);
	ck_assert_str_eq(conf->control_sock, RELAYD_CONTROL_SOCK);
	ck_assert_str_eq(conf->anchor_command, "");
	ck_assert_str_eq(conf->architect, "");
	ck_assert(TAILQ_EMPTY(&conf->listens));
	ck_assert(TAILQ_EMPTY(&conf->fedrules));
	config_free(conf);
	config_free(NULL);
}
END_TEST

START_TEST(test_fmt)
{
	char	 buf[32];

	ck_assert_str_eq(config_fmt_duration(0, buf, sizeof(buf)), "0s");
	ck_assert_str_eq(config_fmt_duration(100, buf, sizeof(buf)), "100ms");
	ck_assert_str_eq(config_fmt_duration(1500, buf, sizeof(buf)),
	    "1500ms");
	ck_assert_str_eq(config_fmt_duration(90000, buf, sizeof(buf)), "90s");
	ck_assert_str_eq(config_fmt_duration(60000, buf, sizeof(buf)), "1m");
	ck_assert_str_eq(config_fmt_duration(5400000, buf, sizeof(buf)),
	    "90m");
	ck_assert_str_eq(config_fmt_duration(2592000000ULL, buf, sizeof(buf)),
	    "720h");

	ck_assert_str_eq(config_fmt_size(1536, buf, sizeof(buf)), "1536");
	ck_assert_str_eq(config_fmt_size(65536, buf, sizeof(buf)), "64K");
	ck_assert_str_eq(config_fmt_size(1048576, buf, sizeof(buf)), "1M");
	ck_assert_str_eq(config_fmt_size(1048576 + 1024, buf, sizeof(buf)),
	    "1025K");
	ck_assert_str_eq(config_fmt_size(0, buf, sizeof(buf)), "0");

	ck_assert_str_eq(config_fmt_percent(50000, buf, sizeof(buf)), "5%");
	ck_assert_str_eq(config_fmt_percent(25000, buf, sizeof(buf)), "2.5%");
	ck_assert_str_eq(config_fmt_percent(1, buf, sizeof(buf)), "0.0001%");
	ck_assert_str_eq(config_fmt_percent(1000000, buf, sizeof(buf)),
	    "100%");
	ck_assert_str_eq(config_fmt_percent(0, buf, sizeof(buf)), "0%");

	ck_assert_str_eq(config_fmt_weight(300000, buf, sizeof(buf)), "0.3");
	ck_assert_str_eq(config_fmt_weight(150000, buf, sizeof(buf)), "0.15");
	ck_assert_str_eq(config_fmt_weight(1, buf, sizeof(buf)), "0.000001");
	ck_assert_str_eq(config_fmt_weight(1000000, buf, sizeof(buf)), "1");
	ck_assert_str_eq(config_fmt_weight(0, buf, sizeof(buf)), "0");
}
END_TEST

START_TEST(test_parse_values)
{
	struct relayd_config	*conf;
	struct listen_config	*lc;
	struct fedrule_config	*r;
	const char		*path;

	path = writeconf("values.conf",
	    "listen on ::1 port 8443 tls certificate \"c\" key \"k\"\n"
	    "body limit 64K\n"
	    "fee 2.5%\n"
	    "federation {\n"
	    "\theartbeat interval 1500ms\n"
	    "\trate limit 7 per 2m\n"
	    "\tblock relay-x\n"
	    "}\n"
	    "routing {\n"
	    "\tranking lexicographic\n"
	    "\tweight risk 0.000001\n"
	    "}\n");
	conf = parse_config(path, CONF_NOFILECHECK);
	ck_assert_ptr_nonnull(conf);
	ck_assert_str_eq(conf->g.endpoint, "https://[::1]:8443");
	lc = TAILQ_FIRST(&conf->listens);
	ck_assert_ptr_nonnull(lc);
	ck_assert_str_eq(lc->addr, "::1");
	ck_assert_uint_eq(lc->port, 8443);
	ck_assert_int_eq(lc->tls, 1);
	ck_assert_str_eq(lc->cert, "c");
	ck_assert_str_eq(lc->key, "k");
	ck_assert_ptr_null(TAILQ_NEXT(lc, entry));
	ck_assert_uint_eq(conf->g.body_limit, 65536);
	ck_assert_uint_eq(conf->g.fee_ppm, 25000);
	ck_assert_uint_eq(conf->g.fed_hb_interval_ms, 1500);
	ck_assert_uint_eq(conf->g.fed_rate_limit, 7);
	ck_assert_uint_eq(conf->g.fed_rate_window_ms, 120000);
	r = TAILQ_FIRST(&conf->fedrules);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->relay_id, "relay-x");
	ck_assert_int_eq(r->block, 1);
	ck_assert_int_eq(conf->g.route_lexicographic, 1);
	ck_assert_uint_eq(conf->g.route_w_risk, 1);
	config_free(conf);

	/* the same file with file checks on: the TLS files do not exist */
	ck_assert_ptr_null(parse_config(path, 0));
}
END_TEST

START_TEST(test_symset)
{
	struct relayd_config	*conf;
	const char		*path;
	char			 def1[] = "relayname=relay-d";
	char			 def2[] = "p=9000";
	char			 bad1[] = "noequals";
	char			 bad2[] = "bad-name=1";
	char			 bad3[] = "=1";
	char			 bad4[] = "ctl=a\nb";

	ck_assert_int_eq(cmdline_symset(bad1), -1);
	ck_assert_int_eq(cmdline_symset(bad2), -1);
	ck_assert_int_eq(cmdline_symset(bad3), -1);
	ck_assert_int_eq(cmdline_symset(bad4), -1);
	ck_assert_int_eq(cmdline_symset(def1), 0);
	ck_assert_int_eq(cmdline_symset(def2), 0);

	path = writeconf("macros.conf",
	    "p = 8081\n"
	    "listen on 127.0.0.1 port $p\n"
	    "name $relayname\n");
	/* -D macros survive a parse: the second one sees them too */
	for (int i = 0; i < 2; i++) {
		conf = parse_config(path, 0);
		ck_assert_ptr_nonnull(conf);
		ck_assert_str_eq(conf->g.name, "relay-d");
		ck_assert_uint_eq(TAILQ_FIRST(&conf->listens)->port, 9000);
		config_free(conf);
	}
}
END_TEST

START_TEST(test_file_macros_reset)
{
	struct relayd_config	*conf;
	const char		*path;

	/* a macro from one parse is gone in the next */
	path = writeconf("a.conf",
	    "n = \"relay-a\"\n"
	    "listen on 127.0.0.1 port 8081\n"
	    "name $n\n");
	conf = parse_config(path, 0);
	ck_assert_ptr_nonnull(conf);
	ck_assert_str_eq(conf->g.name, "relay-a");
	config_free(conf);
	path = writeconf("b.conf",
	    "listen on 127.0.0.1 port 8081\n"
	    "name $n\n");
	ck_assert_ptr_null(parse_config(path, 0));
}
END_TEST

START_TEST(test_reparse_after_error)
{
	struct relayd_config	*conf;
	const char		*bad, *good;
	char			 badpath[128];

	/* an error inside an include leaves no state behind */
	writeconf("inc.conf", "federation {\n\tenable\n");
	bad = writeconf("bad.conf",
	    "listen on 127.0.0.1 port 8081\n"
	    "include \"inc.conf\"\n");
	strlcpy(badpath, bad, sizeof(badpath));
	good = writeconf("good.conf", "listen on 127.0.0.1 port 8082\n");
	for (int i = 0; i < 3; i++) {
		ck_assert_ptr_null(parse_config(badpath, 0));
		conf = parse_config(good, 0);
		ck_assert_ptr_nonnull(conf);
		ck_assert_uint_eq(TAILQ_FIRST(&conf->listens)->port, 8082);
		ck_assert_int_eq(conf->g.fed_enable, 0);
		config_free(conf);
	}
	ck_assert_ptr_null(parse_config("/nonexistent/relayd.conf", 0));
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("conf");
	tc = tcase_create("conf");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_fmt);
	tcase_add_test(tc, test_parse_values);
	tcase_add_test(tc, test_symset);
	tcase_add_test(tc, test_file_macros_reset);
	tcase_add_test(tc, test_reparse_after_error);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(conf_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
