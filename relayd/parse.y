/*
 * relayd.conf(5) parser.
 *
 * The usual OpenBSD daemon shape: a stack of files (include), a table of
 * macros (name = "value", $name, -D name=value), a hand-written lexer with
 * a sorted keyword table searched with bsearch(3), and errors reported as
 * "file:line: message" that are counted so that one run shows them all.
 * parse_config() may be called any number of times in one process (SIGHUP
 * reload, the fuzzer): it resets every piece of global state on entry and
 * frees everything but the -D macros on return.
 */

%{
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

#define MACRO_NAME_MAX		64
#define TOKEN_MAX		8192
#define INCLUDE_DEPTH_MAX	16
/* the chroot travels to the children in struct cfg_proc */
#define CHROOT_MAX		sizeof(((struct cfg_proc *)0)->chroot)
#define SOCKPATH_MAX		sizeof(((struct sockaddr_un *)0)->sun_path)
/* Markers in the unget buffer around an expanded macro (not bytes). */
#define EXPAND_START		0x100
#define EXPAND_DONE		0x101

struct file {
	TAILQ_ENTRY(file)	 entry;
	FILE			*stream;
	char			*name;
	int			*ungetbuf;
	size_t			 ungetpos;
	size_t			 ungetsize;
	dev_t			 dev;
	ino_t			 ino;
	int			 eof_reached;
	int			 lastc;		/* last character read */
	int			 lineno;
	int			 depth;
};
TAILQ_HEAD(filehead, file);

struct sym {
	TAILQ_ENTRY(sym)	 entry;
	int			 used;
	int			 persist;
	char			*nam;
	char			*val;
};
TAILQ_HEAD(symhead, sym);

/* Where a statement was, for checks made after the whole file is read. */
struct confpos {
	char			 file[PATH_MAX];
	int			 line;
};

struct tlsopt {
	char			*cert;
	char			*key;
};

struct yyvalue {
	union {
		int64_t		 number;
		char		*string;
		struct tlsopt	 tls;
	} v;
	int lineno;
};
#define YYSTYPE		struct yyvalue

static struct filehead	 files = TAILQ_HEAD_INITIALIZER(files);
static struct file	*file, *topfile;
static struct symhead	 symhead = TAILQ_HEAD_INITIALIZER(symhead);
static struct relayd_config *conf;
static int		 errors;
static int		 parse_flags;
static int		 expanding;
static int		 lex_error;
static struct confpos	 pos_user, pos_suspend, pos_remove, pos_routing;
/* the first `endpoint scheme' / `endpoint port' replaces the default */
static int		 ep_schemes_set, ep_ports_set;

int		 yyparse(void);
static int	 yylex(void);
static void	 yyerror(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));
static int	 kw_cmp(const void *, const void *);
static int	 lookup(const char *);
static int	 igetc(void);
static int	 lgetc(int);
static void	 lungetc(int);
static int	 lex_fail(void);
static int	 word_char(int);
static int	 before_equal(void);
static int	 expand_macro(void);
static struct file *pushfile(const char *, int, const char **);
static int	 popfile(void);
static int	 check_file_secrecy(int, const char **);
static int	 symset(const char *, const char *, int);
static char	*symget(const char *);
static int	 valid_macro_name(const char *);
static void	 markpos(struct confpos *);
static void	 poserror(const struct confpos *, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));
static int	 setstr(char *, size_t, char *, const char *);
static int	 setuser(char *, size_t, char *, const char *);
static int	 range(int64_t, int64_t, int64_t, const char *);
static int	 duration_range(int64_t, uint64_t, uint64_t, const char *);
static int	 parse_duration(const char *, int64_t *);
static int	 parse_size(const char *, int64_t *);
static int	 parse_fixed(const char *, int, int64_t *);
static int	 parse_percent(const char *, int64_t *);
static int	 valid_relay_id(const char *);
static int	 valid_did_key(const char *);
static void	 add_listen(char *, int64_t, struct tlsopt *);
static void	 add_fedrule(char *, int);
static int	 ep_scheme(const char *);
static int	 ep_port(const char *, int64_t);
static int	 ep_allow(const char *);
static void	 check_tls_file(const char *, const char *);
static void	 check_passphrase_file(const char *);
static void	 derive_endpoint(void);
static void	 check_config(void);
static void	 free_files(void);
static void	 free_macros(void);
%}

%token	ACCEPT AFTER ALLOW ANCHOR ARCHITECT AUDIT AUTO BATCH BLOCK BODY
%token	CERTIFICATE CHROOT COMMAND CONTROL COST DATABASE DISABLE ENABLE
%token	ENDPOINT EXPIRE FEDERATION FEE FILENAME HANDSHAKE HEARTBEAT HOPS INCLUDE
%token	INTERVAL KEY
%token	LATENCY LEXICOGRAPHIC LIMIT LIST LISTEN LOG MANUAL MAXIMUM NAME ON
%token	PASSPHRASE PEERS PENDING PER PORT PREFORK PRIVATE PUBLIC QUERY RANKING
%token	RATE
%token	RELIABILITY REMOVE RISK ROUTING SCHEME SIZE SOCKET SUSPEND TLS TRUST TTL
%token	USER WEIGHT WEIGHTED
%token	CONNECTIONS REQUEST TIMEOUT
%token	ERROR
%token	<v.string>	STRING
%token	<v.number>	NUMBER
%type	<v.number>	size duration weight weightname
%type	<v.string>	passopt
%type	<v.tls>		tlsopt

%destructor { free($$); } <v.string>
%destructor { free($$.cert); free($$.key); } <v.tls>

%%

grammar		: /* empty */
		| grammar '\n'
		| grammar include '\n'
		| grammar varset '\n'
		| grammar main '\n'
		| grammar error '\n'		{ yyerrok; }
		;

optnl		: '\n' optnl
		| /* empty */
		;

nl		: '\n' optnl
		;

include		: INCLUDE STRING {
			struct file	*nfile;
			const char	*why;
			char		*path;
			const char	*slash;

			slash = strrchr(file->name, '/');
			if ($2[0] != '/' && slash != NULL) {
				if (asprintf(&path, "%.*s/%s",
				    (int)(slash - file->name), file->name,
				    $2) == -1)
					fatal("%s", __func__);
			} else if ((path = strdup($2)) == NULL)
				fatal("%s", __func__);
			free($2);
			nfile = pushfile(path, file->depth + 1, &why);
			if (nfile == NULL) {
				yyerror("failed to include file %s: %s",
				    path, why);
				free(path);
				YYERROR;
			}
			free(path);
			file = nfile;
			lungetc('\n');
		}
		;

