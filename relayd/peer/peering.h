/*
 * Peering in the peer engine (relayd -P peer): the peer table, its state
 * machine, outbound handshakes and heartbeats, inbound federation
 * requests handed over by the frontends, the operator's peer commands,
 * and persistence through ledgerd.  relayd(8) describes it end to end;
 * peerstate.h holds the pure parts.
 */
#ifndef RELAYD_PEERING_H
#define RELAYD_PEERING_H

#include <stdint.h>

#include "peerstate.h"
#include "proc.h"
#include "relayd.h"

void	 peering_init(struct proc *);
void	 peering_ready(struct proc *);		/* before the sandbox */
void	 peering_shutdown(void);
void	 peering_config(const struct cfg_global *, struct fedrules *);
void	 peering_identity(const struct cfg_identity *);
void	 peering_ldg_state(const struct ldg_state *);

/* 0 handled, -1 not a peering message */
int	 peering_dispatch(struct imsgev *, struct imsg *);
/* 0 handled, -1 drop the client, 1 not a peering request */
int	 peering_ctl(struct ctl_conn *, struct imsg *);
void	 peering_ctl_closed(struct ctl_conn *);

/* sets the peers-by-state gauge before /metrics is rendered */
void	 peering_metrics(void);
void	 peering_status(char *, size_t);

#endif /* RELAYD_PEERING_H */
