/*
 * relayctl(8): control a running relayd(8) over its control socket.
 *
 * Exit status: 0 on success, 1 when the command failed (including
 * "relayd is not running"), 2 on usage errors.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "conf.h"
#include "imsg.h"
#include "parser.h"
#include "relayd_imsg.h"

static __attribute__((__noreturn__)) void usage(void);
static int	 ctl_connect(const char *, struct imsgbuf *);
static int	 ctl_request(struct imsgbuf *, uint32_t, const void *, size_t);
static int	 run_show_status(struct imsgbuf *, int);
static int	 run_show_key(struct imsgbuf *, int);
static int	 run_simple(struct imsgbuf *, uint32_t, const void *, size_t);
static int	 run_verify_audit(const char *, int);

static const char *proc_names[PROC_MAX] = {
	"parent", "frontend", "peer", "routed", "ledgerd", "keyd"
};

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-j] [-s socket] command [argument ...]\n",
	    getprogname());
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct parse_result	*res;
	struct imsgbuf		 ibuf;
	const char		*sockname = RELAYD_CONTROL_SOCK;
	int			 ch, json = 0, v, ret;

	while ((ch = getopt(argc, argv, "js:")) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 's':
			sockname = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();
	if ((res = parse(argc, argv)) == NULL)
		exit(2);

	if (res->action == VERIFY_AUDIT)
		return (run_verify_audit(res->path, json));

	if (ctl_connect(sockname, &ibuf) == -1)
		exit(1);
	switch (res->action) {
	case SHOW_STATUS:
		ret = run_show_status(&ibuf, json);
		break;
	case SHOW_KEY:
		ret = run_show_key(&ibuf, json);
		break;
	case RELOAD:
		ret = run_simple(&ibuf, IMSG_CTL_RELOAD, NULL, 0);
		break;
	case LOG_VERBOSE:
	case LOG_BRIEF:
		v = res->action == LOG_VERBOSE ? 2 : 1;
		ret = run_simple(&ibuf, IMSG_CTL_VERBOSE, &v, sizeof(v));
		break;
	default:
		usage();
	}
	imsgbuf_clear(&ibuf);
	close(ibuf.fd);
	return (ret);
}

static int
ctl_connect(const char *path, struct imsgbuf *ibuf)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		warnx("socket path too long: %s", path);
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		warnx("relayd is not running: connect %s: %s", path,
		    strerror(errno));
		close(fd);
		return (-1);
	}
	if (imsgbuf_init(ibuf, fd) == -1 ||
	    imsgbuf_set_maxsize(ibuf, PROC_IMSG_MAXSIZE) == -1)
		err(1, "imsgbuf_init");
	return (0);
}

static int
ctl_request(struct imsgbuf *ibuf, uint32_t type, const void *data,
    size_t len)
{
	if (imsg_compose(ibuf, type, 0, 0, -1, data, len) == -1 ||
	    imsgbuf_flush(ibuf) == -1) {
		warn("write to relayd");
		return (-1);
	}
	return (0);
}

/*
 * Read the next answer; blocks.  Returns 1 with a message, or -1 when
 * relayd closed the connection or sent garbage.
 */
