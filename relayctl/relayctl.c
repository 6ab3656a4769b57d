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
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "encoding.h"
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
static int	 run_verify_audit(const char *, const char *, int);
static int	 run_show_peers(struct imsgbuf *, int, enum actions,
		    const char *);
static int	 run_peer(struct imsgbuf *, int, enum actions, const char *,
		    const char *);
static int	 run_show_routes(struct imsgbuf *, int, const char *);
static int	 run_show_graph(struct imsgbuf *, int, const char *);
static int	 run_agents(struct imsgbuf *, int, enum actions, const char *,
		    const char *);

/* Peer commands wait for the network; the peer engine gives up at 28 s. */
#define PEER_WAIT_MS	35000
static int	 ctl_wait_ms = -1;


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
		return (run_verify_audit(res->path, res->key, json));

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
	case SHOW_PEERS:
	case SHOW_PEER:
	case SHOW_REQUESTS:
		ret = run_show_peers(&ibuf, json, res->action, res->peer);
		break;
	case PEER_ADD:
	case PEER_ACCEPT:
	case PEER_DECLINE:
	case PEER_REMOVE:
	case PEER_BLOCK:
		ctl_wait_ms = PEER_WAIT_MS;
		ret = run_peer(&ibuf, json, res->action, res->peer, res->url);
		break;
	case SHOW_ROUTES:
		ret = run_show_routes(&ibuf, json, res->capability);
		break;
	case SHOW_GRAPH:
		ret = run_show_graph(&ibuf, json, res->capability);
		break;
	case SHOW_AGENTS:
	case SHOW_AGENT:
	case AGENT_REVOKE:
		ret = run_agents(&ibuf, json, res->action, res->agent,
		    res->capability);
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
	struct pollfd	pfd;
	int		n;

	for (;;) {
		if ((n = imsgbuf_get(ibuf, imsg)) == -1) {
			warn("bad message from relayd");
			return (-1);
		}
		if (n == 1)
			return (1);
		if (ctl_wait_ms >= 0) {
			pfd.fd = ibuf->fd;
			pfd.events = POLLIN;
			if ((n = poll(&pfd, 1, ctl_wait_ms)) == -1) {
				if (errno == EINTR)
					continue;
				warn("poll");
				return (-1);
			}
			if (n == 0) {
				warnx("no answer from relayd within %d "
				    "seconds", ctl_wait_ms / 1000);
				return (-1);
			}
		}
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
	const char	*name;

	if ((name = audit_proc_name(id)) == NULL)
		return ("unknown");
	return (name);
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
			printf("\n%-12s %7s %-12s %-12s %-8s %-4s %-8s %-4s "
			    "%s\n", "PROCESS", "PID", "USER", "CHROOT",
			    "SECCOMP", "NNP", "LANDLOCK", "DUMP", "STATE");
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
				    "s:s?,s:b,s:b,s:i,s:i,s:b,s:s}",
				    "process", pname(st.proc),
				    "name", name, "instance", st.instance,
				    "pid", st.pid, "uid", (int)st.uid,
				    "user", st.user,
				    "chroot", st.chrooted ? st.chroot : NULL,
				    "seccomp_filter", st.seccomp == 2,
				    "no_new_privs", st.no_new_privs != 0,
				    "landlock_abi", st.landlock,
				    "dumpable", st.dumpable,
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
			printf("%-12s %7d %-12s %-12s %-8s %-4s %-8s %-4s "
			    "%s%s%s\n",
			    name, st.pid, st.user[0] ? st.user : "-",
			    st.chrooted ? st.chroot : "-",
			    st.seccomp == 2 ? "filter" : "off",
			    st.no_new_privs ? "yes" : "no", sb,
			    st.dumpable == 0 ? "no" : st.dumpable > 0 ? "YES" :
			    "-", st.healthy ? "ok" : "FAILED",
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

/*
 * The hash chain, and keyd's checkpoints over it: with `key', each must
 * be signed by that public key (relayctl show key); without, by the key
 * of the first, which is printed for the operator to compare.
 */
static int
run_verify_audit(const char *path, const char *keyhex, int json)
{
	struct audit_seal seal;
	FILE		*f;
	char		 errbuf[256], seen[65];
	uint8_t		 key[32];
	size_t		 nlines = 0, badline = 0;
	int		 ok;

	memset(&seal, 0, sizeof(seal));
	if (keyhex != NULL) {
		if (strlen(keyhex) != 64 || hex_decode(keyhex, key,
		    sizeof(key)) == -1)
			errx(1, "key: not 64 hex digits");
		seal.key = key;
	}
	if ((f = fopen(path, "r")) == NULL) {
		warn("%s", path);
		return (1);
	}
	ok = audit_verify(f, &seal, &nlines, &badline, errbuf,
	    sizeof(errbuf)) == 0;
	fclose(f);
	hex_encode(seal.seen_key, sizeof(seal.seen_key), seen);
	if (json)
		print_json(json_pack("{s:s,s:b,s:I,s:I,s:I,s:s?,s:o?,s:s?}",
		    "file", path, "valid", ok, "records", (json_int_t)nlines,
		    "checkpoints", (json_int_t)seal.checkpoints,
		    "unsealed", (json_int_t)seal.unsealed,
		    "public_key", seal.checkpoints > 0 ? seen : NULL,
		    "bad_line", ok ? NULL : json_integer(badline),
		    "error", ok ? NULL : errbuf));
	else if (ok) {
		printf("%s: %zu records, hash chain intact, %zu checkpoints",
		    path, nlines, seal.checkpoints);
		if (seal.checkpoints > 0)
			printf(" signed by %s%s", seen, keyhex != NULL ?
			    "" : " (give it with `key' to require it)");
		printf("\n");
		if (seal.unsealed > 0)
			fprintf(stderr, "%s: warning: %zu records after the "
			    "last checkpoint: the log was cut short, or "
			    "relayd did not stop cleanly\n", path,
			    seal.unsealed);
	} else
		fprintf(stderr, "%s: line %zu: %s\n", path, badline, errbuf);
	return (ok ? 0 : 1);
}

/*
 * Peers
 */
static void
peer_terminate(struct ctl_peer *cp)
{
	cp->e.relay_id[sizeof(cp->e.relay_id) - 1] = '\0';
	cp->e.public_key[sizeof(cp->e.public_key) - 1] = '\0';
	cp->e.endpoint[sizeof(cp->e.endpoint) - 1] = '\0';
	cp->e.display_name[sizeof(cp->e.display_name) - 1] = '\0';
	cp->e.trust_level[sizeof(cp->e.trust_level) - 1] = '\0';
	cp->did[sizeof(cp->did) - 1] = '\0';
	cp->fingerprint[sizeof(cp->fingerprint) - 1] = '\0';
	cp->reason[sizeof(cp->reason) - 1] = '\0';
}

static const char *
state_name(int32_t s)
{
	static const char *const names[] = {
		"none", "pending", "active", "suspended", "removed"
	};

	if (s < 0 || s > 4)
		return ("unknown");
	return (names[s]);
}

/* "12s", "5m", "3h", "2d"; "-" for never */
static void
fmt_age(int64_t when, char *buf, size_t len)
{
	struct timespec	ts;
	int64_t		ms;

	if (when <= 0) {
		strlcpy(buf, "-", len);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - when;
	if (ms < 0)
		ms = 0;
	if (ms < 10000)
		snprintf(buf, len, "%" PRId64 ".%" PRId64 "s", ms / 1000,
		    (ms % 1000) / 100);
	else if (ms < 120000)
		snprintf(buf, len, "%" PRId64 "s", ms / 1000);
	else if (ms < 7200000)
		snprintf(buf, len, "%" PRId64 "m", ms / 60000);
	else if (ms < 172800000)
		snprintf(buf, len, "%" PRId64 "h", ms / 3600000);
	else
		snprintf(buf, len, "%" PRId64 "d", ms / 86400000);
}

static const char *
awaiting(const struct ctl_peer *cp)
{
	if (cp->e.state != PEER_PENDING)
		return (NULL);
	if (cp->e.flags & PEER_F_AWAIT_US)
		return ("us");
	if (cp->e.flags & PEER_F_AWAIT_THEM)
		return ("them");
	return (NULL);
}

static json_t *
peer_json(const struct ctl_peer *cp)
{
	json_t	*ext = NULL;

	if (cp->extensions_known) {
		ext = json_array();
		if (cp->e.extensions & PEER_EXT_PEER_ACCEPTED)
			json_array_append_new(ext,
			    json_string("peer-accepted"));
		if (cp->e.extensions & PEER_EXT_REMOVE_V2)
			json_array_append_new(ext, json_string("remove-v2"));
	}
	return (json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:o,s:o,s:I,s:I,s:I,"
	    "s:f,s:s,s:I,s:s?,s:b,s:b,s:b,s:o,s:s,s:s,s:s,s:o}",
	    "relay_id", cp->e.relay_id,
	    "name", cp->e.display_name,
	    "endpoint", cp->e.endpoint,
	    "state", state_name(cp->e.state),
	    "reason", cp->reason,
	    "since", (json_int_t)cp->e.since,
	    "peered_at", cp->e.peered_at > 0 ?
	    json_integer(cp->e.peered_at) : json_null(),
	    "last_heartbeat", cp->e.last_heartbeat > 0 ?
	    json_integer(cp->e.last_heartbeat) : json_null(),
	    "missed", (json_int_t)cp->e.missed,
	    "rtt_ms", (json_int_t)cp->e.rtt_ms,
	    "agent_count", (json_int_t)cp->e.agent_count,
	    "trust", cp->e.trust_ppm / 1e6,
	    "trust_level", cp->e.trust_level,
	    "fee_ppm", (json_int_t)cp->e.fee_ppm,
	    "awaiting", awaiting(cp),
	    "inbound", (cp->e.flags & PEER_F_INBOUND) != 0,
	    "confirmed", (cp->e.flags & PEER_F_CONFIRMED) != 0,
	    "blocked", (cp->e.flags & PEER_F_BLOCKED) != 0,
	    "extensions", ext != NULL ? ext : json_null(),
	    "public_key", cp->e.public_key,
	    "fingerprint", cp->fingerprint,
	    "did", cp->did,
	    "cooldown_until", cp->cooldown_until > 0 ?
	    json_integer(cp->cooldown_until) : json_null()));
}

static void
peer_print_long(const struct ctl_peer *cp)
{
	char	since[16], hb[16], ext[64];

	fmt_age(cp->e.since, since, sizeof(since));
	fmt_age(cp->e.last_heartbeat, hb, sizeof(hb));
	if (!cp->extensions_known)
		strlcpy(ext, "not known yet", sizeof(ext));
	else if (cp->e.extensions == 0)
		strlcpy(ext, "none", sizeof(ext));
	else
		snprintf(ext, sizeof(ext), "%s%s%s",
		    cp->e.extensions & PEER_EXT_PEER_ACCEPTED ?
		    "peer-accepted" : "",
		    cp->e.extensions == (PEER_EXT_PEER_ACCEPTED |
		    PEER_EXT_REMOVE_V2) ? " " : "",
		    cp->e.extensions & PEER_EXT_REMOVE_V2 ? "remove-v2" : "");
	printf("Peer:           %s\n", cp->e.relay_id);
	printf("Name:           %s\n", cp->e.display_name[0] ?
	    cp->e.display_name : "-");
	printf("Endpoint:       %s\n", cp->e.endpoint);
	printf("State:          %s%s%s%s for %s: %s\n",
	    state_name(cp->e.state),
	    awaiting(cp) != NULL ? " (awaiting " : "",
	    awaiting(cp) != NULL ? awaiting(cp) : "",
	    awaiting(cp) != NULL ? ")" : "", since, cp->reason);
	if (cp->e.flags & PEER_F_BLOCKED)
		printf("Blocked:        yes\n");
	printf("Direction:      %s\n", cp->e.flags & PEER_F_INBOUND ?
	    "inbound (it proposed)" : "outbound (we proposed)");
	printf("Last heartbeat: %s%s\n", hb, cp->e.last_heartbeat > 0 ?
	    " ago" : "");
	printf("Missed:         %u\n", cp->e.missed);
	printf("RTT:            %u ms\n", cp->e.rtt_ms);
	printf("Agents:         %lld\n", (long long)cp->e.agent_count);
	printf("Trust:          %.2f (%s)\n", cp->e.trust_ppm / 1e6,
	    cp->e.trust_level);
	printf("Fee:            %u.%04u%%\n", cp->e.fee_ppm / 10000,
	    cp->e.fee_ppm % 10000);
	printf("Extensions:     %s\n", ext);
	printf("Public key:     %s\n", cp->e.public_key);
	printf("Fingerprint:    SHA256:%s\n", cp->fingerprint);
	printf("DID:            %s\n", cp->did);
}

static int
run_show_peers(struct imsgbuf *ibuf, int json, enum actions action,
    const char *id)
{
	struct ctl_peer_req	 req;
	struct ctl_peer		 cp;
	struct imsg		 imsg;
	json_t			*arr = NULL, *one = NULL;
	char			 since[16], hb[16], rtt[16];
	uint32_t		 type;
	int			 ret = -1, n = 0;

	memset(&req, 0, sizeof(req));
	if (action == SHOW_PEER) {
		if (strlcpy(req.relay_id, id, sizeof(req.relay_id)) >=
		    sizeof(req.relay_id)) {
			warnx("relay id too long: %s", id);
			return (1);
		}
		type = IMSG_CTL_SHOW_PEER;
		if (ctl_request(ibuf, type, &req, sizeof(req)) == -1)
			return (1);
	} else {
		type = action == SHOW_PEERS ? IMSG_CTL_SHOW_PEERS :
		    IMSG_CTL_SHOW_REQUESTS;
		if (ctl_request(ibuf, type, NULL, 0) == -1)
			return (1);
	}
	if (json)
		arr = json_array();
	while (ret == -1) {
		if (ctl_next(ibuf, &imsg) == -1)
			return (1);
		if (imsg_get_type(&imsg) != IMSG_CTL_PEER) {
			if ((ret = ctl_result(&imsg, 1)) == -1)
				errx(1, "unexpected answer %u from relayd",
				    imsg_get_type(&imsg));
			imsg_free(&imsg);
			continue;
		}
		if (imsg_get_data(&imsg, &cp, sizeof(cp)) == -1)
			errx(1, "bad peer answer from relayd");
		imsg_free(&imsg);
		peer_terminate(&cp);
		if (json) {
			if (action == SHOW_PEER)
				one = peer_json(&cp);
			else
				json_array_append_new(arr, peer_json(&cp));
			continue;
		}
		if (action == SHOW_PEER) {
			peer_print_long(&cp);
			continue;
		}
		if (action == SHOW_REQUESTS) {
			if (n++ == 0)
				printf("%-42s %-16s %-8s %s\n", "RELAY",
				    "NAME", "WAITING", "ENDPOINT");
			fmt_age(cp.e.since, since, sizeof(since));
			printf("%-42s %-16.16s %-8s %s\n", cp.e.relay_id,
			    cp.e.display_name[0] ? cp.e.display_name : "-",
			    since, cp.e.endpoint);
			printf("%42s key SHA256:%s\n%42s %s\n", "",
			    cp.fingerprint, "", cp.did);
			continue;
		}
		if (n++ == 0)
			printf("%-42s %-12s %-9s %6s %7s %4s %6s %6s %5s %s\n",
			    "RELAY", "NAME", "STATE", "SINCE", "LAST HB",
			    "MISS", "RTT", "AGENTS", "TRUST", "ENDPOINT");
		fmt_age(cp.e.since, since, sizeof(since));
		fmt_age(cp.e.last_heartbeat, hb, sizeof(hb));
		if (cp.e.state == PEER_ACTIVE || cp.e.state == PEER_SUSPENDED ||
		    cp.e.rtt_ms > 0)
			snprintf(rtt, sizeof(rtt), "%ums", cp.e.rtt_ms);
		else
			strlcpy(rtt, "-", sizeof(rtt));
		printf("%-42s %-12.12s %-9s %6s %7s %4u %6s %6lld %5.2f %s\n",
		    cp.e.relay_id,
		    cp.e.display_name[0] ? cp.e.display_name : "-",
		    awaiting(&cp) != NULL ? (cp.e.flags & PEER_F_AWAIT_US ?
		    "pend/us" : "pend/them") : state_name(cp.e.state),
		    since, hb, cp.e.missed, rtt, (long long)cp.e.agent_count,
		    cp.e.trust_ppm / 1e6, cp.e.endpoint);
	}
	if (json) {
		if (action == SHOW_PEER) {
			json_decref(arr);
			if (one != NULL)
				print_json(one);
		} else
			print_json(json_pack("{s:o}", action == SHOW_PEERS ?
			    "peers" : "requests", arr));
	} else if (ret == 0 && n == 0 && action != SHOW_PEER)
		printf("%s\n", action == SHOW_PEERS ? "no peers" :
		    "no pending requests");
	return (ret);
}

static const char *
peer_cmd_name(enum actions a)
{
	switch (a) {
	case PEER_ADD:
		return ("peer add");
	case PEER_ACCEPT:
		return ("peer accept");
	case PEER_DECLINE:
		return ("peer decline");
	case PEER_REMOVE:
		return ("peer remove");
	default:
		return ("peer block");
	}
}

/*
 * peer add / accept / decline / remove / block: the engine answers the
 * row as it ended up (if there is one), then OK or FAIL with the
 * outcome.
 */
static int
run_peer(struct imsgbuf *ibuf, int json, enum actions action,
    const char *id, const char *url)
{
	struct ctl_peer_req	 req;
	struct ctl_peer		 cp;
	struct ctl_result	 res;
	struct imsg		 imsg;
	const char		*outcome;
	uint32_t		 type;
	int			 have = 0, ok = -1;

	memset(&req, 0, sizeof(req));
	if (action == PEER_ADD) {
		if (strlcpy(req.url, url, sizeof(req.url)) >= sizeof(req.url)) {
			warnx("URL too long: %s", url);
			return (1);
		}
	} else if (strlcpy(req.relay_id, id, sizeof(req.relay_id)) >=
	    sizeof(req.relay_id)) {
		warnx("relay id too long: %s", id);
		return (1);
	}
	switch (action) {
	case PEER_ADD:
		type = IMSG_CTL_PEER_ADD;
		break;
	case PEER_ACCEPT:
		type = IMSG_CTL_PEER_ACCEPT;
		break;
	case PEER_DECLINE:
		type = IMSG_CTL_PEER_DECLINE;
		break;
	case PEER_REMOVE:
		type = IMSG_CTL_PEER_REMOVE;
		break;
	default:
		type = IMSG_CTL_PEER_BLOCK;
		break;
	}
	if (ctl_request(ibuf, type, &req, sizeof(req)) == -1)
		return (1);
	memset(&cp, 0, sizeof(cp));
	memset(&res, 0, sizeof(res));
	while (ok == -1) {
		if (ctl_next(ibuf, &imsg) == -1)
			return (1);
		switch (imsg_get_type(&imsg)) {
		case IMSG_CTL_PEER:
			if (imsg_get_data(&imsg, &cp, sizeof(cp)) == -1)
				errx(1, "bad peer answer from relayd");
			peer_terminate(&cp);
			have = 1;
			break;
		case IMSG_CTL_OK:
		case IMSG_CTL_FAIL:
			if (imsg_get_data(&imsg, &res, sizeof(res)) == -1)
				errx(1, "bad result from relayd");
			res.msg[sizeof(res.msg) - 1] = '\0';
			ok = imsg_get_type(&imsg) == IMSG_CTL_OK;
			break;
		default:
			errx(1, "unexpected answer %u from relayd",
			    imsg_get_type(&imsg));
		}
		imsg_free(&imsg);
	}
	if (ok)
		outcome = have ? state_name(cp.e.state) : "done";
	else if (strncmp(res.msg, "refused", 7) == 0)
		outcome = "refused";
	else
		outcome = "failed";
	if (json) {
		print_json(json_pack("{s:s,s:s?,s:s?,s:b,s:s,s:s,s:o}",
		    "command", peer_cmd_name(action),
		    "url", action == PEER_ADD ? url : NULL,
		    "relay_id", have ? cp.e.relay_id : id,
		    "ok", ok, "outcome", outcome, "message", res.msg,
		    "peer", have ? peer_json(&cp) : json_null()));
		return (ok ? 0 : 1);
	}
	if (have)
		printf("peer %s (%s) at %s: %s\n", cp.e.relay_id,
		    cp.e.display_name[0] ? cp.e.display_name : "-",
		    cp.e.endpoint, res.msg);
	else if (ok)
		printf("%s: %s\n", action == PEER_ADD ? url : id, res.msg);
	else
		warnx("%s %s: %s", peer_cmd_name(action),
		    action == PEER_ADD ? url : id, res.msg);
	return (ok ? 0 : 1);
}

/*
 * Routes and the graph (routed, through the peer engine)
 */
static const char *const dim_names[5] = {
	"trust", "cost", "latency", "reliability", "risk"
};

static const char *
policy_name(int32_t p)
{
	static const char *const names[] = {
		"default", "weighted", "lexicographic", "cost", "trust",
		"latency"
	};

	if (p < 0 || p >= (int32_t)(sizeof(names) / sizeof(names[0])))
		return ("unknown");
	return (names[p]);
}

static const char *
kind_name(int32_t k)
{
	switch (k) {
	case 1:
		return ("self");
	case 2:
		return ("relay");
	case 3:
		return ("agent");
	}
	return ("unknown");
}

static int
route_req(struct ctl_route_req *req, const char *cap, int json)
{
	memset(req, 0, sizeof(*req));
	if (cap != NULL && strlcpy(req->capability, cap,
	    sizeof(req->capability)) >= sizeof(req->capability)) {
		warnx("capability name longer than %d bytes: %s",
		    ROUTE_CAP_MAX - 1, cap);
		return (-1);
	}
	req->json = json;
	return (0);
}

static void
cand_terminate(struct route_candidate *c)
{
	uint32_t	 i;

	c->target[sizeof(c->target) - 1] = '\0';
	c->relay_id[sizeof(c->relay_id) - 1] = '\0';
	c->decided[sizeof(c->decided) - 1] = '\0';
	if (c->npath > ROUTE_PATH_MAX)
		c->npath = ROUTE_PATH_MAX;
	for (i = 0; i < c->npath; i++)
		c->path[i][sizeof(c->path[i]) - 1] = '\0';
}

static json_t *
cand_json(const struct route_candidate *c)
{
	json_t		*path, *scores;
	uint32_t	 i;
	int		 d;

	path = json_array();
	for (i = 0; i < c->npath; i++)
		json_array_append_new(path, json_string(c->path[i]));
	scores = json_object();
	for (d = 0; d < 5; d++)
		json_object_set_new(scores, dim_names[d],
		    json_real(c->score[d]));
	return (json_pack("{s:I,s:s,s:s,s:s?,s:o,s:I,s:f,s:I,s:I,s:f,s:f,"
	    "s:o,s:f,s:I,s:s?}",
	    "rank", (json_int_t)c->rank,
	    "target", c->target,
	    "kind", kind_name(c->target_kind),
	    "relay", c->relay_id[0] != '\0' ? c->relay_id : NULL,
	    "path", path,
	    "hops", (json_int_t)(c->npath > 0 ? c->npath - 1 : 0),
	    "trust", c->trust,
	    "cost", (json_int_t)c->cost,
	    "latency_ms", (json_int_t)c->latency_ms,
	    "reliability", c->reliability,
	    "risk", c->risk,
	    "sub_scores", scores,
	    "composite", c->composite,
	    "alternatives", (json_int_t)c->considered,
	    "decided_by", c->decided[0] != '\0' ? c->decided : NULL));
}

/* "relay-b > relay-c" between this relay and the target, or "-" */
static void
cand_via(const struct route_candidate *c, char *buf, size_t len)
{
	uint32_t	 i;

	buf[0] = '\0';
	for (i = 1; i + 1 < c->npath; i++) {
		if (i > 1)
			strlcat(buf, " > ", len);
		strlcat(buf, c->path[i], len);
	}
	if (buf[0] == '\0')
		strlcpy(buf, "-", len);
}

/* like print_json(), with doubles to 15 digits: 0.3, not 0.299...9 */
static void
print_json_real(json_t *j)
{
	char	*s;

	if ((s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(15))) == NULL)
		errx(1, "json_dumps");
	printf("%s\n", s);
	free(s);
	json_decref(j);
}

static void
end_print(const struct route_end *end, const char *cap)
{
	int	 i;

	if (cap != NULL)
		printf("Capability %s: %u agents, %u alternatives "
		    "considered, %u excluded by constraints\n", cap,
		    end->targets, end->considered, end->excluded);
	else
		printf("Best path to each of %u destinations\n",
		    end->targets);
	printf("Policy %s:", policy_name(end->policy));
	if (end->lexicographic) {
		printf(" order");
		for (i = 0; i < 5; i++)
			if (end->lex[i] >= 0 && end->lex[i] < 5)
				printf("%s%s", i ? ", " : " ",
				    dim_names[end->lex[i]]);
		printf("; ties by score with");
	}
	for (i = 0; i < 5; i++)
		printf("%s %s %.2f", i ? "," : "", dim_names[i],
		    end->weights[i]);
	printf("\n");
	if (cap != NULL && end->considered > 0) {
		if (end->budget > 0)
			printf("Cost scored against the budget of %" PRId64
			    ", ", end->budget);
		else
			printf("Cost normalised over %" PRId64 "..%" PRId64
			    ", ", end->cost_lo, end->cost_hi);
		printf("latency over %" PRId64 "..%" PRId64 " ms\n",
		    end->latency_lo, end->latency_hi);
	}
	if (end->discarded > 0)
		printf("The frontier bound discarded %u labels: the "
		    "alternatives are not exhaustive\n", end->discarded);
}

static int
run_show_routes(struct imsgbuf *ibuf, int json, const char *cap)
{
	struct ctl_route_req	 req;
	struct route_candidate	*cands = NULL, *c;
	struct route_end	 end;
	struct imsg		 imsg;
	json_t			*arr, *o, *w, *order;
	char			 via[512];
	size_t			 n = 0, cap_n = 0, i;
	int			 ret = -1, have_end = 0, d;

	if (route_req(&req, cap, 0) == -1)
		return (1);
	if (ctl_request(ibuf, IMSG_CTL_SHOW_ROUTES, &req, sizeof(req)) == -1)
		return (1);
	memset(&end, 0, sizeof(end));
	while (ret == -1) {
		if (ctl_next(ibuf, &imsg) == -1)
			return (1);
		switch (imsg_get_type(&imsg)) {
		case IMSG_CTL_ROUTE:
			if (n == cap_n) {
				cap_n = cap_n == 0 ? 64 : cap_n * 2;
				if ((cands = reallocarray(cands, cap_n,
				    sizeof(*cands))) == NULL)
					err(1, NULL);
			}
			if (imsg_get_data(&imsg, &cands[n],
			    sizeof(cands[n])) == -1)
				errx(1, "bad route from relayd");
			cand_terminate(&cands[n++]);
			break;
		case IMSG_CTL_ROUTE_END:
			if (imsg_get_data(&imsg, &end, sizeof(end)) == -1)
				errx(1, "bad route summary from relayd");
			have_end = 1;
			break;
		default:
			if ((ret = ctl_result(&imsg, 1)) == -1)
				errx(1, "unexpected answer %u from relayd",
				    imsg_get_type(&imsg));
			break;
		}
		imsg_free(&imsg);
	}
	if (ret != 0 || !have_end) {
		free(cands);
		return (ret != 0 ? ret : 1);
	}

	if (json) {
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, cand_json(&cands[i]));
		w = json_object();
		for (d = 0; d < 5; d++)
			json_object_set_new(w, dim_names[d],
			    json_real(end.weights[d]));
		order = json_array();
		for (d = 0; end.lexicographic && d < 5; d++)
			if (end.lex[d] >= 0 && end.lex[d] < 5)
				json_array_append_new(order,
				    json_string(dim_names[end.lex[d]]));
		o = json_pack("{s:s?,s:s,s:b,s:o,s:o,s:I,s:o,s:I,s:I,s:I,"
		    "s:I,s:o}",
		    "capability", cap,
		    "policy", policy_name(end.policy),
		    "lexicographic", end.lexicographic != 0,
		    "weights", w,
		    "order", order,
		    "budget", (json_int_t)end.budget,
		    "normalisation", cap == NULL ? json_null() :
		    json_pack("{s:[I,I],s:[I,I]}",
		    "cost", (json_int_t)end.cost_lo, (json_int_t)end.cost_hi,
		    "latency_ms", (json_int_t)end.latency_lo,
		    (json_int_t)end.latency_hi),
		    "targets", (json_int_t)end.targets,
		    "alternatives_considered", (json_int_t)end.considered,
		    "excluded", (json_int_t)end.excluded,
		    "discarded", (json_int_t)end.discarded,
		    "routes", arr);
		print_json_real(o);
		free(cands);
		return (0);
	}

	end_print(&end, cap);
	if (n == 0) {
		printf("%s\n", cap != NULL ? "no agent with that capability "
		    "is reachable" : "no destination is reachable");
		free(cands);
		return (0);
	}
	printf("\n");
	if (cap != NULL)
		printf("%-4s ", "RANK");
	printf("%-42s %-5s %5s %9s %8s %5s %6s %4s %-11s %s\n",
	    cap != NULL ? "AGENT" : "DESTINATION", "KIND", "TRUST", "COST",
	    "LATENCY", "REL", "SCORE", "ALTS", "DECIDED BY", "VIA");
	for (i = 0; i < n; i++) {
		c = &cands[i];
		cand_via(c, via, sizeof(via));
		if (cap != NULL)
			printf("%-4u ", c->rank);
		printf("%-42s %-5s %5.2f %9" PRId64 " %6" PRId64 "ms "
		    "%5.2f %6.3f %4u %-11s %s\n", c->target,
		    kind_name(c->target_kind), c->trust, c->cost,
		    c->latency_ms, c->reliability, c->composite,
		    c->considered, c->decided[0] ? c->decided : "-", via);
		if (cap != NULL)
			printf("%-4s sub-scores: trust %.3f, cost %.3f, "
			    "latency %.3f, reliability %.3f, risk %.3f\n", "",
			    c->score[0], c->score[1], c->score[2],
			    c->score[3], c->score[4]);
	}
	free(cands);
	return (0);
}

