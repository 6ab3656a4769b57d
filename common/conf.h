/*
 * relayd.conf(5) in memory.  The parent parses it (relayd/parse.y) and
 * sends each child only what it needs (cfg_* structures in relayd_imsg.h).
 */
#ifndef RELAYD_CONF_H
#define RELAYD_CONF_H

#include <sys/queue.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "relayd_imsg.h"

#define RELAYD_CONF_FILE	RELAYD_SYSCONFDIR "/relayd.conf"
#define RELAYD_USER		"_relayd"
#define RELAYD_KEY_USER		"_relayd-key"
#define RELAYD_CHROOT		"/var/empty"
#define RELAYD_KEY_FILE		RELAYD_SYSCONFDIR "/relayd/relay.key"
#define RELAYD_AUDIT_LOG	"/var/log/relayd/sign.log"
#define RELAYD_DATABASE		"host=/var/run/postgresql dbname=relayd"
#define RELAYD_CONTROL_SOCK	"/var/run/relayd.sock"

struct listen_config {
	TAILQ_ENTRY(listen_config) entry;
	char		 addr[64];	/* numeric address as written */
	uint16_t	 port;
	int		 tls;
	char		 cert[PATH_MAX];
	char		 key[PATH_MAX];
};
TAILQ_HEAD(listen_head, listen_config);

struct fedrule_config {
	TAILQ_ENTRY(fedrule_config) entry;
	char		 relay_id[RELAY_ID_MAX];
	int		 block;
};
TAILQ_HEAD(fedrule_head, fedrule_config);

struct relayd_config {
	struct cfg_global	 g;		/* flat, sent over imsg */
	struct listen_head	 listens;
	struct fedrule_head	 fedrules;
	char			 user[32];
	char			 key_user[32];
	char			 chroot[PATH_MAX];
	char			 key_path[PATH_MAX];
	char			 key_pass_path[PATH_MAX];	/* "" = none */
	char			 audit_log[PATH_MAX];
	char			 database[1024];
	char			 control_sock[PATH_MAX];
	char			 anchor_command[PATH_MAX];	/* "" = none */
	char			 architect[DID_MAX * 2];	/* "" = none */
};

/* parse_config() flags */
#define CONF_NOFILECHECK	0x01	/* skip file existence/secrecy checks */
#define CONF_WARNUNUSED		0x02	/* warn about unused macros (-vv) */

/* relayd/parse.y */
struct relayd_config *parse_config(const char *, int);	/* NULL on error */
int	 cmdline_symset(char *);
/* relayd/config.c */
struct relayd_config *config_new_default(void);
void	 config_free(struct relayd_config *);
void	 config_print(FILE *, const struct relayd_config *);
/* the units config_print() uses: largest exact unit, minimal decimals */
const char *config_fmt_duration(uint64_t, char *, size_t);	/* ms */
const char *config_fmt_size(uint64_t, char *, size_t);		/* bytes */
const char *config_fmt_percent(uint32_t, char *, size_t);	/* ppm */
const char *config_fmt_weight(uint32_t, char *, size_t);	/* ppm */

#endif /* RELAYD_CONF_H */
