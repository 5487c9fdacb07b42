/*
 * password.c: password hashing with argon2id.  RFC 9106 §3.1 (inputs), §4 (parameter choice); hashes are
 * stored in the reference implementation's PHC string form: $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<tag>,
 * unpadded standard base64.
 * SECURITY.md 9 (no user enumeration: unknown identities cost one hash too) and 10 (a hash costs
 * argon2_m_cost KiB of memory, so at most argon2_max_concurrent run at once; more wait 2 s, then PW_BUSY).
 *
 * The password is passed to libargon2 where the caller keeps it: this file makes no copy of it.
 */
#include <errno.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <argon2.h>

#include "conf.h"
#include "keys.h"
#include "log.h"
#include "util.h"

#define PW_SALT_LEN 16     /* RFC 9106 §3.1: 128 bits of salt */
#define PW_HASH_LEN 32     /* RFC 9106 §4: 256-bit tag */
#define PW_WAIT_MS 2000    /* longer than this in the queue: PW_BUSY (the caller answers 503) */
#define PW_MAX_ENCODED 256 /* an encoded hash with 32-bit parameters fits in 130 bytes */

static struct {
	bool ready;  /* pw_init() succeeded */
	sem_t slots; /* argon2_max_concurrent hashes at once */
	uint32_t t_cost, m_cost, lanes;
	char dummy[PW_MAX_ENCODED]; /* a hash nothing verifies against, with the configured parameters */
} pw;

/** pw_init(conf): argon2id parameters and the concurrency cap (a counting semaphore).  Call once (tests call
 * it again while no hash runs, to change the parameters). */