static int
run_show_graph(struct imsgbuf *ibuf, int json, const char *cap)
{
	struct ctl_route_req	 req;
	struct ctl_text		 hdr;
	struct imsg		 imsg;
	size_t			 len;
	int			 ret = -1, last = 0;

	if (route_req(&req, cap, json) == -1)
		return (1);
	if (ctl_request(ibuf, IMSG_CTL_SHOW_GRAPH, &req, sizeof(req)) == -1)
		return (1);
	while (ret == -1) {
		if (ctl_next(ibuf, &imsg) == -1)
			return (1);
		if (imsg_get_type(&imsg) == IMSG_CTL_GRAPH) {
			len = imsg_get_len(&imsg);
			if (len < sizeof(hdr) || last)
				errx(1, "bad graph chunk from relayd");
			memcpy(&hdr, imsg.data, sizeof(hdr));
			if (fwrite((char *)imsg.data + sizeof(hdr), 1,
			    len - sizeof(hdr), stdout) != len - sizeof(hdr))
				err(1, "stdout");
			last = hdr.last != 0;
		} else if ((ret = ctl_result(&imsg, 1)) == -1)
			errx(1, "unexpected answer %u from relayd",
			    imsg_get_type(&imsg));
		imsg_free(&imsg);
	}
	if (ret == 0 && !last)
		errx(1, "the graph from relayd is incomplete");
	if (fflush(stdout) == EOF)
		err(1, "stdout");
	return (ret);
}

