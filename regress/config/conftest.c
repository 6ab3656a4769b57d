/*
 * conftest: parse a relayd.conf(5) the way "relayd -n" does, so that the
 * golden tests in regress/config run without the daemon.
 *
 * usage: conftest [-NnRv] [-D macro=value] [-f file]
 *	-n	accepted for compatibility with relayd (conftest never runs)
 *	-v	print the normalised configuration; -vv also warns about
 *		unused macros
 *	-N	skip the file checks (TLS files, passphrase file, secrecy)
 *	-R	parse the file a second time in the same process and fail
 *		unless the second result prints identically (re-entrancy)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

static void	 usage(void) __attribute__((__noreturn__));
static char	*printed(const struct relayd_config *);

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-NnRv] [-D macro=value] [-f file]\n",
	    getprogname());
	exit(2);
}

static char *
printed(const struct relayd_config *conf)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		fatal("open_memstream");
	config_print(fp, conf);
	if (fclose(fp) != 0)
		fatal("fclose");
	return (buf);
}

int
main(int argc, char *argv[])
{
	struct relayd_config	*conf, *again;
	const char		*conffile = RELAYD_CONF_FILE;
	char			*a, *b;
	int			 ch, flags = 0, verbose = 0, twice = 0;

	log_init(1, LOG_DAEMON);
	log_procinit(getprogname());

	while ((ch = getopt(argc, argv, "D:f:NnRv")) != -1) {
		switch (ch) {
		case 'D':
			if (cmdline_symset(optarg) < 0)
				log_warnx("could not parse macro definition "
				    "%s", optarg);
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'N':
			flags |= CONF_NOFILECHECK;
			break;
		case 'n':
			break;
		case 'R':
			twice = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	if (verbose > 1)
		flags |= CONF_WARNUNUSED;

	if ((conf = parse_config(conffile, flags)) == NULL)
		return (1);
	if (twice) {
		if ((again = parse_config(conffile, flags)) == NULL)
			fatalx("second parse of %s failed", conffile);
		a = printed(conf);
		b = printed(again);
		if (strcmp(a, b) != 0)
			fatalx("second parse of %s differs", conffile);
		free(a);
		free(b);
		config_free(again);
	}
	if (verbose)
		config_print(stdout, conf);
	else
		fprintf(stderr, "configuration OK\n");
	config_free(conf);
	return (0);
}