varset		: STRING '=' STRING {
			if (!valid_macro_name($1)) {
				yyerror("invalid macro name \"%s\"", $1);
				free($1);
				free($3);
				YYERROR;
			}
			if (symset($1, $3, 0) == -1)
				fatal("%s", __func__);
			free($1);
			free($3);
		}
		| STRING '=' NUMBER {
			char	 buf[32];

			if (!valid_macro_name($1)) {
				yyerror("invalid macro name \"%s\"", $1);
				free($1);
				YYERROR;
			}
			snprintf(buf, sizeof(buf), "%lld", (long long)$3);
			if (symset($1, buf, 0) == -1)
				fatal("%s", __func__);
			free($1);
		}
		;

main		: NAME STRING {
			if (setstr(conf->g.name, sizeof(conf->g.name), $2,
			    "name") == -1)
				YYERROR;
		}
		| ENDPOINT STRING {
			size_t	 len, skip;
			char	*p;

			if (strncmp($2, "http://", 7) == 0)
				skip = 7;
			else if (strncmp($2, "https://", 8) == 0)
				skip = 8;
			else {
				yyerror("endpoint \"%s\" must start with "
				    "http:// or https://", $2);
				free($2);
				YYERROR;
			}
			for (p = $2; *p != '\0'; p++) {
				if (isspace((unsigned char)*p) ||
				    (unsigned char)*p >= 0x80)
					break;
			}
			if (*p != '\0') {
				yyerror("endpoint \"%s\" contains whitespace "
				    "or non-ASCII characters", $2);
				free($2);
				YYERROR;
			}
			len = strlen($2);
			while (len > skip && $2[len - 1] == '/')
				$2[--len] = '\0';
			if (len == skip || $2[skip] == '/') {
				yyerror("endpoint \"%s\" has no host", $2);
				free($2);
				YYERROR;
			}
			if (setstr(conf->g.endpoint, sizeof(conf->g.endpoint),
			    $2, "endpoint") == -1)
				YYERROR;
		}
		| LISTEN ON STRING PORT NUMBER tlsopt {
			add_listen($3, $5, &$6);
		}
		| PREFORK NUMBER {
			if (range($2, 1, PROC_MAX_INSTANCES, "prefork") == -1)
				YYERROR;
			conf->g.prefork = $2;
		}
		| USER STRING {
			markpos(&pos_user);
			if (setuser(conf->user, sizeof(conf->user), $2,
			    "user") == -1)
				YYERROR;
		}
		| KEY USER STRING {
			markpos(&pos_user);
			if (setuser(conf->key_user, sizeof(conf->key_user), $3,
			    "key user") == -1)
				YYERROR;
		}
		| CHROOT STRING {
			if ($2[0] != '/') {
				yyerror("chroot \"%s\" must be an absolute "
				    "path", $2);
				free($2);
				YYERROR;
			}
			if (strlen($2) >= CHROOT_MAX) {
				yyerror("chroot path too long (at most %zu "
				    "characters)", CHROOT_MAX - 1);
				free($2);
				YYERROR;
			}
			if (setstr(conf->chroot, sizeof(conf->chroot), $2,
			    "chroot") == -1)
				YYERROR;
		}
		| KEY STRING passopt {
			if (setstr(conf->key_path, sizeof(conf->key_path), $2,
			    "key file") == -1) {
				free($3);
				YYERROR;
			}
			conf->key_pass_path[0] = '\0';
			if ($3 != NULL && setstr(conf->key_pass_path,
			    sizeof(conf->key_pass_path), $3,
			    "passphrase file") == -1)
				YYERROR;
		}
		| AUDIT LOG STRING {
			if (setstr(conf->audit_log, sizeof(conf->audit_log),
			    $3, "audit log") == -1)
				YYERROR;
		}
		| DATABASE STRING {
			if (setstr(conf->database, sizeof(conf->database), $2,
			    "database") == -1)
				YYERROR;
		}
		| CONTROL SOCKET STRING {
			if (strlen($3) >= SOCKPATH_MAX) {
				yyerror("control socket path too long (at "
				    "most %zu characters)", SOCKPATH_MAX - 1);
				free($3);
				YYERROR;
			}
			if (setstr(conf->control_sock,
			    sizeof(conf->control_sock), $3,
			    "control socket") == -1)
				YYERROR;
		}
		| BODY LIMIT size {
			char	 buf[32];

			if ($3 < 1024 || $3 > 64 * 1024 * 1024) {
				yyerror("body limit %s out of range (1K to "
				    "64M)", config_fmt_size($3, buf,
				    sizeof(buf)));
				YYERROR;
			}
			conf->g.body_limit = $3;
		}
		| MAXIMUM CONNECTIONS NUMBER {
			if (range($3, 16, 1000000, "max connections") == -1)
				YYERROR;
			conf->g.http_max_conns = $3;
		}
		| REQUEST TIMEOUT duration {
			if (duration_range($3, 1000, 3600000,
			    "request timeout") == -1)
				YYERROR;
			conf->g.http_req_timeout_ms = $3;
		}
		| FEE STRING {
			int64_t	 ppm;

			if (parse_percent($2, &ppm) == -1) {
				yyerror("invalid fee \"%s\": expected a "
				    "percentage such as 5%% or 2.5%%", $2);
				free($2);
				YYERROR;
			}
			if (ppm > 1000000) {
				yyerror("fee %s out of range (0%% to 100%%)",
				    $2);
				free($2);
				YYERROR;
			}
			free($2);
			conf->g.fee_ppm = ppm;
		}
		| FEE NUMBER {
			yyerror("fee %lld needs a %% sign", (long long)$2);
			YYERROR;
		}
		| ARCHITECT STRING {
			if (!valid_did_key($2)) {
				yyerror("architect \"%s\" is not a did:key "
				    "(did:key:z followed by base58btc)", $2);
				free($2);
				YYERROR;
			}
			if (setstr(conf->architect, sizeof(conf->architect),
			    $2, "architect") == -1)
				YYERROR;
		}
		| FEDERATION optnl '{' optnl fedopts '}'
		| ANCHOR optnl '{' optnl anchoropts '}'
		| ROUTING optnl '{' optnl routeopts '}' {
			/* the weights are checked at the end, at this line */
			markpos(&pos_routing);
			pos_routing.line = $<lineno>1;
		}
		;

tlsopt		: /* empty */ {
			$$.cert = NULL;
			$$.key = NULL;
		}
		| TLS CERTIFICATE STRING KEY STRING {
			$$.cert = $3;
			$$.key = $5;
		}
		;

passopt		: /* empty */			{ $$ = NULL; }
		| PASSPHRASE FILENAME STRING	{ $$ = $3; }
		;

