/*
 * ledgerd's side of routed's agent directory: IMSG_LDG_AGENT_LOAD
 * answered from the `agents' table (ledgerd/schema/001-init.sql and
 * 003-routing.sql).
 */
#ifndef LEDGERD_AGENTS_H
#define LEDGERD_AGENTS_H

#include "db.h"
#include "proc.h"

/* 0 when handled, -1 for a type that is not an agent-directory message */
int	 agents_dispatch(struct proc *, struct db *, struct imsgev *,
	    struct imsg *);

#endif /* LEDGERD_AGENTS_H */