/*
 * Agents: show agents [capability NAME], show agent ID, agent revoke ID.
 * ledgerd answers through the peer engine, one IMSG_CTL_AGENT per row.
 */
static void
agent_terminate(struct ctl_agent *a)
{
	uint32_t	 i;

	a->motebit_id[sizeof(a->motebit_id) - 1] = '\0';
	a->public_key[sizeof(a->public_key) - 1] = '\0';
	a->device_id[sizeof(a->device_id) - 1] = '\0';
	a->endpoint[sizeof(a->endpoint) - 1] = '\0';
	a->display_name[sizeof(a->display_name) - 1] = '\0';
	a->settlement_address[sizeof(a->settlement_address) - 1] = '\0';
	a->settlement_modes[sizeof(a->settlement_modes) - 1] = '\0';
	a->listing_id[sizeof(a->listing_id) - 1] = '\0';
	if (a->ncaps > ROUTE_CAPS_MAX)
		a->ncaps = ROUTE_CAPS_MAX;
	for (i = 0; i < a->ncaps; i++)
		a->caps[i][ROUTE_CAP_MAX - 1] = '\0';
}

static json_t *
opt_str(const char *s)
{
	return (s[0] != '\0' ? json_string(s) : json_null());
}

static json_t *
opt_ms(int64_t ms)
{
	return (ms > 0 ? json_integer(ms) : json_null());
}

