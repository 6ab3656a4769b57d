/*
 * fedverify: signed federation heartbeats authenticated per second by
 * one frontend, in this process, through the real code, against raw
 * OpenSSL Ed25519 verification of the same signatures in the same run.
 *
 * NPEERS simulated peers (Ed25519 keys from fixed seeds, each with its
 * own client address) are put into the frontend's peer table copy
 * (fe_peer_upsert()).  Each sends PER heartbeats, one second apart and
 * all within the +-5 minute window, signed as a peer signs them
 * (regress/integration/fedsign.c): either with the reference's template
 * and the hex signature in the body, or with X-Relay-* headers over
 * JCS(body).  The request bodies are the bytes that arrive over HTTP.
 * Each request then goes through what the frontend does for
 * POST /federation/v1/heartbeat (relayd/frontend/fe_fed.c: fe_fed_begin(),
 * fe_fed_auth()) and then what the peer engine does before the state
 * machine (relayd/peer/peering.c: fed_gate()):
 *
 *	strict JSON parse	jcs_parse(), as http.c does for every body
 *	X-Relay-* headers	fedauth_headers()
 *	body fields		fedauth_parse(FEDAUTH_HEARTBEAT)
 *	timestamp window	fedauth_fresh()
 *	signer's key		fe_peer_find() in the table copy
 *	signature		fedauth_verify()
 *	replay			replay_seen()
 *	the peer's budget	budget_hit() (the default 30 a minute)
 *	replay cache		replay_check()
 *
 * A refusal by the frontend is charged to the client's address
 * (fedlimit_check(), as fe_fed_refuse() does); an authenticated request
 * is not.
 * fe_fed_auth() and fed_gate() are static and tied to an HTTP request and
 * to imsg, so this program calls the functions they call, in their
 * order, with the same arguments.  Every request must pass every check;
 * any refusal stops the benchmark.  Before timing, a request with one bit
 * of its signature flipped must fail and a second sighting of a
 * signature must be a replay.
 *
 * "raw" is the least a verifier must do: EVP_DigestVerifyInit() and
 * EVP_DigestVerify() with the peer's EVP_PKEY made once, over the signing
 * input (template or JCS bytes) made once; "lib" is common/crypto.c's
 * ed25519_verify(), which the real path calls (the key is made from its
 * bytes each time).  Every run verifies all NPEERS x PER requests once
 * each way, with a fresh replay cache and limiters, in batches of BATCH
 * requests that go raw, lib, real in turn.  Rates are per
 * second of this process's CPU time (the machine may be shared).
 *
 * usage: fedverify [-k peers] [-n per-peer] [-r runs]
 */
#include "config.h"

#include <err.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "encoding.h"
#include "fedauth.h"
#include "frontend.h"
#include "jcs.h"
#include "peerstate.h"
#include "relayd_imsg.h"

#define OWN_ID		"bench-relay"
#define MAXRUNS		21
#define BATCH		100	/* requests, then the next kind */
#define RATE_LIMIT	30		/* config.c's defaults */
#define RATE_WINDOW_MS	(60 * 1000)

enum style {
	STYLE_TEMPLATE = 0,
	STYLE_HEADER,
	NSTYLES
};

static const char *style_names[NSTYLES] = {
	"template, hex in body",
	"X-Relay-* headers, JCS"
};

struct peer {
	char		 id[RELAY_ID_MAX];
	char		 addr[64];
	EVP_PKEY	*key;
	uint8_t		 pub[ED25519_PUB_LEN];
};

struct req {
	int		 peer;
	char		*body;		/* as received */
	size_t		 bodylen;
	char		 hid[RELAY_ID_MAX];	/* X-Relay-* */
	char		 hts[24];
	char		 hsig[B64URL_LEN(ED25519_SIG_LEN) + 1];
	uint8_t		*tbs;		/* raw: the signing input */
	size_t		 tbslen;
	uint8_t		 sig[ED25519_SIG_LEN];
};

static struct peer	*peers;
static int		 npeers = 1000, per = 5, runs = 5;

