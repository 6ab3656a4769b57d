/*
 * relayd.conf(5) in memory: defaults, release, and the normalised printer
 * behind "relayd -nv".  The printer writes every setting, defaults
 * included, in one fixed order, with macros expanded and includes inlined;
 * its output parses back to the same configuration.
 */
#include "config.h"

#include <sys/queue.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

struct relayd_config *
config_new_default(void)
{
	struct relayd_config	*conf;

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return (NULL);
	TAILQ_INIT(&conf->listens);
	TAILQ_INIT(&conf->fedrules);

	strlcpy(conf->g.name, "relayd", sizeof(conf->g.name));
	conf->g.endpoint[0] = '\0';	/* derived from the first listen */
	conf->g.prefork = 2;
	conf->g.body_limit = 1024 * 1024;
	conf->g.http_max_conns = 1024;
	conf->g.http_req_timeout_ms = 15 * 1000;
	conf->g.fee_ppm = 50000;

	conf->g.fed_enable = 0;
	conf->g.fed_accept_auto = 0;
	conf->g.fed_peers_public = 0;
	conf->g.fed_max_peers = 10;
	conf->g.fed_max_hops = 3;
	conf->g.fed_hb_interval_ms = 60 * 1000;
	conf->g.fed_suspend_after = 3;
	conf->g.fed_remove_after = 5;
	conf->g.fed_query_ttl_ms = 30 * 1000;
	conf->g.fed_rate_limit = 30;
	conf->g.fed_rate_window_ms = 60 * 1000;
	conf->g.fed_max_pending = 16;
	conf->g.fed_pending_expire_ms = 24 * 3600 * 1000;
	conf->g.fed_hs_limit = 120;
	conf->g.fed_hs_window_ms = 60 * 1000;
	conf->g.fed_ep.schemes = EP_SCHEME_HTTP | EP_SCHEME_HTTPS;
	conf->g.fed_ep.allow = 0;
	conf->g.fed_ep.nports = 0;

	conf->g.anchor_batch_size = 100;
	conf->g.anchor_interval_ms = 3600 * 1000;

	conf->g.route_w_trust = 300000;
	conf->g.route_w_cost = 200000;
	conf->g.route_w_latency = 150000;
	conf->g.route_w_reliability = 150000;
	conf->g.route_w_risk = 200000;
	conf->g.route_lexicographic = 0;

	strlcpy(conf->user, RELAYD_USER, sizeof(conf->user));
	strlcpy(conf->key_user, RELAYD_KEY_USER, sizeof(conf->key_user));
	strlcpy(conf->chroot, RELAYD_CHROOT, sizeof(conf->chroot));
	strlcpy(conf->key_path, RELAYD_KEY_FILE, sizeof(conf->key_path));
	strlcpy(conf->audit_log, RELAYD_AUDIT_LOG, sizeof(conf->audit_log));
	strlcpy(conf->database, RELAYD_DATABASE, sizeof(conf->database));
	strlcpy(conf->control_sock, RELAYD_CONTROL_SOCK,
	    sizeof(conf->control_sock));
	return (conf);
}

void
config_free(struct relayd_config *conf)
{
	struct listen_config	*lc;
	struct fedrule_config	*r;

	if (conf == NULL)
		return;
	while ((lc = TAILQ_FIRST(&conf->listens)) != NULL) {
		TAILQ_REMOVE(&conf->listens, lc, entry);
		free(lc);
	}
	while ((r = TAILQ_FIRST(&conf->fedrules)) != NULL) {
		TAILQ_REMOVE(&conf->fedrules, r, entry);
		free(r);
	}
	/* the database string may carry a password */
	freezero(conf, sizeof(*conf));
}

/* The largest of h, m, s, ms that divides the value exactly. */
const char *
config_fmt_duration(uint64_t ms, char *buf, size_t len)
{
	if (ms == 0)
		snprintf(buf, len, "0s");
	else if (ms % (3600 * 1000) == 0)
		snprintf(buf, len, "%" PRIu64 "h", ms / (3600 * 1000));
	else if (ms % (60 * 1000) == 0)
		snprintf(buf, len, "%" PRIu64 "m", ms / (60 * 1000));
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%" PRIu64 "s", ms / 1000);
	else
		snprintf(buf, len, "%" PRIu64 "ms", ms);
	return (buf);
}

