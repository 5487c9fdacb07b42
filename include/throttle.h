/*
 * throttle.h: progressive delays against brute force (SECURITY.md 10), in memory.
 *
 * A failure counter per key ("id:<identifier>|<source>", "src:<source>", ...).  After ${max_failures}
 * failures each further failure doubles the wait (1 s, 2 s, 4 s ... capped at ${max_delay}); a success clears
 * the key.  Entries decay once their delay has passed twice over, and the table is bounded: when full, the
 * oldest entries are dropped.  Thread-safe (one mutex; the work under it is a hash lookup).
 */
#ifndef ANCHORID_THROTTLE_H
#define ANCHORID_THROTTLE_H

#include <stdint.h>

#define THROTTLE_MAX_ENTRIES 65536 /* about 6 MB at most: enough for a flood from many sources */

struct throttle;

/** throttle_new(): an empty table; NULL on memory failure. */
struct throttle *throttle_new(void);
/** throttle_free(t): NULL is a no-op. */
void throttle_free(struct throttle *t);
/** throttle_wait(t, key, now): seconds until ${key} may try again (0: now). */
int64_t throttle_wait(struct throttle *t, const char *key, int64_t now);
/** throttle_fail(t, key, now, max_failures, max_delay): count a failure for ${key}. */
void throttle_fail(struct throttle *t, const char *key, int64_t now, int max_failures, int64_t max_delay);
/** throttle_clear(t, key): forget ${key} (after a success). */
void throttle_clear(struct throttle *t, const char *key);

#endif
