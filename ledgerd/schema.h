/*
 * Schema migrations compiled into ledgerd.  The table is generated at build
 * time from ledgerd/schema/NNN-name.sql (mk/ledgerd.am): one entry per file,
 * in strictly increasing version order, ended by an entry with sql NULL.
 */
#ifndef LEDGERD_SCHEMA_H
#define LEDGERD_SCHEMA_H

struct db_migration {
	int		 version;
	const char	*name;
	const char	*sql;
};

extern const struct db_migration db_migrations[];

#endif /* LEDGERD_SCHEMA_H */
