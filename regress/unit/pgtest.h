/*
 * A private PostgreSQL cluster for Check tests, driven by regress/pg.sh:
 * pgtest_start() creates it under a fresh /tmp directory and arranges for
 * the main process (not Check's forked children) to stop it by PID and
 * remove it at exit.  Missing server binaries make pgtest_start() fail.
 */
#ifndef REGRESS_PGTEST_H
#define REGRESS_PGTEST_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

extern char	 pg_dir[PATH_MAX];
extern char	 pg_host[PATH_MAX];	/* socket directory */
extern char	 pg_port[16];
extern char	 pg_user[64];		/* the cluster's superuser */

int	 pgtest_start(const char *);	/* program name for messages */
int	 pgtest_sh(const char *);	/* pg.sh start|stop|kill DIR */
void	 pgtest_conninfo(char *, size_t, const char *);
int64_t	 pgtest_mono_ms(void);

/* Blocking checks from outside (ck_assert on connection failure). */
char	*pgtest_sql1(const char *, const char *, char *, size_t);
void	 pgtest_sql_ok(const char *, const char *);
long long pgtest_sql_num(const char *, const char *);
void	 pgtest_fresh_db(const char *);

#endif /* REGRESS_PGTEST_H */
