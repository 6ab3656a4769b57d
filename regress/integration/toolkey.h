/*
 * What the test tools (fedsign, agentctl) share: dying with a message
 * under the tool's name, and Ed25519 keys from a test seed.
 */
#ifndef RELAYD_TOOLKEY_H
#define RELAYD_TOOLKEY_H

#include <openssl/evp.h>

extern const char	*tool_name;	/* set by each tool */

void		 die(const char *, const char *)
		    __attribute__((__noreturn__));
/* 64 hex digits, or 2 (the byte repeated 32 times) */
EVP_PKEY	*key(const char *);

#endif /* RELAYD_TOOLKEY_H */