size		: NUMBER			{ $$ = $1; }
		| STRING {
			if (parse_size($1, &$$) == -1) {
				yyerror("invalid size \"%s\": expected bytes "
				    "or a number with K or M", $1);
				free($1);
				YYERROR;
			}
			free($1);
		}
		;

duration	: NUMBER {
			if ($1 < 0 || $1 > INT64_MAX / 1000) {
				yyerror("duration %lld out of range",
				    (long long)$1);
				YYERROR;
			}
			$$ = $1 * 1000;
		}
		| STRING {
			if (parse_duration($1, &$$) == -1) {
				yyerror("invalid duration \"%s\": expected a "
				    "number with ms, s, m or h", $1);
				free($1);
				YYERROR;
			}
			free($1);
		}
		;

fedopts		: /* empty */
		| fedopts fedopt nl
		| fedopts error nl		{ yyerrok; }
		;

fedopt		: ENABLE			{ conf->g.fed_enable = 1; }
		| DISABLE			{ conf->g.fed_enable = 0; }
		| ACCEPT MANUAL			{ conf->g.fed_accept_auto = 0; }
		| ACCEPT AUTO			{ conf->g.fed_accept_auto = 1; }
		| PEERS LIST PUBLIC	{ conf->g.fed_peers_public = 1; }
		| PEERS LIST PRIVATE	{ conf->g.fed_peers_public = 0; }
		| ALLOW STRING			{ add_fedrule($2, 0); }
		| BLOCK STRING			{ add_fedrule($2, 1); }
		| MAXIMUM PEERS NUMBER {
			if (range($3, 1, 1000, "max peers") == -1)
				YYERROR;
			conf->g.fed_max_peers = $3;
		}
		| MAXIMUM HOPS NUMBER {
			if (range($3, 1, 8, "max hops") == -1)
				YYERROR;
			conf->g.fed_max_hops = $3;
		}
		| HEARTBEAT INTERVAL duration {
			if (duration_range($3, 100, 3600000,
			    "heartbeat interval") == -1)
				YYERROR;
			conf->g.fed_hb_interval_ms = $3;
		}
		| SUSPEND AFTER NUMBER {
			markpos(&pos_suspend);
			if (range($3, 1, 100, "suspend after") == -1)
				YYERROR;
			conf->g.fed_suspend_after = $3;
		}
		| REMOVE AFTER NUMBER {
			markpos(&pos_remove);
			if (range($3, 2, 1000, "remove after") == -1)
				YYERROR;
			conf->g.fed_remove_after = $3;
		}
		| QUERY TTL duration {
			if (duration_range($3, 1000, 3600000,
			    "query ttl") == -1)
				YYERROR;
			conf->g.fed_query_ttl_ms = $3;
		}
		| RATE LIMIT NUMBER PER duration {
			if (range($3, 1, 1000000, "rate limit") == -1)
				YYERROR;
			if (duration_range($5, 1000, 3600000,
			    "rate limit window") == -1)
				YYERROR;
			conf->g.fed_rate_limit = $3;
			conf->g.fed_rate_window_ms = $5;
		}
		| MAXIMUM PENDING NUMBER {
			if (range($3, 1, 1000, "max pending") == -1)
				YYERROR;
			conf->g.fed_max_pending = $3;
		}
		| PENDING EXPIRE duration {
			if (duration_range($3, 1000, 720ULL * 3600 * 1000,
			    "pending expire") == -1)
				YYERROR;
			conf->g.fed_pending_expire_ms = $3;
		}
		| HANDSHAKE LIMIT NUMBER PER duration {
			if (range($3, 1, 1000000, "handshake limit") == -1)
				YYERROR;
			if (duration_range($5, 1000, 3600000,
			    "handshake limit window") == -1)
				YYERROR;
			conf->g.fed_hs_limit = $3;
			conf->g.fed_hs_window_ms = $5;
		}
		| ENDPOINT SCHEME STRING {
			if (ep_scheme($3) == -1) {
				free($3);
				YYERROR;
			}
			free($3);
		}
		| ENDPOINT PORT NUMBER {
			if (ep_port(NULL, $3) == -1)
				YYERROR;
		}
		| ENDPOINT PORT STRING {
			if (ep_port($3, 0) == -1) {
				free($3);
				YYERROR;
			}
			free($3);
		}
		| ENDPOINT ALLOW STRING {
			if (ep_allow($3) == -1) {
				free($3);
				YYERROR;
			}
			free($3);
		}
		| ENDPOINT ALLOW PRIVATE {
			conf->g.fed_ep.allow |= EP_ALLOW_PRIVATE;
		}
		;

anchoropts	: /* empty */
		| anchoropts anchoropt nl
		| anchoropts error nl		{ yyerrok; }
		;

anchoropt	: BATCH SIZE NUMBER {
			if (range($3, 1, 100000, "batch size") == -1)
				YYERROR;
			conf->g.anchor_batch_size = $3;
		}
		| INTERVAL duration {
			if (duration_range($2, 1000, 30ULL * 86400 * 1000,
			    "anchor interval") == -1)
				YYERROR;
			conf->g.anchor_interval_ms = $2;
		}
		| COMMAND STRING {
			if ($2[0] != '/') {
				yyerror("anchor command \"%s\" must be an "
				    "absolute path", $2);
				free($2);
				YYERROR;
			}
			if (setstr(conf->anchor_command,
			    sizeof(conf->anchor_command), $2,
			    "anchor command") == -1)
				YYERROR;
		}
		;

routeopts	: /* empty */
		| routeopts routeopt nl
		| routeopts error nl		{ yyerrok; }
		;

routeopt	: RANKING WEIGHTED {
			conf->g.route_lexicographic = 0;
		}
		| RANKING LEXICOGRAPHIC {
			conf->g.route_lexicographic = 1;
		}
		| WEIGHT weightname weight {
			switch ($2) {
			case 0:
				conf->g.route_w_trust = $3;
				break;
			case 1:
				conf->g.route_w_cost = $3;
				break;
			case 2:
				conf->g.route_w_latency = $3;
				break;
			case 3:
				conf->g.route_w_reliability = $3;
				break;
			default:
				conf->g.route_w_risk = $3;
				break;
			}
		}
		;

weightname	: TRUST				{ $$ = 0; }
		| COST				{ $$ = 1; }
		| LATENCY			{ $$ = 2; }
		| RELIABILITY			{ $$ = 3; }
		| RISK				{ $$ = 4; }
		;

