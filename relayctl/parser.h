/*
 * relayctl(8) command-line grammar: token tables with unique-prefix
 * matching, in the style of bgpctl.
 */
#ifndef RELAYCTL_PARSER_H
#define RELAYCTL_PARSER_H

enum actions {
	NONE,
	SHOW_STATUS,
	SHOW_KEY,
	RELOAD,
	LOG_VERBOSE,
	LOG_BRIEF,
	VERIFY_AUDIT,
	SHOW_PEERS,
	SHOW_PEER,
	SHOW_REQUESTS,
	PEER_ADD,
	PEER_ACCEPT,
	PEER_DECLINE,
	PEER_REMOVE,
	PEER_BLOCK,
	SHOW_ROUTES,
	SHOW_GRAPH,
	SHOW_AGENTS,
	SHOW_AGENT,
	AGENT_REVOKE
};

struct parse_result {
	enum actions	 action;
	const char	*path;
	const char	*key;		/* verify audit ... key HEX */
	const char	*peer;		/* relay id */
	const char	*url;
	const char	*capability;	/* show routes, graph, agents */
	const char	*agent;		/* motebit_id */
};

/* NULL after printing a usage message for the failed word */
struct parse_result	*parse(int, char *[]);

#endif /* RELAYCTL_PARSER_H */
