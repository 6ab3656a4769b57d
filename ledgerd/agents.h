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

/*
 * agent_reg.c: the agent API (frontends) and relayctl's agent commands
 * (through the peer engine); 0 when handled, -1 for another type.
 */
int	 agreg_dispatch(struct proc *, struct db *, struct imsgev *,
	    struct imsg *);

/* ledgerd.c: db_agent_count() changed; tell every process */
void	 ledgerd_agent_count_changed(void);

#endif /* LEDGERD_AGENTS_H */