weight		: NUMBER {
			if (range($1, 0, 1, "weight") == -1)
				YYERROR;
			$$ = $1 * 1000000;
		}
		| STRING {
			const char	*p = $1[0] == '-' ? $1 + 1 : $1;

			if (parse_fixed(p, 6, &$$) == -1) {
				yyerror("invalid weight \"%s\": expected a "
				    "decimal number with at most 6 decimals",
				    $1);
				free($1);
				YYERROR;
			}
			if (p != $1 || $$ > 1000000) {
				yyerror("weight %s out of range (0 to 1)", $1);
				free($1);
				YYERROR;
			}
			free($1);
		}
		;

%%

struct keywords {
	const char	*k_name;
	int		 k_val;
};

static void
yyerror(const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	errors++;
	if (strcmp(fmt, "syntax error") == 0) {
		/* The lexer has already said what is wrong with this token. */
		if (lex_error)
			return;
		if (yychar == 0)
			fmt = "syntax error: unexpected end of file";
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("%s", __func__);
	va_end(ap);
	log_warnx("%s:%d: %s", file->name, yylval.lineno, msg);
	free(msg);
}

static int
kw_cmp(const void *k, const void *e)
{
	return (strcmp(k, ((const struct keywords *)e)->k_name));
}

static int
lookup(const char *s)
{
	/* this has to be sorted always */
	static const struct keywords keywords[] = {
		{ "accept",		ACCEPT },
		{ "after",		AFTER },
		{ "allow",		ALLOW },
		{ "anchor",		ANCHOR },
		{ "architect",		ARCHITECT },
		{ "audit",		AUDIT },
		{ "auto",		AUTO },
		{ "batch",		BATCH },
		{ "block",		BLOCK },
		{ "body",		BODY },
		{ "certificate",	CERTIFICATE },
		{ "chroot",		CHROOT },
		{ "command",		COMMAND },
		{ "connections",	CONNECTIONS },
		{ "control",		CONTROL },
		{ "cost",		COST },
		{ "database",		DATABASE },
		{ "disable",		DISABLE },
		{ "enable",		ENABLE },
		{ "endpoint",		ENDPOINT },
		{ "expire",		EXPIRE },
		{ "federation",		FEDERATION },
		{ "fee",		FEE },
		{ "file",		FILENAME },
		{ "handshake",		HANDSHAKE },
		{ "heartbeat",		HEARTBEAT },
		{ "hops",		HOPS },
		{ "include",		INCLUDE },
		{ "interval",		INTERVAL },
		{ "key",		KEY },
		{ "latency",		LATENCY },
		{ "lexicographic",	LEXICOGRAPHIC },
		{ "limit",		LIMIT },
		{ "list",		LIST },
		{ "listen",		LISTEN },
		{ "log",		LOG },
		{ "manual",		MANUAL },
		{ "max",		MAXIMUM },
		{ "name",		NAME },
		{ "on",			ON },
		{ "passphrase",		PASSPHRASE },
		{ "peers",		PEERS },
		{ "pending",		PENDING },
		{ "per",		PER },
		{ "port",		PORT },
		{ "prefork",		PREFORK },
		{ "private",		PRIVATE },
		{ "public",		PUBLIC },
		{ "query",		QUERY },
		{ "ranking",		RANKING },
		{ "rate",		RATE },
		{ "reliability",	RELIABILITY },
		{ "remove",		REMOVE },
		{ "request",		REQUEST },
		{ "risk",		RISK },
		{ "routing",		ROUTING },
		{ "scheme",		SCHEME },
		{ "size",		SIZE },
		{ "socket",		SOCKET },
		{ "suspend",		SUSPEND },
		{ "timeout",		TIMEOUT },
		{ "tls",		TLS },
		{ "trust",		TRUST },
		{ "ttl",		TTL },
		{ "user",		USER },
		{ "weight",		WEIGHT },
		{ "weighted",		WEIGHTED },
	};
	const struct keywords	*p;

	p = bsearch(s, keywords, sizeof(keywords) / sizeof(keywords[0]),
	    sizeof(keywords[0]), kw_cmp);
	if (p != NULL)
		return (p->k_val);
	return (STRING);
}

/*
 * Next character of the current file: the unget buffer first (where the
 * expansion markers live), then the stream.
 */
static int
igetc(void)
{
	int	 c;

	for (;;) {
		if (file->ungetpos == 0)
			c = getc(file->stream);
		else
			c = file->ungetbuf[--file->ungetpos];
		if (c == EXPAND_START)
			expanding = 1;
		else if (c == EXPAND_DONE)
			expanding = 0;
		else {
			if (c != EOF)
				file->lastc = c;
			return (c);
		}
	}
}

/*
 * Next character for the lexer.  Outside quotes, backslash-newline joins
 * lines; at the end of a file whose last line has no newline, one is made
 * up so that the line still ends its statement; then the lexer returns to
 * the including file.
 */
static int
lgetc(int quotec)
{
	int	 c, next;

	for (;;) {
		c = igetc();
		if (quotec)
			return (c);
		if (c == '\\') {
			next = igetc();
			if (next == '\n') {
				file->lineno++;
				continue;
			}
			lungetc(next);
			return (c);
		}
		if (c != EOF)
			return (c);
		if (!file->eof_reached) {
			file->eof_reached = 1;
			if (file->lastc != '\n')
				return ('\n');
		}
		if (file == topfile || popfile() == EOF)
			return (EOF);
	}
}

static void
lungetc(int c)
{
	int	*p;
	size_t	 n;

	if (c == EOF)
		return;
	if (file->ungetpos >= file->ungetsize) {
		n = file->ungetsize * 2;
		if ((p = reallocarray(file->ungetbuf, n, sizeof(*p))) == NULL)
			fatal("%s", __func__);
		file->ungetbuf = p;
		file->ungetsize = n;
	}
	file->ungetbuf[file->ungetpos++] = c;
}

/*
 * The lexer found an error and reported it: skip the rest of the line
 * (leaving the newline for the parser's error recovery) and hand the
 * parser a token that matches no rule.
 */
static int
lex_fail(void)
{
	int	 c;

	while ((c = lgetc(0)) != '\n' && c != EOF)
		;
	lungetc(c);
	lex_error = 1;
	return (ERROR);
}

/* Characters of an unquoted word: printable ASCII but for {}=#"'. */
static int
word_char(int c)
{
	if (c < 0x21 || c > 0x7e)
		return (0);
	return (strchr("{}=#\"'", c) == NULL);
}

/* After '$': push the macro's value back into the input, once. */
static int
expand_macro(void)
{
	char	 name[MACRO_NAME_MAX];
	char	*val;
	size_t	 len;
	int	 c;

	len = 0;
	while ((c = lgetc(0)) != EOF &&
	    (isalnum(c) || c == '_')) {
		if (len + 1 >= sizeof(name)) {
			yyerror("macro name too long");
			return (-1);
		}
		name[len++] = c;
	}
	lungetc(c);
	name[len] = '\0';
	if (len == 0) {
		yyerror("macro name expected after '$'");
		return (-1);
	}
	if ((val = symget(name)) == NULL) {
		yyerror("macro '%s' not defined", name);
		return (-1);
	}
	lungetc(EXPAND_DONE);
	for (len = strlen(val); len > 0; len--)
		lungetc((unsigned char)val[len - 1]);
	lungetc(EXPAND_START);
	return (0);
}

/*
 * No statement has a keyword before '=', so a word followed by '=' is a
 * macro name even if it is a keyword ("port = 8081").
 */
static int
before_equal(void)
{
	size_t	 blanks = 0;
	int	 c;

	while ((c = lgetc(0)) == ' ' || c == '\t')
		blanks++;
	lungetc(c);
	while (blanks-- > 0)
		lungetc(' ');
	return (c == '=');
}

static int
yylex(void)
{
	char		 buf[TOKEN_MAX];
	const char	*errstr;
	size_t		 len;
	int		 c, next, quotec, token;

	lex_error = 0;
top:
	len = 0;
	while ((c = lgetc(0)) == ' ' || c == '\t' || c == '\r')
		;
	yylval.lineno = file->lineno;
	if (c == '#')
		while ((c = lgetc(0)) != '\n' && c != EOF)
			;
	if (c == '$' && !expanding) {
		if (expand_macro() == -1)
			return (lex_fail());
		goto top;
	}

	switch (c) {
	case '\'':
	case '"':
		quotec = c;
		for (;;) {
			c = lgetc(quotec);
			if (c == EOF || c == '\n') {
				yyerror("unterminated quoted string");
				if (c == '\n')
					lungetc(c);
				lex_error = 1;
				return (ERROR);
			}
			if (c == quotec)
				break;
			if (c == '\\') {
				next = lgetc(quotec);
				if (next == '\n') {
					file->lineno++;
					continue;
				}
				if (next == quotec || next == '\\')
					c = next;
				else
					lungetc(next);
			}
			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				yyerror("invalid character 0x%02x in quoted "
				    "string", c);
				return (lex_fail());
			}
			if (len + 1 >= sizeof(buf)) {
				yyerror("string too long");
				return (lex_fail());
			}
			buf[len++] = c;
		}
		buf[len] = '\0';
		if ((yylval.v.string = strdup(buf)) == NULL)
			fatal("%s", __func__);
		return (STRING);
	case '\n':
		file->lineno++;
		return (c);
	case '{':
	case '}':
	case '=':
		return (c);
	case EOF:
		/* every line has ended with a newline: the last line */
		if (file->lineno > 1)
			yylval.lineno = file->lineno - 1;
		return (0);
	default:
		break;
	}

	if (!word_char(c)) {
		yyerror("invalid character 0x%02x", c);
		return (lex_fail());
	}
	do {
		if (len + 1 >= sizeof(buf)) {
			yyerror("string too long");
			return (lex_fail());
		}
		buf[len++] = c;
	} while ((c = lgetc(0)) != EOF && word_char(c));
	lungetc(c);
	buf[len] = '\0';

	if ((token = lookup(buf)) != STRING && !before_equal())
		return (token);
	len = (buf[0] == '-') ? 1 : 0;
	if (buf[len] != '\0' && strspn(buf + len, "0123456789") ==
	    strlen(buf + len)) {
		yylval.v.number = strtonum(buf, LLONG_MIN, LLONG_MAX, &errstr);
		if (errstr != NULL) {
			yyerror("number %s is %s", buf, errstr);
			lex_error = 1;
			return (ERROR);
		}
		return (NUMBER);
	}
	if ((yylval.v.string = strdup(buf)) == NULL)
		fatal("%s", __func__);
	return (STRING);
}