/*
 * This process's CPU time: single-threaded, on a shared machine it
 * leaves out the time others had the core.
 */
static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static void
make_peers(void)
{
	struct peer_entry	 e;
	uint8_t			 seed[ED25519_SEED_LEN];
	int			 i;

	if ((peers = calloc(npeers, sizeof(*peers))) == NULL)
		err(1, NULL);
	fe_fed_init();
	for (i = 0; i < npeers; i++) {
		memset(seed, 0, sizeof(seed));
		seed[0] = 0xbe;
		seed[1] = i >> 16;
		seed[2] = i >> 8;
		seed[3] = i;
		if ((peers[i].key = ed25519_from_seed(seed)) == NULL ||
		    ed25519_public(peers[i].key, peers[i].pub) == -1)
			errx(1, "cannot make key %d", i);
		snprintf(peers[i].id, sizeof(peers[i].id), "peer-%05d.example",
		    i);
		snprintf(peers[i].addr, sizeof(peers[i].addr), "10.%d.%d.%d",
		    (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
		memset(&e, 0, sizeof(e));
		strlcpy(e.relay_id, peers[i].id, sizeof(e.relay_id));
		hex_encode(peers[i].pub, sizeof(peers[i].pub), e.public_key);
		snprintf(e.endpoint, sizeof(e.endpoint), "https://%s",
		    peers[i].id);
		strlcpy(e.display_name, peers[i].id, sizeof(e.display_name));
		e.state = PEER_ACTIVE;
		fe_peer_upsert(&e);
	}
	if (fe_peer_active() != (size_t)npeers)
		errx(1, "peer table holds %zu active peers, not %d",
		    fe_peer_active(), npeers);
}

/* A heartbeat as a peer sends it, and the raw signing input. */
static void
make_req(struct req *r, int p, enum style st, int64_t ts)
{
	json_t	*o;
	char	 msg[512], hex[SIG_HEX_MAX];

	memset(r, 0, sizeof(*r));
	r->peer = p;
	o = json_pack("{s:s, s:I, s:I}", "relay_id", peers[p].id,
	    "timestamp", (json_int_t)ts, "agent_count", (json_int_t)(p % 97));
	if (o == NULL)
		errx(1, "json_pack");
	if (st == STYLE_TEMPLATE) {
		if (msg_heartbeat(msg, sizeof(msg), peers[p].id, ts) == -1)
			errx(1, "msg_heartbeat");
		r->tbslen = strlen(msg);
		if ((r->tbs = malloc(r->tbslen)) == NULL)
			err(1, NULL);
		memcpy(r->tbs, msg, r->tbslen);
	} else {
		r->tbs = (uint8_t *)jcs_serialize(o, 0, &r->tbslen);
		if (r->tbs == NULL)
			errx(1, "jcs_serialize");
	}
	if (ed25519_sign(peers[p].key, r->tbs, r->tbslen, r->sig) == -1)
		errx(1, "ed25519_sign");
	if (st == STYLE_TEMPLATE) {
		hex_encode(r->sig, sizeof(r->sig), hex);
		json_object_set_new(o, "signature", json_string(hex));
	} else {
		strlcpy(r->hid, peers[p].id, sizeof(r->hid));
		snprintf(r->hts, sizeof(r->hts), "%" PRId64, ts);
		r->hsig[b64url_encode(r->sig, sizeof(r->sig), r->hsig)] =
		    '\0';
	}
	/* what a peer puts on the wire: compact, not necessarily JCS */
	if ((r->body = json_dumps(o, JSON_COMPACT)) == NULL)
		errx(1, "json_dumps");
	r->bodylen = strlen(r->body);
	json_decref(o);
}

struct gate {
	struct fedlimit	 iplim;
	struct budget	*budgets;	/* the peer rows' budgets */
	struct replay	 rc;
};

static void
gate_init(struct gate *g)
{
	fedlimit_init(&g->iplim);
	if ((g->budgets = calloc(npeers, sizeof(*g->budgets))) == NULL)
		err(1, NULL);
	replay_init(&g->rc, PEER_REPLAY_MAX);
}

static void
gate_clear(struct gate *g)
{
	fedlimit_clear(&g->iplim);
	free(g->budgets);
	replay_clear(&g->rc);
}

/* fe_fed_refuse(): a refused request is charged to its address */
static int
refuse(struct gate *g, const struct req *r, char *why, size_t whylen,
    const char *reason)
{
	uint32_t	 retry;

	if (fedlimit_check(&g->iplim, peers[r->peer].addr, now_ms(),
	    &retry) == -1)
		reason = "per-IP limit";
	if (reason != NULL)
		snprintf(why, whylen, "%s", reason);
	return (-1);
}

/*
 * The frontend's and the peer engine's checks of one heartbeat; 0 when
 * it passes all of them, else -1 with the reason.
 */
static int
authenticate(struct gate *g, const struct req *r, enum style st,
    char *why, size_t whylen)
{
	const struct peer_entry	*pe;
	struct fedauth_cred	 c;
	json_t			*body;
	int64_t			 now;
	uint32_t		 retry;
	int			 ret = -1;

	/* http.c: every JSON body passes the strict parser first */
	if ((body = jcs_parse(r->body, r->bodylen, why, whylen)) == NULL)
		return (-1);
	memset(&c, 0, sizeof(c));
	if (st == STYLE_HEADER) {
		if (fedauth_headers(r->hid, r->hts, r->hsig, &c, why,
		    whylen) != 1) {
			ret = refuse(g, r, why, whylen, NULL);
			goto done;
		}
	} else if (fedauth_headers(NULL, NULL, NULL, &c, why, whylen) != 0) {
		ret = refuse(g, r, why, whylen, NULL);
		goto done;
	}
	if (fedauth_parse(FEDAUTH_HEARTBEAT, body, OWN_ID, &c, why,
	    whylen) == -1) {
		ret = refuse(g, r, why, whylen, NULL);
		goto done;
	}
	if (!fedauth_fresh(c.timestamp, now_ms())) {
		ret = refuse(g, r, why, whylen, "timestamp outside the "
		    "window");
		goto done;
	}
	if ((pe = fe_peer_find(c.signer)) == NULL) {
		ret = refuse(g, r, why, whylen, "unknown relay");
		goto done;
	}
	if (fedauth_verify(body, &c, pe->public_key) == -1) {
		ret = refuse(g, r, why, whylen, "signature verification "
		    "failed");
		goto done;
	}
	/*
	 * The peer engine, on IMSG_FED_HEARTBEAT (fed_gate()): a replay
	 * first, then the signer's budget in its row, then remember it.
	 * Its own table lookup (peer_find()) is stood in for by the
	 * frontend's, a red-black tree keyed by relay id as well.
	 */
	now = now_ms();
	if (replay_seen(&g->rc, c.signer, c.sighex, now) == REPLAY_SEEN) {
		snprintf(why, whylen, "replayed request");
		goto done;
	}
	if (fe_peer_find(c.signer) == NULL ||
	    budget_hit(&g->budgets[r->peer], now, RATE_LIMIT,
	    RATE_WINDOW_MS, &retry) == -1) {
		snprintf(why, whylen, "per-peer limit");
		goto done;
	}
	if (replay_check(&g->rc, c.signer, c.sighex, now) != REPLAY_NEW) {
		snprintf(why, whylen, "replay cache full");
		goto done;
	}
	ret = 0;
 done:
	json_decref(body);
	return (ret);
}

/* the whole path, over n requests */
static double
time_real(struct gate *g, struct req *reqs, int n, enum style st)
{
	char		 why[256];
	double		 t0;
	int		 i;

	t0 = now_s();
	for (i = 0; i < n; i++)
		if (authenticate(g, &reqs[i], st, why, sizeof(why)) == -1)
			errx(1, "request from %s refused: %s",
			    peers[reqs[i].peer].id, why);
	return (now_s() - t0);
}

/* EVP_DigestVerify with the key made once */
static double
time_raw(EVP_MD_CTX *ctx, struct req *reqs, int n)
{
	double		 t0;
	int		 i;

	t0 = now_s();
	for (i = 0; i < n; i++) {
		if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL,
		    peers[reqs[i].peer].key) != 1 ||
		    EVP_DigestVerify(ctx, reqs[i].sig, ED25519_SIG_LEN,
		    reqs[i].tbs, reqs[i].tbslen) != 1)
			errx(1, "raw verify failed");
		EVP_MD_CTX_reset(ctx);
	}
	return (now_s() - t0);
}

