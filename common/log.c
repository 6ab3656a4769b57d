/*
 * Logging: syslog or stderr, per-process names, run-time verbosity.
 * fatal() and fatalx() log and exit(1); the parent sees the child die and
 * takes the whole daemon down.
 *
 * Every process limits what it writes, so that no input can turn the
 * log into the way to fill a disk: a line that repeats the one before it
 * is counted, not written ("last message repeated N times" follows when
 * another line comes, or with the next repeat after LOG_REPEAT_FLUSH
 * seconds), and lines beyond LOG_RATE a second (bursts of LOG_BURST) are
 * dropped and counted ("N messages dropped" follows).  fatal() lines
 * always pass.  libevent's own messages come the same way
 * (log_event_cb()).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_RATE		50	/* lines a second */
#define LOG_BURST		200
#define LOG_REPEAT_FLUSH	30	/* seconds */

static int	 log_debug_mode;
static int	 log_verbose;
static const char *log_name = "relayd";

/* the limiter */
static char	 log_last[2048];
static int	 log_last_pri = -1;
static unsigned long long log_repeats;
static time_t	 log_repeat_since;
static double	 log_tokens = LOG_BURST;
static struct timespec log_refill;
static unsigned long long log_dropped;

void
log_init(int n_debug, int facility)
{
	log_debug_mode = n_debug;
	log_verbose = n_debug;
	if (!log_debug_mode)
		openlog(getprogname(), LOG_PID | LOG_NDELAY, facility);
	tzset();
}

void
log_procinit(const char *name)
{
	if (name != NULL)
		log_name = name;
}

const char *
log_procname(void)
{
	return (log_name);
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

int
log_getverbose(void)
{
	return (log_verbose);
}

static void
log_write(int pri, const char *buf)
{
	if (log_debug_mode) {
		fprintf(stderr, "%s: %s\n", log_name, buf);
		fflush(stderr);
	} else
		syslog(pri, "%s: %s", log_name, buf);
}

static void
log_flush_repeats(void)
{
	char	 buf[64];

	if (log_repeats == 0)
		return;
	snprintf(buf, sizeof(buf), "last message repeated %llu time%s",
	    log_repeats, log_repeats == 1 ? "" : "s");
	log_repeats = 0;
	log_write(log_last_pri, buf);
}

/* 1 if a line may be written now (a token taken) */
static int
log_take(int pri)
{
	struct timespec	 now;
	double		 dt;
	char		 buf[80];

	if (pri <= LOG_CRIT)
		return (1);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (log_refill.tv_sec == 0 && log_refill.tv_nsec == 0)
		log_refill = now;
	dt = (double)(now.tv_sec - log_refill.tv_sec) +
	    (double)(now.tv_nsec - log_refill.tv_nsec) / 1e9;
	log_refill = now;
	if (dt > 0 && (log_tokens += dt * LOG_RATE) > LOG_BURST)
		log_tokens = LOG_BURST;
	if (log_tokens < 1) {
		log_dropped++;
		return (0);
	}
	log_tokens -= 1;
	if (log_dropped > 0 && log_tokens >= 1) {
		log_tokens -= 1;
		snprintf(buf, sizeof(buf), "%llu message%s dropped (more than "
		    "%d a second)", log_dropped, log_dropped == 1 ? "" : "s",
		    LOG_RATE);
		log_dropped = 0;
		log_write(LOG_WARNING, buf);
	}
	return (1);
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char	buf[2048];
	int	saved_errno = errno;
	time_t	now;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	now = time(NULL);
	if (pri == log_last_pri && strcmp(buf, log_last) == 0 &&
	    pri > LOG_CRIT) {
		if (log_repeats++ == 0)
			log_repeat_since = now;
		if (now - log_repeat_since >= LOG_REPEAT_FLUSH &&
		    log_take(pri))
			log_flush_repeats();
		errno = saved_errno;
		return;
	}
	/* a dropped line is counted as dropped, not as a repeat */
	if (log_take(pri)) {
		log_flush_repeats();
		log_write(pri, buf);
		memcpy(log_last, buf, sizeof(log_last));
		log_last_pri = pri;
	}
	errno = saved_errno;
}

/*
 * libevent's log callback (event_set_log_callback()): its warnings and
 * errors pass the same limiter; its debug lines need -vv.
 */
void
log_event_cb(int severity, const char *msg)
{
	switch (severity) {
	case 0:		/* EVENT_LOG_DEBUG */
		log_debug("libevent: %s", msg);
		break;
	case 1:		/* EVENT_LOG_MSG */
		logit(LOG_INFO, "libevent: %s", msg);
		break;
	default:	/* EVENT_LOG_WARN, EVENT_LOG_ERR */
		logit(LOG_ERR, "libevent: %s", msg);
		break;
	}
}

void
logit(int pri, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

static void
vlog_errno(int pri, int saved, const char *fmt, va_list ap)
{
	char	buf[2048];

	if (fmt == NULL) {
		logit(pri, "%s", strerror(saved));
		return;
	}
	vsnprintf(buf, sizeof(buf), fmt, ap);
	logit(pri, "%s: %s", buf, strerror(saved));
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_ERR, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbose < 2)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	log_flush_repeats();
	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	log_flush_repeats();
	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