/*
 * Configuration files may hold database credentials: they must belong to
 * root or to us and must not be writable by anyone else.
 */
static int
check_file_secrecy(int fd, const char **why)
{
	struct stat	 st;

	if (fstat(fd, &st) == -1) {
		*why = strerror(errno);
		return (-1);
	}
	if (st.st_uid != 0 && st.st_uid != getuid()) {
		*why = "owner is neither root nor the current user";
		return (-1);
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		*why = "file is group or world writable";
		return (-1);
	}
	return (0);
}

static struct file *
pushfile(const char *name, int depth, const char **why)
{
	struct file	*nfile, *f;
	struct stat	 st;

	if (depth > INCLUDE_DEPTH_MAX) {
		*why = "includes nested too deeply";
		return (NULL);
	}
	if ((nfile = calloc(1, sizeof(*nfile))) == NULL)
		fatal("%s", __func__);
	if ((nfile->name = strdup(name)) == NULL)
		fatal("%s", __func__);
	nfile->ungetsize = 16;
	nfile->ungetbuf = reallocarray(NULL, nfile->ungetsize,
	    sizeof(*nfile->ungetbuf));
	if (nfile->ungetbuf == NULL)
		fatal("%s", __func__);
	/* an include starts with the newline that ends the include line */
	nfile->lineno = depth > 0 ? 0 : 1;
	nfile->depth = depth;
	if ((nfile->stream = fopen(name, "r")) == NULL) {
		*why = strerror(errno);
		goto fail;
	}
	if (fstat(fileno(nfile->stream), &st) == -1) {
		*why = strerror(errno);
		goto fail;
	}
	/* the top file may be a pipe (-f /dev/stdin); includes may not */
	if (depth > 0 && !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		goto fail;
	}
	TAILQ_FOREACH(f, &files, entry) {
		if (f->dev == st.st_dev && f->ino == st.st_ino) {
			*why = "file includes itself";
			goto fail;
		}
	}
	nfile->dev = st.st_dev;
	nfile->ino = st.st_ino;
	if ((parse_flags & CONF_NOFILECHECK) == 0 &&
	    check_file_secrecy(fileno(nfile->stream), why) == -1)
		goto fail;
	TAILQ_INSERT_TAIL(&files, nfile, entry);
	return (nfile);
 fail:
	if (nfile->stream != NULL)
		fclose(nfile->stream);
	free(nfile->ungetbuf);
	free(nfile->name);
	free(nfile);
	return (NULL);
}

/* Back to the including file; EOF when the top file is done. */
static int
popfile(void)
{
	struct file	*prev;

	if ((prev = TAILQ_PREV(file, filehead, entry)) == NULL)
		return (EOF);
	TAILQ_REMOVE(&files, file, entry);
	fclose(file->stream);
	free(file->name);
	free(file->ungetbuf);
	free(file);
	file = prev;
	return (0);
}

