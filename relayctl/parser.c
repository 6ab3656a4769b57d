/*
 * relayctl(8) command-line parser: each word is matched against a table
 * of tokens; a unique prefix of a keyword is enough ("sh st").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"

enum token_type {
	ENDTOKEN,
	NOTOKEN,
	KEYWORD,
	FILENAME,
	PEERID,
	URL,
	CAPABILITY,
	AGENTID,
	PUBKEY
};

struct token {
	enum token_type		 type;
	const char		*keyword;
	int			 value;
	const struct token	*next;
};

static const struct token t_main[];
static const struct token t_show[];
static const struct token t_log[];
static const struct token t_verify[];
static const struct token t_auditopt[];
static const struct token t_pubkey[];
static const struct token t_auditfile[];
static const struct token t_peer[];
static const struct token t_peerid[];
static const struct token t_url[];
static const struct token t_routeopt[];
static const struct token t_capname[];
static const struct token t_agent[];
static const struct token t_agentid[];

static const struct token t_end[] = {
	{ NOTOKEN,	"",		NONE,		NULL },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_main[] = {
	{ KEYWORD,	"agent",	NONE,		t_agent },
	{ KEYWORD,	"log",		NONE,		t_log },
	{ KEYWORD,	"peer",		NONE,		t_peer },
	{ KEYWORD,	"reload",	RELOAD,		t_end },
	{ KEYWORD,	"show",		NONE,		t_show },
	{ KEYWORD,	"verify",	NONE,		t_verify },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_show[] = {
	{ KEYWORD,	"agent",	SHOW_AGENT,	t_agentid },
	{ KEYWORD,	"agents",	SHOW_AGENTS,	t_routeopt },
	{ KEYWORD,	"graph",	SHOW_GRAPH,	t_routeopt },
	{ KEYWORD,	"key",		SHOW_KEY,	t_end },
	{ KEYWORD,	"peer",		SHOW_PEER,	t_peerid },
	{ KEYWORD,	"peers",	SHOW_PEERS,	t_end },
	{ KEYWORD,	"requests",	SHOW_REQUESTS,	t_end },
	{ KEYWORD,	"routes",	SHOW_ROUTES,	t_routeopt },
	{ KEYWORD,	"status",	SHOW_STATUS,	t_end },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_log[] = {
	{ KEYWORD,	"brief",	LOG_BRIEF,	t_end },
	{ KEYWORD,	"verbose",	LOG_VERBOSE,	t_end },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_verify[] = {
	{ KEYWORD,	"audit",	VERIFY_AUDIT,	t_auditfile },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_auditfile[] = {
	{ FILENAME,	"",		NONE,		t_auditopt },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_auditopt[] = {
	{ NOTOKEN,	"",		NONE,		NULL },
	{ KEYWORD,	"key",		NONE,		t_pubkey },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_pubkey[] = {
	{ PUBKEY,	"",		NONE,		t_end },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_peer[] = {
	{ KEYWORD,	"accept",	PEER_ACCEPT,	t_peerid },
	{ KEYWORD,	"add",		PEER_ADD,	t_url },
	{ KEYWORD,	"block",	PEER_BLOCK,	t_peerid },
	{ KEYWORD,	"decline",	PEER_DECLINE,	t_peerid },
	{ KEYWORD,	"remove",	PEER_REMOVE,	t_peerid },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_peerid[] = {
	{ PEERID,	"",		NONE,		t_end },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_url[] = {
	{ URL,		"",		NONE,		t_end },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_routeopt[] = {
	{ NOTOKEN,	"",		NONE,		NULL },
	{ KEYWORD,	"capability",	NONE,		t_capname },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_capname[] = {
	{ CAPABILITY,	"",		NONE,		t_end },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_agent[] = {
	{ KEYWORD,	"revoke",	AGENT_REVOKE,	t_agentid },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static const struct token t_agentid[] = {
	{ AGENTID,	"",		NONE,		t_end },
	{ ENDTOKEN,	"",		NONE,		NULL }
};

static struct parse_result	res;

static const struct token *match_token(const char *, const struct token *);
static void	show_valid_args(const struct token *);

struct parse_result *
parse(int argc, char *argv[])
{
	const struct token	*table = t_main;
	const struct token	*match;

	memset(&res, 0, sizeof(res));
	while (argc >= 0) {
		if ((match = match_token(argc > 0 ? argv[0] : NULL,
		    table)) == NULL) {
			fprintf(stderr, "valid commands/args:\n");
			show_valid_args(table);
			return (NULL);
		}
		argc--;
		argv++;
		if (match->type == NOTOKEN || match->next == NULL)
			break;
		table = match->next;
	}
	if (argc > 0) {
		fprintf(stderr, "superfluous argument: %s\n", argv[0]);
		return (NULL);
	}
	return (&res);
}

static const struct token *
match_token(const char *word, const struct token *table)
{
	const struct token	*t = NULL;
	size_t			 i, match = 0;

	/* a keyword typed in full wins over longer ones it prefixes */
	for (i = 0; word != NULL && table[i].type != ENDTOKEN; i++)
		if (table[i].type == KEYWORD &&
		    strcmp(word, table[i].keyword) == 0) {
			if (table[i].value)
				res.action = table[i].value;
			return (&table[i]);
		}

	for (i = 0; table[i].type != ENDTOKEN; i++) {
		switch (table[i].type) {
		case NOTOKEN:
			if (word == NULL || strlen(word) == 0) {
				match++;
				t = &table[i];
			}
			break;
		case KEYWORD:
			if (word != NULL && strncmp(word, table[i].keyword,
			    strlen(word)) == 0) {
				match++;
				t = &table[i];
				if (t->value)
					res.action = t->value;
			}
			break;
		case FILENAME:
			if (word != NULL && *word != '\0') {
				res.path = word;
				match++;
				t = &table[i];
			}
			break;
		case PEERID:
			if (word != NULL && *word != '\0') {
				res.peer = word;
				match++;
				t = &table[i];
			}
			break;
		case URL:
			if (word != NULL && *word != '\0') {
				res.url = word;
				match++;
				t = &table[i];
			}
			break;
		case CAPABILITY:
			if (word != NULL && *word != '\0') {
				res.capability = word;
				match++;
				t = &table[i];
			}
			break;
		case AGENTID:
			if (word != NULL && *word != '\0') {
				res.agent = word;
				match++;
				t = &table[i];
			}
			break;
		case PUBKEY:
			if (word != NULL && *word != '\0') {
				res.key = word;
				match++;
				t = &table[i];
			}
			break;
		case ENDTOKEN:
			break;
		}
	}
	if (match != 1) {
		if (word == NULL)
			fprintf(stderr, "missing argument:\n");
		else if (match > 1)
			fprintf(stderr, "ambiguous argument: %s\n", word);
		else
			fprintf(stderr, "unknown argument: %s\n", word);
		return (NULL);
	}
	return (t);
}

static void
show_valid_args(const struct token *table)
{
	int	i;

	for (i = 0; table[i].type != ENDTOKEN; i++) {
		switch (table[i].type) {
		case NOTOKEN:
			fprintf(stderr, "  <cr>\n");
			break;
		case KEYWORD:
			fprintf(stderr, "  %s\n", table[i].keyword);
			break;
		case FILENAME:
			fprintf(stderr, "  <filename>\n");
			break;
		case PEERID:
			fprintf(stderr, "  <relay-id>\n");
			break;
		case URL:
			fprintf(stderr, "  <url>\n");
			break;
		case CAPABILITY:
			fprintf(stderr, "  <capability>\n");
			break;
		case AGENTID:
			fprintf(stderr, "  <motebit_id>\n");
			break;
		case PUBKEY:
			fprintf(stderr, "  <public-key-hex>\n");
			break;
		case ENDTOKEN:
			break;
		}
	}
}
