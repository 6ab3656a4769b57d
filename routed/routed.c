/*
 * routed: the routing engine process.  It runs sandboxed with no network
 * and no file system; everything it knows arrives over imsg from the
 * parent, the peer engine and ledgerd, and it answers route queries from
 * the frontend and the peer engine.
 */
#include "config.h"

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event.h>

#include "log.h"
#include "proc.h"

static struct proc		 routed;
static struct cfg_global	 cfg, ncfg;
static struct cfg_identity	 identity;
static int			 have_identity;

static int	 routed_dispatch_parent(struct imsgev *, struct imsg *);
static int	 routed_dispatch_ledgerd(struct imsgev *, struct imsg *);
static int	 routed_dispatch_other(struct imsgev *, struct imsg *);
static void	 routed_status(struct proc *, struct proc_status *);

static const struct proc_dispatch routed_dispatch[] = {
	{ PROC_PARENT,		routed_dispatch_parent },
	{ PROC_LEDGERD,		routed_dispatch_ledgerd },
	{ PROC_PEER,		routed_dispatch_other },
	{ PROC_FRONTEND,	routed_dispatch_other },
	{ 0,			NULL }
};

static __attribute__((__noreturn__)) void
usage(void)
{
	fprintf(stderr, "usage: routed [-dv]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	int	ch, debug = 0, verbose = 0;

	while ((ch = getopt(argc, argv, "dv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
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
	log_init(debug, LOG_DAEMON);
	log_setverbose(verbose + debug);

	memset(&routed, 0, sizeof(routed));
	routed.dispatch = routed_dispatch;
	routed.status = routed_status;
	proc_child_init(&routed, PROC_ROUTED, 0, "routed");
	proc_run(&routed);
	return (0);
}

static void
routed_status(struct proc *p, struct proc_status *st)
{
	snprintf(st->detail, sizeof(st->detail), "%s",
	    have_identity ? "graph ready" : "waiting for identity");
}

static int
routed_dispatch_parent(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg_get_type(imsg)) {
	case IMSG_CFG_GLOBAL:
		if (imsg_get_data(imsg, &ncfg, sizeof(ncfg)) == -1)
			fatalx("bad IMSG_CFG_GLOBAL");
		return (0);
	case IMSG_CFG_DONE:
		cfg = ncfg;
		imsg_compose_event(iev, IMSG_CFG_ACK, 0, 0, -1, NULL, 0);
		return (0);
	case IMSG_CFG_IDENTITY:
		if (imsg_get_data(imsg, &identity, sizeof(identity)) == -1)
			fatalx("bad IMSG_CFG_IDENTITY");
		identity.relay_id[sizeof(identity.relay_id) - 1] = '\0';
		have_identity = 1;
		return (0);
	}
	return (-1);
}

static int
routed_dispatch_ledgerd(struct imsgev *iev, struct imsg *imsg)
{
	struct ldg_state	st;

	switch (imsg_get_type(imsg)) {
	case IMSG_LDG_STATE:
		if (imsg_get_data(imsg, &st, sizeof(st)) == -1)
			fatalx("bad IMSG_LDG_STATE");
		return (0);
	}
	return (-1);
}

static int
routed_dispatch_other(struct imsgev *iev, struct imsg *imsg)
{
	struct peer_entry	pe;

	switch (imsg_get_type(imsg)) {
	case IMSG_PEER_UPSERT:
	case IMSG_PEER_DELETE:
		/*
		 * The peer engine's table (state, rtt_ms, trust_ppm,
		 * fee_ppm per peer relay): the routing graph takes it in
		 * with the routing issue; until then it is only checked.
		 */
		if (iev->peer != PROC_PEER ||
		    imsg_get_data(imsg, &pe, sizeof(pe)) == -1)
			fatalx("bad peer table message from %s",
			    proc_name(iev->peer));
		return (0);
	}
	return (-1);
}
