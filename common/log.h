/*
 * Logging for every relayd process: syslog (opened before chroot with
 * LOG_NDELAY) or stderr in the foreground, prefixed with the process name.
 */
#ifndef RELAYD_LOG_H
#define RELAYD_LOG_H

#include <stdarg.h>

void	log_init(int, int);		/* debug (stderr), syslog facility */
void	log_procinit(const char *);	/* name shown in every line */
const char *log_procname(void);
void	log_setverbose(int);
int	log_getverbose(void);
void	log_warn(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	logit(int, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
void	log_event_cb(int, const char *);	/* libevent's messages */
void	vlog(int, const char *, va_list)
	    __attribute__((__format__ (printf, 2, 0)));
__attribute__((__noreturn__)) void fatal(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
__attribute__((__noreturn__)) void fatalx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));

#endif /* RELAYD_LOG_H */