static void
free_files(void)
{
	struct file	*f;

	while ((f = TAILQ_FIRST(&files)) != NULL) {
		TAILQ_REMOVE(&files, f, entry);
		fclose(f->stream);
		free(f->name);
		free(f->ungetbuf);
		free(f);
	}
	file = topfile = NULL;
}

static int
valid_macro_name(const char *s)
{
	const char	*p;

	if (*s == '\0' || strlen(s) >= MACRO_NAME_MAX)
		return (0);
	for (p = s; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return (0);
	return (1);
}

static int
symset(const char *nam, const char *val, int persist)
{
	struct sym	*sym;

	TAILQ_FOREACH(sym, &symhead, entry) {
		if (strcmp(nam, sym->nam) == 0)
			break;
	}
	if (sym != NULL) {
		/* -D on the command line beats the file */
		if (sym->persist && !persist)
			return (0);
		TAILQ_REMOVE(&symhead, sym, entry);
		free(sym->nam);
		free(sym->val);
		free(sym);
	}
	if ((sym = calloc(1, sizeof(*sym))) == NULL)
		return (-1);
	if ((sym->nam = strdup(nam)) == NULL) {
		free(sym);
		return (-1);
	}
	if ((sym->val = strdup(val)) == NULL) {
		free(sym->nam);
		free(sym);
		return (-1);
	}
	sym->persist = persist;
	TAILQ_INSERT_TAIL(&symhead, sym, entry);
	return (0);
}

int
cmdline_symset(char *s)
{
	char		*sym, *val;
	const char	*p;
	int		 ret;

	if ((val = strchr(s, '=')) == NULL)
		return (-1);
	if ((sym = strndup(s, val - s)) == NULL)
		fatal("%s", __func__);
	val++;
	ret = -1;
	if (!valid_macro_name(sym))
		goto done;
	for (p = val; *p != '\0'; p++) {
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			goto done;
	}
	ret = symset(sym, val, 1);
 done:
	free(sym);
	return (ret);
}

static char *
symget(const char *nam)
{
	struct sym	*sym;

	TAILQ_FOREACH(sym, &symhead, entry) {
		if (strcmp(nam, sym->nam) == 0) {
			sym->used = 1;
			return (sym->val);
		}
	}
	return (NULL);
}

/* File macros end with the parse; -D macros stay for the next reload. */
static void
free_macros(void)
{
	struct sym	*sym, *next;

	for (sym = TAILQ_FIRST(&symhead); sym != NULL; sym = next) {
		next = TAILQ_NEXT(sym, entry);
		if ((parse_flags & CONF_WARNUNUSED) && !sym->used)
			log_warnx("warning: macro '%s' not used", sym->nam);
		sym->used = 0;
		if (sym->persist)
			continue;
		TAILQ_REMOVE(&symhead, sym, entry);
		free(sym->nam);
		free(sym->val);
		free(sym);
	}
}

static void
markpos(struct confpos *pos)
{
	strlcpy(pos->file, file->name, sizeof(pos->file));
	pos->line = yylval.lineno;
}

/* An error found after parsing: at a statement, or at the file. */
static void
poserror(const struct confpos *pos, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	errors++;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("%s", __func__);
	va_end(ap);
	if (pos != NULL && pos->line > 0)
		log_warnx("%s:%d: %s", pos->file, pos->line, msg);
	else
		log_warnx("%s: %s", topfile->name, msg);
	free(msg);
}

/* Copy a string setting and free the token; what names it in errors. */
static int
setstr(char *dst, size_t dstlen, char *src, const char *what)
{
	int	 ret = 0;

	if (*src == '\0') {
		yyerror("%s must not be empty", what);
		ret = -1;
	} else if (strlcpy(dst, src, dstlen) >= dstlen) {
		yyerror("%s too long (at most %zu characters)", what,
		    dstlen - 1);
		ret = -1;
	}
	free(src);
	return (ret);
}

static int
setuser(char *dst, size_t dstlen, char *src, const char *what)
{
	const char	*p;

	for (p = src; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' &&
		    *p != '.')
			break;
	}
	if (*p != '\0' || *src == '-') {
		yyerror("%s \"%s\" is not a valid user name", what, src);
		free(src);
		return (-1);
	}
	return (setstr(dst, dstlen, src, what));
}

static int
range(int64_t val, int64_t min, int64_t max, const char *what)
{
	if (val < min || val > max) {
		yyerror("%s %lld out of range (%lld to %lld)", what,
		    (long long)val, (long long)min, (long long)max);
		return (-1);
	}
	return (0);
}

static int
duration_range(int64_t ms, uint64_t min, uint64_t max, const char *what)
{
	char	 a[32], b[32], c[32];

	if (ms < 0 || (uint64_t)ms < min || (uint64_t)ms > max) {
		yyerror("%s %s out of range (%s to %s)", what,
		    config_fmt_duration(ms < 0 ? 0 : ms, a, sizeof(a)),
		    config_fmt_duration(min, b, sizeof(b)),
		    config_fmt_duration(max, c, sizeof(c)));
		return (-1);
	}
	return (0);
}

/* "60s", "100ms", "5m", "1h"; the value in milliseconds. */
static int
parse_duration(const char *s, int64_t *ms)
{
	const char	*errstr;
	char		 num[16];
	size_t		 n;
	int64_t		 val, mul;

	n = strspn(s, "0123456789");
	if (n == 0 || n >= sizeof(num))
		return (-1);
	memcpy(num, s, n);
	num[n] = '\0';
	val = strtonum(num, 0, 1000000000000LL, &errstr);
	if (errstr != NULL)
		return (-1);
	if (strcmp(s + n, "ms") == 0)
		mul = 1;
	else if (strcmp(s + n, "s") == 0)
		mul = 1000;
	else if (strcmp(s + n, "m") == 0)
		mul = 60 * 1000;
	else if (strcmp(s + n, "h") == 0)
		mul = 3600 * 1000;
	else
		return (-1);
	*ms = val * mul;
	return (0);
}

/* "1024", "64K", "1M"; the value in bytes. */
static int
parse_size(const char *s, int64_t *bytes)
{
	const char	*errstr;
	char		 num[16];
	size_t		 n;
	int64_t		 val, mul;

	n = strspn(s, "0123456789");
	if (n == 0 || n >= sizeof(num))
		return (-1);
	memcpy(num, s, n);
	num[n] = '\0';
	val = strtonum(num, 0, 1000000000000LL, &errstr);
	if (errstr != NULL)
		return (-1);
	if (strcmp(s + n, "K") == 0 || strcmp(s + n, "k") == 0)
		mul = 1024;
	else if (strcmp(s + n, "M") == 0 || strcmp(s + n, "m") == 0)
		mul = 1024 * 1024;
	else
		return (-1);
	*bytes = val * mul;
	return (0);
}