static json_t *
agent_json(const struct ctl_agent *a)
{
	json_t		*caps, *o;
	uint32_t	 i;

	if ((caps = json_array()) == NULL)
		errx(1, "out of memory");
	for (i = 0; i < a->ncaps; i++)
		json_array_append_new(caps, json_string(a->caps[i]));
	o = json_pack("{s:s, s:s, s:o, s:b, s:b, s:b, s:o, s:o, s:o, s:I, "
	    "s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:I}",
	    "motebit_id", a->motebit_id, "public_key", a->public_key,
	    "device_id", opt_str(a->device_id), "registered", a->registered,
	    "visible", a->visible, "revoked", a->revoked,
	    "endpoint_url", opt_str(a->endpoint),
	    "display_name", opt_str(a->display_name), "capabilities", caps,
	    "price", (json_int_t)a->price,
	    "latency_ms", (json_int_t)a->latency_ms,
	    "listing_id", opt_str(a->listing_id),
	    "settlement_address", opt_str(a->settlement_address),
	    "settlement_modes", opt_str(a->settlement_modes),
	    "last_seen", opt_ms(a->last_seen), "expires", opt_ms(a->expires),
	    "devices", (json_int_t)a->devices,
	    "pending_revocations", (json_int_t)a->pending_revocations);
	if (o == NULL)
		errx(1, "json_pack");
	json_object_set_new(o, "created", opt_ms(a->created));
	return (o);
}