int
pw_init(const struct conf *conf)
{
	if (conf == NULL || conf->argon2_t_cost < (int)ARGON2_MIN_TIME || conf->argon2_parallelism < 1 ||
	    conf->argon2_parallelism > 64 || conf->argon2_m_cost < 8 * conf->argon2_parallelism ||
	    conf->argon2_m_cost > 4 * 1024 * 1024 || conf->argon2_max_concurrent < 1) {
		log_warnx("pw_init: argon2 parameters out of range");
		return (-1);
	}
	if (pw.ready) {
		sem_destroy(&pw.slots);
		pw.ready = false;
	}
	if (sem_init(&pw.slots, 0, (unsigned int)conf->argon2_max_concurrent) == -1) {
		log_warn("pw_init: sem_init");
		return (-1);
	}
	pw.t_cost = (uint32_t)conf->argon2_t_cost;
	pw.m_cost = (uint32_t)conf->argon2_m_cost;
	pw.lanes = (uint32_t)conf->argon2_parallelism;
	/* A fixed salt and an all-zero tag: verifying any password against it costs one full hash and fails. */
	snprintf(pw.dummy, sizeof(pw.dummy), "$argon2id$v=%d$m=%u,t=%u,p=%u$%s$%s", ARGON2_VERSION_13, pw.m_cost,
	    pw.t_cost, pw.lanes, "YW5jaG9yaWQtZHVtbXkhIQ", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	pw.ready = true;
	return (0);
}

/* pw_slot_take(): wait up to PW_WAIT_MS (monotonic) for a free hashing slot. */
static enum pw_rc
pw_slot_take(void)
{
	struct timespec ts;
	int r;

	if (!pw.ready) {
		log_warnx("pw: pw_init was not called");
		return (PW_ERROR);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += PW_WAIT_MS / 1000;
	ts.tv_nsec += (PW_WAIT_MS % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while ((r = sem_clockwait(&pw.slots, CLOCK_MONOTONIC, &ts)) == -1 && errno == EINTR)
		;
	if (r == 0)
		return (PW_OK);
	if (errno == ETIMEDOUT)
		return (PW_BUSY);
	log_warn("pw: sem_clockwait");
	return (PW_ERROR);
}

static void
pw_slot_give(void)
{
	sem_post(&pw.slots);
}

/** pw_hash(password, out): argon2id-encode ${password} with a fresh salt; caller frees *out.  PW_BUSY when the
 * cap stays full for 2 s. */
enum pw_rc
pw_hash(const char *password, char **out)
{
	unsigned char salt[PW_SALT_LEN];
	char *enc = NULL;
	enum pw_rc rc;
	size_t enclen;
	int r;

	if (out == NULL || password == NULL)
		return (PW_ERROR);
	*out = NULL;
	if ((rc = pw_slot_take()) != PW_OK)
		return (rc);
	rc = PW_ERROR;
	enclen = argon2_encodedlen(pw.t_cost, pw.m_cost, pw.lanes, PW_SALT_LEN, PW_HASH_LEN, Argon2_id);
	if (rand_bytes(salt, sizeof(salt)) == -1) {
		log_warnx("pw_hash: no randomness");
		goto out;
	}
	if ((enc = calloc(1, enclen)) == NULL) {
		log_warn("pw_hash: calloc");
		goto out;
	}
	if ((r = argon2id_hash_encoded(pw.t_cost, pw.m_cost, pw.lanes, password, strlen(password), salt, sizeof(salt),
	         PW_HASH_LEN, enc, enclen)) != ARGON2_OK) {
		log_warnx("pw_hash: argon2: %s", argon2_error_message(r));
		goto out;
	}
	*out = enc;
	enc = NULL;
	rc = PW_OK;
out:
	pw_slot_give();
	explicit_bzero(salt, sizeof(salt));
	free(enc);
	return (rc);
}

/** pw_verify(encoded, password): check ${password}; with ${encoded} NULL it hashes a dummy so that unknown
 * identities take the same time, and returns PW_MISMATCH.  Constant-time comparison inside argon2. */
enum pw_rc
pw_verify(const char *encoded, const char *password)
{
	enum pw_rc rc;
	int r;

	if (password == NULL)
		return (PW_ERROR);
	if ((rc = pw_slot_take()) != PW_OK)
		return (rc);
	/* SECURITY.md 9: an unknown identity costs one hash with the same parameters as a known one. */
	r = argon2id_verify(encoded != NULL ? encoded : pw.dummy, password, strlen(password));
	pw_slot_give();
	if (encoded == NULL && r != ARGON2_VERIFY_MISMATCH)
		log_warnx("pw_verify: the dummy hash did not cost a hash: %s", argon2_error_message(r));
	if (encoded == NULL || r == ARGON2_VERIFY_MISMATCH)
		return (PW_MISMATCH);
	if (r == ARGON2_OK)
		return (PW_OK);
	log_warnx("pw_verify: argon2: %s", argon2_error_message(r));
	return (PW_ERROR);
}

/* num_u32(s, end, out): a decimal number of at most 10 digits up to ${end}; the position after it or NULL. */
static const char *
num_u32(const char *s, char end, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		if (i == 10 || (i > 0 && v == 0)) /* no leading zeros, no overflow */
			return (NULL);
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0 || s[i] != end || v > UINT32_MAX)
		return (NULL);
	*out = (uint32_t)v;
	return (s + i + 1);
}

/** pw_needs_rehash(encoded): true when ${encoded} used other parameters than the configured ones. */
bool
pw_needs_rehash(const char *encoded)
{
	static const char prefix[] = "$argon2id$v=";
	uint32_t v, m, t, p;
	const char *s, *salt_end;

	if (encoded == NULL || !pw.ready || strncmp(encoded, prefix, sizeof(prefix) - 1) != 0)
		return (true);
	s = encoded + sizeof(prefix) - 1;
	if ((s = num_u32(s, '$', &v)) == NULL || strncmp(s, "m=", 2) != 0 || (s = num_u32(s + 2, ',', &m)) == NULL ||
	    strncmp(s, "t=", 2) != 0 || (s = num_u32(s + 2, ',', &t)) == NULL || strncmp(s, "p=", 2) != 0 ||
	    (s = num_u32(s + 2, '$', &p)) == NULL || (salt_end = strchr(s, '$')) == NULL)
		return (true);
	/* Unpadded base64: 16 bytes of salt are 22 characters, a 32-byte tag 43. */
	return (v != ARGON2_VERSION_13 || m != pw.m_cost || t != pw.t_cost || p != pw.lanes || salt_end - s != 22 ||
	    strlen(salt_end + 1) != 43);
}
