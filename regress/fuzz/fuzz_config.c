/*
 * libFuzzer target for the relayd.conf(5) parser.  The parser reads
 * files, so each input is written to a file in a private directory and
 * parsed with the file checks off; a configuration that parses is printed,
 * and the printed text must parse again to the same printed text.
 *
 * Seed corpus: the .conf files under regress/config and etc/relayd.conf.
 */
#include "config.h"

#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	 dir[64];
static char	 input[96];
static char	 again[96];

static void
cleanup(void)
{
	unlink(input);
	unlink(again);
	rmdir(dir);
}

static void
setup(void)
{
	const char	*tmp;

	if ((tmp = getenv("TMPDIR")) == NULL || strlen(tmp) > 32)
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/fuzz_config.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	snprintf(input, sizeof(input), "%s/relayd.conf", dir);
	snprintf(again, sizeof(again), "%s/printed.conf", dir);
	atexit(cleanup);
	log_init(1, LOG_DAEMON);
	log_procinit("fuzz_config");
}

static char *
print_to(const struct relayd_config *conf, const char *path)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		err(1, "open_memstream");
	config_print(fp, conf);
	if (fclose(fp) != 0)
		err(1, "fclose");
	if ((fp = fopen(path, "w")) == NULL)
		err(1, "%s", path);
	if (fwrite(buf, 1, len, fp) != len || fclose(fp) != 0)
		err(1, "%s", path);
	return (buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relayd_config	*conf, *conf2;
	FILE			*fp;
	char			*a, *b;

	if (dir[0] == '\0')
		setup();
	if ((fp = fopen(input, "w")) == NULL)
		err(1, "%s", input);
	if (fwrite(data, 1, size, fp) != size || fclose(fp) != 0)
		err(1, "%s", input);

	if ((conf = parse_config(input, CONF_NOFILECHECK)) == NULL)
		return (0);
	a = print_to(conf, again);
	config_free(conf);
	if ((conf2 = parse_config(again, CONF_NOFILECHECK)) == NULL) {
		fprintf(stderr, "printed configuration does not parse:\n%s",
		    a);
		abort();
	}
	b = print_to(conf2, again);
	config_free(conf2);
	if (strcmp(a, b) != 0) {
		fprintf(stderr, "round trip differs:\n%s---\n%s", a, b);
		abort();
	}
	free(a);
	free(b);
	return (0);
}