/* common/crypto.c's ed25519_verify(): the key made from its bytes */
static double
time_lib(struct req *reqs, int n)
{
	double		 t0;
	int		 i;

	t0 = now_s();
	for (i = 0; i < n; i++)
		if (ed25519_verify(peers[reqs[i].peer].pub, reqs[i].tbs,
		    reqs[i].tbslen, reqs[i].sig) == -1)
			errx(1, "ed25519_verify failed");
	return (now_s() - t0);
}

/*
 * One run over all n requests, in batches of BATCH, each verified raw,
 * lib and real in turn, so that whatever else runs on the machine hits
 * the three alike.  Rates in *raw, *lib, *real.
 */
static void
run(struct req *reqs, int n, enum style st, double *raw, double *lib,
    double *real)
{
	struct gate	 g;
	EVP_MD_CTX	*ctx;
	double		 traw = 0, tlib = 0, treal = 0;
	int		 b, m;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		errx(1, "EVP_MD_CTX_new");
	gate_init(&g);
	for (b = 0; b < n; b += BATCH) {
		m = n - b < BATCH ? n - b : BATCH;
		traw += time_raw(ctx, reqs + b, m);
		tlib += time_lib(reqs + b, m);
		treal += time_real(&g, reqs + b, m, st);
	}
	gate_clear(&g);
	EVP_MD_CTX_free(ctx);
	*raw = n / traw;
	*lib = n / tlib;
	*real = n / treal;
}

