/*
 * ledgerd's side of the peer table: the peer engine's
 * IMSG_LDG_PEER_{LOAD,SAVE,DEL} answered from the `peers' table
 * (ledgerd/schema/001-init.sql and 002-peering.sql).
 */
#ifndef LEDGERD_PEERS_H
#define LEDGERD_PEERS_H

#include "db.h"
#include "proc.h"

/* 0 when handled, -1 for a type that is not a peer-table message */
int	 peers_dispatch(struct proc *, struct db *, struct imsgev *,
	    struct imsg *);

#endif /* LEDGERD_PEERS_H */
