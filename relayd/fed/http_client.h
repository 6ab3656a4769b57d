/*
 * The peer engine's outbound HTTP(S) client, on libevent 2.1's evhttp.
 *
 * One connection per request (Connection: close), a deadline per request
 * (the whole exchange: resolution, connect, TLS, request, response), a
 * limit on the response body, and the JSON body parsed with the strict
 * parser.  https:// endpoints are verified against the system's CA
 * bundle (or $SSL_CERT_FILE), which hc_init() loads into memory before
 * the sandbox closes the file system; TLS 1.2 or later, SNI, and the
 * host name (or IP address) checked against the certificate.  Host names
 * are resolved with evdns from the /etc/resolv.conf and /etc/hosts read
 * by hc_init(); numeric addresses need no resolver.
 *
 * The callback runs exactly once per request, from the event loop, never
 * from inside hc_get()/hc_post(), unless hc_cancel() is called first.
 * After the callback the request is gone.
 */
#ifndef RELAYD_HTTP_CLIENT_H
#define RELAYD_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "peerstate.h"

#define HC_BODY_MAX	(256 * 1024)	/* response body limit */
#define HC_HEADERS_MAX	(16 * 1024)

struct hc_req;

struct hc_reply {
	int		 status;	/* HTTP status; 0: no answer */
	char		 error[160];	/* transport error, or the answer's */
					/* "error" member */
	json_t		*body;		/* the parsed JSON body, or NULL */
	int64_t		 rtt_ms;	/* request start to answer */
};

typedef void	(*hc_cb)(const struct hc_reply *, void *);

/*
 * The outbound endpoint policy (relayd.conf `endpoint ...'), applied to
 * every request: scheme and port, then the address (a literal, or what
 * the host name resolved to), before anything is sent.  A refused
 * request fails like an unreachable one, with the reason.  Redirects are
 * not followed (evhttp does not, and nothing here does).
 */
void	 hc_policy(const struct cfg_endpoint *);

/* Before the sandbox: CA bundle, resolver.  Returns -1 on no base. */
int	 hc_init(struct event_base *);
void	 hc_shutdown(void);
/* "CA bundle /etc/ssl/certs/ca-certificates.crt (142 certificates)" */
const char *hc_describe(void);

struct hc_req *hc_get(const struct peer_url *, const char *, int, hc_cb,
	    void *);
struct hc_req *hc_post(const struct peer_url *, const char *, const char *,
	    size_t, int, hc_cb, void *);
void	 hc_cancel(struct hc_req *);

#endif /* RELAYD_HTTP_CLIENT_H */