/*
 * A non-negative decimal with at most scale decimals, as an integer in
 * units of 10^-scale: parse_fixed("2.5", 4) is 25000.
 */
static int
parse_fixed(const char *s, int scale, int64_t *out)
{
	const char	*errstr;
	char		 num[16];
	size_t		 n, f;
	int64_t		 val, frac;
	int		 i;

	n = strspn(s, "0123456789");
	if (n == 0 || n >= sizeof(num))
		return (-1);
	memcpy(num, s, n);
	num[n] = '\0';
	val = strtonum(num, 0, 1000000, &errstr);
	if (errstr != NULL)
		return (-1);
	frac = 0;
	f = 0;
	if (s[n] == '.') {
		f = strspn(s + n + 1, "0123456789");
		if (f == 0 || f > (size_t)scale || s[n + 1 + f] != '\0')
			return (-1);
		for (i = 0; i < (int)f; i++)
			frac = frac * 10 + (s[n + 1 + i] - '0');
	} else if (s[n] != '\0')
		return (-1);
	for (i = (int)f; i < scale; i++)
		frac *= 10;
	for (i = 0; i < scale; i++)
		val *= 10;
	*out = val + frac;
	return (0);
}

/* "5%", "2.5%", "0.0001%"; the value in parts per million. */
static int
parse_percent(const char *s, int64_t *ppm)
{
	char	 num[32];
	size_t	 len;

	len = strlen(s);
	if (len < 2 || len >= sizeof(num) || s[len - 1] != '%')
		return (-1);
	memcpy(num, s, len - 1);
	num[len - 1] = '\0';
	return (parse_fixed(num, 4, ppm));
}

/* Relay ids: printable, no ':' (peer lists) or '|' (signed strings). */
static int
valid_relay_id(const char *s)
{
	const char	*p;

	if (*s == '\0' || strlen(s) >= RELAY_ID_MAX)
		return (0);
	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e ||
		    *p == ':' || *p == '|')
			return (0);
	}
	return (1);
}

static int
valid_did_key(const char *s)
{
	static const char	 b58[] =
	    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
	size_t			 n;

	if (strncmp(s, "did:key:z", 9) != 0)
		return (0);
	n = strspn(s + 9, b58);
	return (n > 0 && s[9 + n] == '\0');
}

static void
check_tls_file(const char *path, const char *what)
{
	struct stat	 st;

	if ((parse_flags & CONF_NOFILECHECK) != 0)
		return;
	if (stat(path, &st) == -1)
		yyerror("tls %s \"%s\": %s", what, path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		yyerror("tls %s \"%s\": not a regular file", what, path);
}

static void
add_listen(char *addr, int64_t port, struct tlsopt *tls)
{
	struct listen_config	*lc, *l;
	struct in6_addr		 in6;
	struct in_addr		 in4;
	char			 canon[INET6_ADDRSTRLEN];
	const char		*a;
	int			 bad;

	a = strcmp(addr, "localhost") == 0 ? "127.0.0.1" : addr;
	if (inet_pton(AF_INET, a, &in4) == 1)
		inet_ntop(AF_INET, &in4, canon, sizeof(canon));
	else if (inet_pton(AF_INET6, a, &in6) == 1)
		inet_ntop(AF_INET6, &in6, canon, sizeof(canon));
	else {
		yyerror("listen address \"%s\" is not a numeric IPv4 or "
		    "IPv6 address", addr);
		goto done;
	}
	if (range(port, 1, 65535, "port") == -1)
		goto done;
	TAILQ_FOREACH(l, &conf->listens, entry) {
		if (strcmp(l->addr, canon) == 0 && l->port == port) {
			yyerror("duplicate listen on %s port %lld", canon,
			    (long long)port);
			goto done;
		}
	}
	if ((lc = calloc(1, sizeof(*lc))) == NULL)
		fatal("%s", __func__);
	strlcpy(lc->addr, canon, sizeof(lc->addr));
	lc->port = port;
	if (tls->cert != NULL) {
		lc->tls = 1;
		bad = setstr(lc->cert, sizeof(lc->cert), tls->cert,
		    "tls certificate");
		if (setstr(lc->key, sizeof(lc->key), tls->key,
		    "tls key") == -1)
			bad = -1;
		tls->cert = tls->key = NULL;
		if (bad == -1) {
			free(lc);
			goto done;
		}
		check_tls_file(lc->cert, "certificate");
		check_tls_file(lc->key, "key");
	}
	TAILQ_INSERT_TAIL(&conf->listens, lc, entry);
 done:
	free(addr);
	free(tls->cert);
	free(tls->key);
}

static void
add_fedrule(char *id, int block)
{
	struct fedrule_config	*r;

	if (!valid_relay_id(id)) {
		yyerror("invalid relay id \"%s\": printable, no ':' or '|', "
		    "at most %d characters", id, RELAY_ID_MAX - 1);
		goto done;
	}
	TAILQ_FOREACH(r, &conf->fedrules, entry) {
		if (strcmp(r->relay_id, id) != 0)
			continue;
		if (r->block == block)
			yyerror("relay \"%s\" is already %s", id,
			    block ? "blocked" : "allowed");
		else
			yyerror("relay \"%s\" is both allowed and blocked",
			    id);
		goto done;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("%s", __func__);
	strlcpy(r->relay_id, id, sizeof(r->relay_id));
	r->block = block;
	TAILQ_INSERT_TAIL(&conf->fedrules, r, entry);
 done:
	free(id);
}

/* endpoint scheme http|https: the first one replaces the default */
static int
ep_scheme(const char *s)
{
	uint32_t	 bit;

	if (strcmp(s, "http") == 0)
		bit = EP_SCHEME_HTTP;
	else if (strcmp(s, "https") == 0)
		bit = EP_SCHEME_HTTPS;
	else {
		yyerror("endpoint scheme \"%s\": expected http or https", s);
		return (-1);
	}
	if (!ep_schemes_set)
		conf->g.fed_ep.schemes = 0;
	ep_schemes_set = 1;
	conf->g.fed_ep.schemes |= bit;
	return (0);
}

/*
 * endpoint port N, N-M or any: the first one replaces the default (any
 * port); `any' forgets the ports given before.
 */
static int
ep_port(const char *s, int64_t n)
{
	struct cfg_endpoint	*ep = &conf->g.fed_ep;
	const char		*errstr;
	char			 buf[16], *dash;
	long long		 lo, hi;

	if (s != NULL && strcmp(s, "any") == 0) {
		ep->nports = 0;
		ep_ports_set = 1;
		return (0);
	}
	if (s == NULL)
		lo = hi = n;
	else {
		if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf) ||
		    (dash = strchr(buf, '-')) == NULL)
			goto bad;
		*dash++ = '\0';
		lo = strtonum(buf, 1, 65535, &errstr);
		if (errstr != NULL)
			goto bad;
		hi = strtonum(dash, 1, 65535, &errstr);
		if (errstr != NULL || hi < lo)
			goto bad;
	}
	if (lo < 1 || hi > 65535)
		goto bad;
	if (!ep_ports_set)
		ep->nports = 0;
	ep_ports_set = 1;
	if (ep->nports >= EP_PORTS_MAX) {
		yyerror("at most %d endpoint port lines", EP_PORTS_MAX);
		return (-1);
	}
	ep->ports[ep->nports][0] = (uint16_t)lo;
	ep->ports[ep->nports][1] = (uint16_t)hi;
	ep->nports++;
	return (0);
 bad:
	if (s != NULL)
		yyerror("endpoint port \"%s\": expected a port, a range "
		    "FIRST-LAST of ports 1 to 65535, or any", s);
	else
		yyerror("endpoint port %lld out of range (1 to 65535)",
		    (long long)n);
	return (-1);
}

