/*
 * schema.h: the SQLite schema of src/store/sqlite.c as numbered migrations (private to src/store/).
 */
#ifndef ANCHORID_STORE_SCHEMA_H
#define ANCHORID_STORE_SCHEMA_H

#include <stddef.h>

/* schema_migrations[i] brings the database from version i to version i + 1.  Each entry is applied, together
 * with its row in schema_version, in one transaction.  Entries are never edited once released: a change to the
 * schema is a new entry at the end. */
extern const char *const schema_migrations[];
/* The number of entries in schema_migrations: the version this binary expects. */
extern const size_t schema_nmigrations;

#endif