/* M or K when they divide exactly, else plain bytes. */
const char *
config_fmt_size(uint64_t bytes, char *buf, size_t len)
{
	if (bytes != 0 && bytes % (1024 * 1024) == 0)
		snprintf(buf, len, "%" PRIu64 "M", bytes / (1024 * 1024));
	else if (bytes != 0 && bytes % 1024 == 0)
		snprintf(buf, len, "%" PRIu64 "K", bytes / 1024);
	else
		snprintf(buf, len, "%" PRIu64, bytes);
	return (buf);
}

/* value / 10^scale with the fewest decimals that are exact */
static const char *
fmt_fixed(uint32_t value, int scale, const char *suffix, char *buf,
    size_t len)
{
	uint32_t	 div = 1, frac;
	char		 digits[16];
	int		 i, n;

	for (i = 0; i < scale; i++)
		div *= 10;
	frac = value % div;
	if (frac == 0) {
		snprintf(buf, len, "%u%s", value / div, suffix);
		return (buf);
	}
	n = snprintf(digits, sizeof(digits), "%0*u", scale, frac);
	while (n > 0 && digits[n - 1] == '0')
		digits[--n] = '\0';
	snprintf(buf, len, "%u.%s%s", value / div, digits, suffix);
	return (buf);
}

/* parts per million as a percentage: 50000 is "5%", 25000 "2.5%" */
const char *
config_fmt_percent(uint32_t ppm, char *buf, size_t len)
{
	return (fmt_fixed(ppm, 4, "%", buf, len));
}

/* parts per million as a fraction: 300000 is "0.3" */
const char *
config_fmt_weight(uint32_t ppm, char *buf, size_t len)
{
	return (fmt_fixed(ppm, 6, "", buf, len));
}

/* A quoted string the lexer reads back unchanged. */
static void
print_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

/* `endpoint scheme', `endpoint port', `endpoint allow' lines */
static void
print_endpoint_policy(FILE *fp, const struct cfg_endpoint *ep)
{
	static const struct {
		uint32_t	 bit;
		const char	*name;
	} classes[] = {
		{ EP_ALLOW_LOOPBACK,	"loopback" },
		{ EP_ALLOW_LINKLOCAL,	"link-local" },
		{ EP_ALLOW_PRIVATE,	"private" },
		{ EP_ALLOW_METADATA,	"metadata" }
	};
	uint32_t	 i;

	if (ep->schemes & EP_SCHEME_HTTP)
		fprintf(fp, "\tendpoint scheme http\n");
	if (ep->schemes & EP_SCHEME_HTTPS)
		fprintf(fp, "\tendpoint scheme https\n");
	if (ep->nports == 0)
		fprintf(fp, "\tendpoint port any\n");
	for (i = 0; i < ep->nports && i < EP_PORTS_MAX; i++) {
		if (ep->ports[i][0] == ep->ports[i][1])
			fprintf(fp, "\tendpoint port %u\n", ep->ports[i][0]);
		else
			fprintf(fp, "\tendpoint port %u-%u\n",
			    ep->ports[i][0], ep->ports[i][1]);
	}
	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (ep->allow & classes[i].bit)
			fprintf(fp, "\tendpoint allow %s\n", classes[i].name);
}