static int
ctl_next(struct imsgbuf *ibuf, struct imsg *imsg)
{
	int	n;

	for (;;) {
		if ((n = imsgbuf_get(ibuf, imsg)) == -1) {
			warn("bad message from relayd");
			return (-1);
		}
		if (n == 1)
			return (1);
		if ((n = imsgbuf_read(ibuf)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			warn("read from relayd");
			return (-1);
		}
		if (n == 0) {
			warnx("relayd closed the connection");
			return (-1);
		}
	}
}

/* Handle IMSG_CTL_OK / IMSG_CTL_FAIL; returns the exit status or -1. */
static int
ctl_result(struct imsg *imsg, int quiet_ok)
{
	struct ctl_result	res;

	if (imsg_get_type(imsg) != IMSG_CTL_OK &&
	    imsg_get_type(imsg) != IMSG_CTL_FAIL)
		return (-1);
	if (imsg_get_data(imsg, &res, sizeof(res)) == -1) {
		warnx("bad result from relayd");
		return (1);
	}
	res.msg[sizeof(res.msg) - 1] = '\0';
	if (imsg_get_type(imsg) == IMSG_CTL_FAIL) {
		warnx("%s", res.msg[0] ? res.msg : "command failed");
		return (1);
	}
	if (!quiet_ok && res.msg[0] != '\0')
		printf("%s\n", res.msg);
	return (0);
}

static int
run_simple(struct imsgbuf *ibuf, uint32_t type, const void *data,
    size_t len)
{
	struct imsg	imsg;
	int		ret;

	if (ctl_request(ibuf, type, data, len) == -1)
		return (1);
	if (ctl_next(ibuf, &imsg) == -1)
		return (1);
	if ((ret = ctl_result(&imsg, 0)) == -1) {
		warnx("unexpected answer %u from relayd",
		    imsg_get_type(&imsg));
		ret = 1;
	}
	imsg_free(&imsg);
	return (ret);
}

static void
fmt_uptime(int64_t started, char *buf, size_t len)
{
	struct timespec	ts;
	int64_t		s;

	clock_gettime(CLOCK_REALTIME, &ts);
	s = ts.tv_sec - started / 1000;
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(buf, len, "%lldd%02lldh%02lldm", (long long)s / 86400,
		    (long long)(s % 86400) / 3600, (long long)(s % 3600) / 60);
	else
		snprintf(buf, len, "%02lld:%02lld:%02lld", (long long)s / 3600,
		    (long long)(s % 3600) / 60, (long long)s % 60);
}

static const char *
pname(int32_t id)
{
	if (id < 0 || id >= PROC_MAX)
		return ("unknown");
	return (proc_names[id]);
}

static void
print_json(json_t *j)
{
	char	*s;

	if ((s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL)
		errx(1, "json_dumps");
	printf("%s\n", s);
	free(s);
	json_decref(j);
}

static int
run_show_status(struct imsgbuf *ibuf, int json)
{
	struct ctl_relay_status	 rs;
	struct proc_status	 st;
	struct imsg		 imsg;
	json_t			*jprocs = NULL, *jp;
	char			 up[32], name[32], sb[32];
	int			 have_relay = 0, ret = -1;

	if (ctl_request(ibuf, IMSG_CTL_SHOW_STATUS, NULL, 0) == -1)
		return (1);
	if (json)
		jprocs = json_array();
	while (ret == -1) {
		if (ctl_next(ibuf, &imsg) == -1)
			return (1);
		switch (imsg_get_type(&imsg)) {
		case IMSG_CTL_STATUS_RELAY:
			if (imsg_get_data(&imsg, &rs, sizeof(rs)) == -1)
				errx(1, "bad status from relayd");
			rs.relay_id[sizeof(rs.relay_id) - 1] = '\0';
			rs.name[sizeof(rs.name) - 1] = '\0';
			rs.did[sizeof(rs.did) - 1] = '\0';
			rs.version[sizeof(rs.version) - 1] = '\0';
			rs.db_detail[sizeof(rs.db_detail) - 1] = '\0';
			have_relay = 1;
			fmt_uptime(rs.started, up, sizeof(up));
			if (json)
				break;
			printf("Relay:       %s\n", rs.name);
			printf("Relay id:    %s\n", rs.relay_id[0] ?
			    rs.relay_id : "(not yet known)");
			printf("DID:         %s\n", rs.did[0] ? rs.did :
			    "(not yet known)");
			printf("Version:     %s\n", rs.version);
			printf("Uptime:      %s\n", up);
			printf("PostgreSQL:  %s (%s)\n", rs.db_connected ?
			    "connected" : "unavailable", rs.db_detail);
			printf("\n%-12s %7s %-12s %-12s %-8s %-4s %-8s %s\n",
			    "PROCESS", "PID", "USER", "CHROOT", "SECCOMP",
			    "NNP", "LANDLOCK", "STATE");
			break;
		case IMSG_CTL_STATUS_PROC:
			if (imsg_get_data(&imsg, &st, sizeof(st)) == -1)
				errx(1, "bad status from relayd");
			st.user[sizeof(st.user) - 1] = '\0';
			st.chroot[sizeof(st.chroot) - 1] = '\0';
			st.detail[sizeof(st.detail) - 1] = '\0';
			if (st.proc == PROC_FRONTEND)
				snprintf(name, sizeof(name), "%s[%d]",
				    pname(st.proc), st.instance);
			else
				strlcpy(name, pname(st.proc), sizeof(name));
			if (json) {
				jp = json_pack("{s:s,s:s,s:i,s:i,s:i,s:s,"
				    "s:s?,s:b,s:b,s:i,s:b,s:s}",
				    "process", pname(st.proc),
				    "name", name, "instance", st.instance,
				    "pid", st.pid, "uid", (int)st.uid,
				    "user", st.user,
				    "chroot", st.chrooted ? st.chroot : NULL,
				    "seccomp_filter", st.seccomp == 2,
				    "no_new_privs", st.no_new_privs != 0,
				    "landlock_abi", st.landlock,
				    "healthy", st.healthy != 0,
				    "detail", st.detail);
				json_array_append_new(jprocs, jp);
				break;
			}
			if (st.landlock > 0)
				snprintf(sb, sizeof(sb), "abi %d",
				    st.landlock);
			else
				strlcpy(sb, "-", sizeof(sb));
			printf("%-12s %7d %-12s %-12s %-8s %-4s %-8s %s%s%s\n",
			    name, st.pid, st.user[0] ? st.user : "-",
			    st.chrooted ? st.chroot : "-",
			    st.seccomp == 2 ? "filter" : "off",
			    st.no_new_privs ? "yes" : "no", sb,
			    st.healthy ? "ok" : "FAILED",
			    st.detail[0] ? ": " : "", st.detail);
			break;
		default:
			if ((ret = ctl_result(&imsg, 1)) == -1)
				errx(1, "unexpected answer %u from relayd",
				    imsg_get_type(&imsg));
			break;
		}
		imsg_free(&imsg);
	}
	if (json && have_relay)
		print_json(json_pack("{s:{s:s,s:s?,s:s?,s:s,s:I,s:s,s:b,s:s},"
		    "s:o}",
		    "relay", "name", rs.name,
		    "relay_id", rs.relay_id[0] ? rs.relay_id : NULL,
		    "did", rs.did[0] ? rs.did : NULL,
		    "version", rs.version, "started", (json_int_t)rs.started,
		    "uptime", up, "postgresql_connected",
		    rs.db_connected != 0, "postgresql", rs.db_detail,
		    "processes", jprocs));
	else if (jprocs != NULL)
		json_decref(jprocs);
	return (ret);
}

static int
run_show_key(struct imsgbuf *ibuf, int json)
{
	struct ctl_key	 ck;
	struct imsg	 imsg;
	int		 ret = -1;

	if (ctl_request(ibuf, IMSG_CTL_SHOW_KEY, NULL, 0) == -1)
		return (1);
	while (ret == -1) {
		if (ctl_next(ibuf, &imsg) == -1)
			return (1);
		if (imsg_get_type(&imsg) == IMSG_CTL_SHOW_KEY) {
			if (imsg_get_data(&imsg, &ck, sizeof(ck)) == -1)
				errx(1, "bad key answer from relayd");
			ck.public_key[sizeof(ck.public_key) - 1] = '\0';
			ck.did[sizeof(ck.did) - 1] = '\0';
			ck.fingerprint[sizeof(ck.fingerprint) - 1] = '\0';
			ck.path[sizeof(ck.path) - 1] = '\0';
			if (json)
				print_json(json_pack("{s:s,s:s,s:s,s:s,s:s}",
				    "algorithm", "ed25519",
				    "public_key", ck.public_key,
				    "did", ck.did, "fingerprint",
				    ck.fingerprint, "path", ck.path));
			else {
				printf("Algorithm:   ed25519\n");
				printf("Public key:  %s\n", ck.public_key);
				printf("DID:         %s\n", ck.did);
				printf("Fingerprint: SHA256:%s\n",
				    ck.fingerprint);
				printf("Key file:    %s\n", ck.path);
			}
		} else if ((ret = ctl_result(&imsg, 1)) == -1)
			errx(1, "unexpected answer %u from relayd",
			    imsg_get_type(&imsg));
		imsg_free(&imsg);
	}
	return (ret);
}

static int
run_verify_audit(const char *path, int json)
{
	FILE	*f;
	char	 errbuf[256];
	size_t	 nlines = 0, badline = 0;
	int	 ok;

	if ((f = fopen(path, "r")) == NULL) {
		warn("%s", path);
		return (1);
	}
	ok = audit_verify(f, &nlines, &badline, errbuf, sizeof(errbuf)) == 0;
	fclose(f);
	if (json)
		print_json(json_pack("{s:s,s:b,s:I,s:o?,s:s?}",
		    "file", path, "valid", ok, "records", (json_int_t)nlines,
		    "bad_line", ok ? NULL : json_integer(badline),
		    "error", ok ? NULL : errbuf));
	else if (ok)
		printf("%s: %zu records, hash chain intact\n", path, nlines);
	else
		fprintf(stderr, "%s: line %zu: %s\n", path, badline, errbuf);
	return (ok ? 0 : 1);
}