/* endpoint allow loopback|link-local|private|metadata */
static int
ep_allow(const char *s)
{
	if (strcmp(s, "loopback") == 0)
		conf->g.fed_ep.allow |= EP_ALLOW_LOOPBACK;
	else if (strcmp(s, "link-local") == 0)
		conf->g.fed_ep.allow |= EP_ALLOW_LINKLOCAL;
	else if (strcmp(s, "metadata") == 0)
		conf->g.fed_ep.allow |= EP_ALLOW_METADATA;
	else {
		yyerror("endpoint allow \"%s\": expected loopback, "
		    "link-local, private or metadata", s);
		return (-1);
	}
	return (0);
}

/*
 * The passphrase decrypts the relay's private key: it must belong to root
 * or to us and must be unreadable for anyone else.
 */
static void
check_passphrase_file(const char *path)
{
	struct stat	 st;

	if (stat(path, &st) == -1) {
		errors++;
		log_warnx("%s: passphrase file: %s", path, strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		errors++;
		log_warnx("%s: passphrase file is not a regular file", path);
		return;
	}
	if (st.st_uid != 0 && st.st_uid != getuid()) {
		errors++;
		log_warnx("%s: passphrase file is owned by uid %lu, not by "
		    "root or uid %lu", path, (unsigned long)st.st_uid,
		    (unsigned long)getuid());
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		errors++;
		log_warnx("%s: passphrase file is group/world readable or "
		    "writable (mode %04o)", path,
		    (unsigned int)(st.st_mode & 07777));
	}
}

/* No endpoint: the first listen address, as http(s)://addr:port. */
static void
derive_endpoint(void)
{
	struct listen_config	*lc;

	if (conf->g.endpoint[0] != '\0' ||
	    (lc = TAILQ_FIRST(&conf->listens)) == NULL)
		return;
	if (strchr(lc->addr, ':') != NULL)
		snprintf(conf->g.endpoint, sizeof(conf->g.endpoint),
		    "%s://[%s]:%u", lc->tls ? "https" : "http", lc->addr,
		    lc->port);
	else
		snprintf(conf->g.endpoint, sizeof(conf->g.endpoint),
		    "%s://%s:%u", lc->tls ? "https" : "http", lc->addr,
		    lc->port);
}

/* Checks that need the whole configuration. */
static void
check_config(void)
{
	struct confpos	*pos;
	uint64_t	 sum;

	if (TAILQ_EMPTY(&conf->listens))
		poserror(NULL, "no listen address configured");
	if (strcmp(conf->user, conf->key_user) == 0)
		poserror(&pos_user, "key user must differ from user "
		    "(both are \"%s\")", conf->user);
	if (conf->g.fed_remove_after <= conf->g.fed_suspend_after) {
		pos = pos_remove.line > 0 ? &pos_remove : &pos_suspend;
		poserror(pos, "remove after (%u) must be greater than "
		    "suspend after (%u)", conf->g.fed_remove_after,
		    conf->g.fed_suspend_after);
	}
	if (!conf->g.route_lexicographic) {
		sum = (uint64_t)conf->g.route_w_trust + conf->g.route_w_cost +
		    conf->g.route_w_latency + conf->g.route_w_reliability +
		    conf->g.route_w_risk;
		/* within 1e-6 of 1.0 */
		if (sum + 1 < 1000000 || sum > 1000000 + 1) {
			char	 buf[32];

			poserror(&pos_routing, "routing weights sum to %s, "
			    "not 1, with weighted ranking",
			    config_fmt_weight(sum > UINT32_MAX ? UINT32_MAX :
			    (uint32_t)sum, buf, sizeof(buf)));
		}
	}
	if ((parse_flags & CONF_NOFILECHECK) == 0 &&
	    conf->key_pass_path[0] != '\0')
		check_passphrase_file(conf->key_pass_path);
}

struct relayd_config *
parse_config(const char *filename, int flags)
{
	struct relayd_config	*nconf;
	const char		*why;
	int			 ret;

	free_files();
	errors = 0;
	expanding = 0;
	lex_error = 0;
	parse_flags = flags;
	memset(&pos_user, 0, sizeof(pos_user));
	memset(&pos_suspend, 0, sizeof(pos_suspend));
	memset(&pos_remove, 0, sizeof(pos_remove));
	memset(&pos_routing, 0, sizeof(pos_routing));
	ep_schemes_set = ep_ports_set = 0;

	if ((conf = config_new_default()) == NULL)
		fatal("%s", __func__);
	if ((file = pushfile(filename, 0, &why)) == NULL) {
		log_warnx("%s: %s", filename, why);
		config_free(conf);
		conf = NULL;
		free_macros();
		return (NULL);
	}
	topfile = file;

	ret = yyparse();
	if (ret != 0 && errors == 0)
		errors++;
	/* file names are still needed for the messages of check_config() */
	while (file != topfile)
		popfile();
	if (errors == 0) {
		check_config();
		derive_endpoint();
	}
	free_files();
	free_macros();

	nconf = conf;
	conf = NULL;
	if (errors) {
		config_free(nconf);
		return (NULL);
	}
	return (nconf);
}