void
config_print(FILE *fp, const struct relayd_config *conf)
{
	const struct cfg_global		*g = &conf->g;
	const struct listen_config	*lc;
	const struct fedrule_config	*r;
	char				 buf[64];

	fprintf(fp, "name ");
	print_str(fp, g->name);
	fputc('\n', fp);
	if (g->endpoint[0] != '\0') {
		fprintf(fp, "endpoint ");
		print_str(fp, g->endpoint);
		fputc('\n', fp);
	}
	TAILQ_FOREACH(lc, &conf->listens, entry) {
		fprintf(fp, "listen on %s port %u", lc->addr, lc->port);
		if (lc->tls) {
			fprintf(fp, " tls certificate ");
			print_str(fp, lc->cert);
			fprintf(fp, " key ");
			print_str(fp, lc->key);
		}
		fputc('\n', fp);
	}
	fprintf(fp, "prefork %u\n", g->prefork);
	fprintf(fp, "user ");
	print_str(fp, conf->user);
	fprintf(fp, "\nkey user ");
	print_str(fp, conf->key_user);
	fprintf(fp, "\nchroot ");
	print_str(fp, conf->chroot);
	fprintf(fp, "\nkey ");
	print_str(fp, conf->key_path);
	if (conf->key_pass_path[0] != '\0') {
		fprintf(fp, " passphrase file ");
		print_str(fp, conf->key_pass_path);
	}
	fprintf(fp, "\naudit log ");
	print_str(fp, conf->audit_log);
	fprintf(fp, "\ndatabase ");
	print_str(fp, conf->database);
	fprintf(fp, "\ncontrol socket ");
	print_str(fp, conf->control_sock);
	fprintf(fp, "\nbody limit %s\n",
	    config_fmt_size(g->body_limit, buf, sizeof(buf)));
	fprintf(fp, "max connections %u\n", g->http_max_conns);
	fprintf(fp, "request timeout %s\n",
	    config_fmt_duration(g->http_req_timeout_ms, buf, sizeof(buf)));
	fprintf(fp, "fee %s\n", config_fmt_percent(g->fee_ppm, buf,
	    sizeof(buf)));
	if (conf->architect[0] != '\0') {
		fprintf(fp, "architect ");
		print_str(fp, conf->architect);
		fputc('\n', fp);
	}

	fprintf(fp, "\nfederation {\n");
	fprintf(fp, "\t%s\n", g->fed_enable ? "enable" : "disable");
	fprintf(fp, "\taccept %s\n", g->fed_accept_auto ? "auto" : "manual");
	fprintf(fp, "\tpeers list %s\n",
	    g->fed_peers_public ? "public" : "private");
	fprintf(fp, "\tmax peers %u\n", g->fed_max_peers);
	fprintf(fp, "\tmax hops %u\n", g->fed_max_hops);
	fprintf(fp, "\theartbeat interval %s\n",
	    config_fmt_duration(g->fed_hb_interval_ms, buf, sizeof(buf)));
	fprintf(fp, "\tsuspend after %u\n", g->fed_suspend_after);
	fprintf(fp, "\tremove after %u\n", g->fed_remove_after);
	fprintf(fp, "\tquery ttl %s\n",
	    config_fmt_duration(g->fed_query_ttl_ms, buf, sizeof(buf)));
	fprintf(fp, "\trate limit %u per %s\n", g->fed_rate_limit,
	    config_fmt_duration(g->fed_rate_window_ms, buf, sizeof(buf)));
	fprintf(fp, "\tmax pending %u\n", g->fed_max_pending);
	fprintf(fp, "\tpending expire %s\n",
	    config_fmt_duration(g->fed_pending_expire_ms, buf, sizeof(buf)));
	fprintf(fp, "\thandshake limit %u per %s\n", g->fed_hs_limit,
	    config_fmt_duration(g->fed_hs_window_ms, buf, sizeof(buf)));
	print_endpoint_policy(fp, &g->fed_ep);
	TAILQ_FOREACH(r, &conf->fedrules, entry) {
		fprintf(fp, "\t%s ", r->block ? "block" : "allow");
		print_str(fp, r->relay_id);
		fputc('\n', fp);
	}
	fprintf(fp, "}\n");

	fprintf(fp, "\nanchor {\n");
	fprintf(fp, "\tbatch size %u\n", g->anchor_batch_size);
	fprintf(fp, "\tinterval %s\n",
	    config_fmt_duration(g->anchor_interval_ms, buf, sizeof(buf)));
	if (conf->anchor_command[0] != '\0') {
		fprintf(fp, "\tcommand ");
		print_str(fp, conf->anchor_command);
		fputc('\n', fp);
	}
	fprintf(fp, "}\n");

	fprintf(fp, "\nrouting {\n");
	fprintf(fp, "\tranking %s\n",
	    g->route_lexicographic ? "lexicographic" : "weighted");
	fprintf(fp, "\tweight trust %s\n",
	    config_fmt_weight(g->route_w_trust, buf, sizeof(buf)));
	fprintf(fp, "\tweight cost %s\n",
	    config_fmt_weight(g->route_w_cost, buf, sizeof(buf)));
	fprintf(fp, "\tweight latency %s\n",
	    config_fmt_weight(g->route_w_latency, buf, sizeof(buf)));
	fprintf(fp, "\tweight reliability %s\n",
	    config_fmt_weight(g->route_w_reliability, buf, sizeof(buf)));
	fprintf(fp, "\tweight risk %s\n",
	    config_fmt_weight(g->route_w_risk, buf, sizeof(buf)));
	fprintf(fp, "}\n");
}