static const char *
agent_state(const struct ctl_agent *a)
{
	if (a->revoked)
		return ("revoked");
	if (!a->registered)
		return ("bootstrapped");
	return (a->visible ? "public" : "local");
}

static void
agent_caps(const struct ctl_agent *a, char *buf, size_t len)
{
	uint32_t	 i;

	buf[0] = '\0';
	for (i = 0; i < a->ncaps; i++) {
		if (i > 0)
			strlcat(buf, ",", len);
		strlcat(buf, a->caps[i], len);
	}
	if (buf[0] == '\0')
		strlcpy(buf, "-", len);
}

static void
agent_print_long(const struct ctl_agent *a)
{
	char	 caps[ROUTE_CAPS_MAX * ROUTE_CAP_MAX], seen[16], price[32];

	agent_caps(a, caps, sizeof(caps));
	fmt_age(a->last_seen, seen, sizeof(seen));
	snprintf(price, sizeof(price), "%lld.%06lld USDC",
	    (long long)(a->price / 1000000), (long long)(a->price % 1000000));
	printf("agent %s\n", a->motebit_id);
	printf("  state:        %s\n", agent_state(a));
	printf("  public key:   %s\n", a->public_key);
	printf("  devices:      %u%s%s\n", a->devices,
	    a->device_id[0] ? ", registered with " : "", a->device_id);
	printf("  name:         %s\n", a->display_name[0] ?
	    a->display_name : "-");
	printf("  endpoint:     %s\n", a->endpoint[0] ? a->endpoint : "-");
	printf("  capabilities: %s\n", caps);
	printf("  price:        %s (%lld micro-units)\n", price,
	    (long long)a->price);
	printf("  latency:      %u ms\n", a->latency_ms);
	printf("  listing:      %s\n", a->listing_id[0] ? a->listing_id :
	    "-");
	printf("  settlement:   %s %s\n", a->settlement_address[0] ?
	    a->settlement_address : "-", a->settlement_modes[0] ?
	    a->settlement_modes : "");
	printf("  last seen:    %s\n", seen);
	printf("  revocations owed to peers: %u\n", a->pending_revocations);
}