/* Bad signatures fail and replays are caught: the path can say no. */
static void
selftest(struct req *reqs, enum style st)
{
	struct gate	 g;
	struct req	 bad;
	char		 why[256], *p;

	gate_init(&g);
	bad = reqs[0];
	if ((bad.body = strdup(reqs[0].body)) == NULL)
		err(1, NULL);
	if (st == STYLE_TEMPLATE) {
		/* flip a bit of the first hex digit of the signature */
		if ((p = strstr(bad.body, "\"signature\":\"")) == NULL)
			errx(1, "no signature in %s", bad.body);
		p += strlen("\"signature\":\"");
		*p = *p == '0' ? '1' : '0';
	} else
		bad.hsig[0] = bad.hsig[0] == 'A' ? 'B' : 'A';
	if (authenticate(&g, &bad, st, why, sizeof(why)) == 0 ||
	    strcmp(why, "signature verification failed") != 0)
		errx(1, "%s: a flipped signature was not refused (%s)",
		    style_names[st], why);
	free(bad.body);
	if (authenticate(&g, &reqs[0], st, why, sizeof(why)) == -1)
		errx(1, "%s: refused: %s", style_names[st], why);
	if (authenticate(&g, &reqs[0], st, why, sizeof(why)) == 0 ||
	    strcmp(why, "replayed request") != 0)
		errx(1, "%s: a replay was not refused (%s)", style_names[st],
		    why);
	gate_clear(&g);
}

static int
dcmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

