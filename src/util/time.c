/*
 * time.c: wall-clock seconds for protocol timestamps (iat, exp, auth_time) and monotonic milliseconds for
 * durations (delays, timeouts), which must not jump when the clock is set.
 */
#include <stdint.h>
#include <time.h>

#include "util.h"

/** time_now(): seconds since the epoch (wall clock). */
int64_t
time_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return ((int64_t)time(NULL));
	return ((int64_t)ts.tv_sec);
}

/** time_mono_ms(): monotonic milliseconds since an arbitrary origin, for durations. */
uint64_t
time_mono_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer on Linux or the BSDs. */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}