static int
run_agents(struct imsgbuf *ibuf, int json, enum actions action,
    const char *id, const char *cap)
{
	struct ctl_agent_req	 req;
	struct ctl_agent	 a;
	struct imsg		 imsg;
	json_t			*arr = NULL, *one = NULL;
	char			 caps[ROUTE_CAPS_MAX * ROUTE_CAP_MAX], seen[16];
	uint32_t		 type;
	int			 ret = -1, n = 0;

	memset(&req, 0, sizeof(req));
	if (id != NULL && strlcpy(req.motebit_id, id,
	    sizeof(req.motebit_id)) >= sizeof(req.motebit_id)) {
		warnx("motebit_id too long: %s", id);
		return (1);
	}
	if (cap != NULL && strlcpy(req.capability, cap,
	    sizeof(req.capability)) >= sizeof(req.capability)) {
		warnx("capability name too long: %s", cap);
		return (1);
	}
	type = action == SHOW_AGENTS ? IMSG_CTL_SHOW_AGENTS :
	    action == SHOW_AGENT ? IMSG_CTL_SHOW_AGENT : IMSG_CTL_AGENT_REVOKE;
	if (action == AGENT_REVOKE) {
		if (json) {
			if (ctl_request(ibuf, type, &req, sizeof(req)) == -1 ||
			    ctl_next(ibuf, &imsg) == -1)
				return (1);
			ret = ctl_result(&imsg, 1);
			imsg_free(&imsg);
			if (ret == -1)
				errx(1, "unexpected answer from relayd");
			print_json(json_pack("{s:s, s:b}", "motebit_id", id,
			    "revoked", ret == 0));
			return (ret);
		}
		return (run_simple(ibuf, type, &req, sizeof(req)));
	}
	if (ctl_request(ibuf, type, &req, sizeof(req)) == -1)
		return (1);
	if (json)
		arr = json_array();
	while (ret == -1) {
		if (ctl_next(ibuf, &imsg) == -1)
			return (1);
		if (imsg_get_type(&imsg) != IMSG_CTL_AGENT) {
			if ((ret = ctl_result(&imsg, 1)) == -1)
				errx(1, "unexpected answer %u from relayd",
				    imsg_get_type(&imsg));
			imsg_free(&imsg);
			continue;
		}
		if (imsg_get_data(&imsg, &a, sizeof(a)) == -1)
			errx(1, "bad agent answer from relayd");
		imsg_free(&imsg);
		agent_terminate(&a);
		if (json) {
			if (action == SHOW_AGENT) {
				json_decref(one);
				one = agent_json(&a);
			} else
				json_array_append_new(arr, agent_json(&a));
			continue;
		}
		if (action == SHOW_AGENT) {
			agent_print_long(&a);
			continue;
		}
		if (n++ == 0)
			printf("%-36s %-12s %-12s %10s %6s %s\n", "AGENT",
			    "STATE", "NAME", "PRICE", "SEEN", "CAPABILITIES");
		agent_caps(&a, caps, sizeof(caps));
		fmt_age(a.last_seen, seen, sizeof(seen));
		printf("%-36s %-12s %-12.12s %10lld %6s %s\n", a.motebit_id,
		    agent_state(&a), a.display_name[0] ? a.display_name : "-",
		    (long long)a.price, seen, caps);
	}
	if (json) {
		if (action == SHOW_AGENT) {
			json_decref(arr);
			if (one != NULL)
				print_json(one);
		} else
			print_json(json_pack("{s:o}", "agents", arr));
	} else if (ret == 0 && n == 0 && action == SHOW_AGENTS)
		printf("no agents\n");
	return (ret);
}