static double
median(double *v, int n)
{
	qsort(v, n, sizeof(*v), dcmp);
	return (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

static double
best(const double *v, int n)
{
	double	 b = v[0];
	int	 i;

	for (i = 1; i < n; i++)
		if (v[i] > b)
			b = v[i];
	return (b);
}

int
main(int argc, char *argv[])
{
	struct req	*reqs[NSTYLES];
	double		 raw[NSTYLES][MAXRUNS], real[NSTYLES][MAXRUNS];
	double		 lib[NSTYLES][MAXRUNS];
	double		 rb, rm, lb, lm, xb, xm;
	const char	*errstr;
	int64_t		 start;
	int		 ch, i, j, n, r, st;

	while ((ch = getopt(argc, argv, "k:n:r:")) != -1) {
		switch (ch) {
		case 'k':
			npeers = strtonum(optarg, 1, 100000, &errstr);
			if (errstr != NULL)
				errx(2, "-k %s: %s", optarg, errstr);
			break;
		case 'n':
			/* under the per-peer limit and the replay cache */
			per = strtonum(optarg, 1, RATE_LIMIT, &errstr);
			if (errstr != NULL)
				errx(2, "-n %s: %s", optarg, errstr);
			break;
		case 'r':
			runs = strtonum(optarg, 1, MAXRUNS, &errstr);
			if (errstr != NULL)
				errx(2, "-r %s: %s", optarg, errstr);
			break;
		default:
			fprintf(stderr, "usage: fedverify [-k peers] "
			    "[-n per-peer] [-r runs]\n");
			return (2);
		}
	}
	n = npeers * per;
	if (n > PEER_REPLAY_MAX)
		errx(2, "%d requests do not fit the replay cache (%d)", n,
		    PEER_REPLAY_MAX);

	make_peers();
	start = now_ms() - per * 1000;
	for (st = 0; st < NSTYLES; st++) {
		if ((reqs[st] = calloc(n, sizeof(*reqs[st]))) == NULL)
			err(1, NULL);
		/* round-robin over the peers, as heartbeats arrive */
		for (j = 0; j < per; j++)
			for (i = 0; i < npeers; i++)
				make_req(&reqs[st][j * npeers + i], i, st,
				    start + j * 1000 + i % 1000);
		selftest(reqs[st], st);
	}

	for (r = 0; r < runs; r++)
		for (st = 0; st < NSTYLES; st++) {
			run(reqs[st], n, st, &raw[st][r], &lib[st][r],
			    &real[st][r]);
		}

	printf("Signed heartbeats authenticated in one frontend, in-process: "
	    "%d peers x %d\nheartbeats = %d requests a run, %d runs; raw, "
	    "lib and real alternate\nevery %d requests.\n", npeers, per, n,
	    runs, BATCH);
	printf("raw: EVP_DigestVerify, key made once; lib: "
	    "ed25519_verify() (key from its\nbytes each time); real: the "
	    "whole path (strict parse, fedauth, peer table,\nverify, "
	    "replay, the peer's budget, replay cache).\nRequests per CPU "
	    "second, best and median.\n\n");
	printf("%-23s %7s %7s %7s %7s %7s %7s %7s %7s\n", "style",
	    "raw", "raw", "lib", "lib", "real", "real", "ratio", "ratio");
	printf("%-23s %7s %7s %7s %7s %7s %7s %7s %7s\n", "", "best", "med",
	    "best", "med", "best", "med", "best", "med");
	for (st = 0; st < NSTYLES; st++) {
		rb = best(raw[st], runs);
		rm = median(raw[st], runs);
		lb = best(lib[st], runs);
		lm = median(lib[st], runs);
		xb = best(real[st], runs);
		xm = median(real[st], runs);
		printf("%-23s %7.0f %7.0f %7.0f %7.0f %7.0f %7.0f %6.1f%% "
		    "%6.1f%%\n", style_names[st], rb, rm, lb, lm, xb, xm,
		    100 * xb / rb, 100 * xm / rm);
	}
	printf("(ratio: real / raw; target >= 70 %%)\n");

	for (st = 0; st < NSTYLES; st++) {
		for (i = 0; i < n; i++) {
			free(reqs[st][i].body);
			free(reqs[st][i].tbs);
		}
		free(reqs[st]);
	}
	for (i = 0; i < npeers; i++)
		EVP_PKEY_free(peers[i].key);
	free(peers);
	fe_fed_init();
	return (0);
}
