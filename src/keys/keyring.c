/*
 * keyring.c: the signing keys.  RFC 7517 (JWK, JWK Set), RFC 7518 §3.1 (RS256, ES256), RFC 7638 (kid),
 * SECURITY.md 13 (rotation with overlap).
 *
 * Life cycle of a key (times in the store row): published from created_at, signs from activate_at until
 * retire_at (set when a newer key of its alg is added), unpublished from expire_at = retire_at + the longest
 * token lifetime + 60 s.  The keyring imports each stored key once into an immutable snapshot; readers take a
 * reference under a mutex held for one pointer load, so signing never waits for a refresh.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjose/cjose.h>
#include <jansson.h>

#include "conf.h"
#include "keys.h"
#include "keys_int.h"
#include "log.h"
#include "store.h"
#include "util.h"

#define KEYS_EXPIRE_SLACK 60 /* seconds past the longest token lifetime: clock skew and refresh period */

const struct keys_alg keys_algs[KEYS_NALGS] = {
	{ "RS256", CJOSE_JWK_KTY_RSA, "RSA" }, /* ID tokens: the reference clients accept only RS256 */
	{ "ES256", CJOSE_JWK_KTY_EC, "EC" },   /* access and agent tokens: cheaper to sign */
};

struct keyring {
	struct store *st;           /* not owned */
	pthread_mutex_t swap_mu;    /* guards ${cur} while a reader takes a reference */
	pthread_mutex_t refresh_mu; /* one refresh at a time */
	struct kr_snap *cur;        /* the snapshot readers get; owns one reference */
};

/** keys_alg_find(alg): the entry of keys_algs[] for ${alg}, or NULL when we do not implement it. */
const struct keys_alg *
keys_alg_find(const char *alg)
{
	size_t i;

	if (alg == NULL)
		return (NULL);
	for (i = 0; i < KEYS_NALGS; i++)
		if (strcmp(keys_algs[i].alg, alg) == 0)
			return (&keys_algs[i]);
	return (NULL);
}

static void
kr_key_put(struct kr_key *k)
{
	if (k == NULL || atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) != 1)
		return;
	cjose_jwk_release(k->jwk);
	json_decref(k->pub);
	free(k->kid);
	free(k);
}

static void
snap_free(struct kr_snap *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nents; i++)
		kr_key_put(s->ents[i].key);
	free(s->ents);
	free(s->jwks);
	free(s);
}

/** keyring_snap_put(s): drop a reference; the last one frees ${s}.  NULL is a no-op. */
void
keyring_snap_put(struct kr_snap *s)
{
	if (s != NULL && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		snap_free(s);
}

/** keyring_snap_get(kr): a reference to the current snapshot (never NULL); release with keyring_snap_put. */
struct kr_snap *
keyring_snap_get(struct keyring *kr)
{
	struct kr_snap *s;

	pthread_mutex_lock(&kr->swap_mu);
	s = kr->cur;
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&kr->swap_mu);
	return (s);
}

/** keyring_snap_signer(s, alg, now): the key that signs ${alg} at ${now}: of the keys of that alg with
 * activate_at <= now and retire_at 0 or > now, the newest (latest activate_at, then created_at, then listed);
 * NULL for none. */
const struct kr_key *
keyring_snap_signer(const struct kr_snap *s, const char *alg, int64_t now)
{
	const struct kr_entry *e, *best = NULL;
	size_t i;

	for (i = 0; i < s->nents; i++) {
		e = &s->ents[i];
		if (strcmp(e->key->alg->alg, alg) != 0 || e->activate_at > now ||
		    (e->retire_at != 0 && e->retire_at <= now))
			continue;
		if (best == NULL || e->activate_at > best->activate_at ||
		    (e->activate_at == best->activate_at && e->created_at >= best->created_at))
			best = e;
	}
	return (best != NULL ? best->key : NULL);
}

/** keyring_snap_find(s, kid): the published key named ${kid}, or NULL. */
const struct kr_key *
keyring_snap_find(const struct kr_snap *s, const char *kid)
{
	size_t i;

	for (i = 0; i < s->nents; i++)
		if (strcmp(s->ents[i].key->kid, kid) == 0)
			return (s->ents[i].key);
	return (NULL);
}

/*
 * pub_build(priv, a, kid): the public JWK of the parsed private JWK ${priv}, by allow-list: only the members
 * RFC 7518 §6.2.1 (EC) and §6.3.1 (RSA) name as public are copied, so no private member can ever be published.
 */
static json_t *
pub_build(json_t *priv, const struct keys_alg *a, const char *kid)
{
	static const char *const rsa_pub[] = { "n", "e", NULL };
	static const char *const ec_pub[] = { "crv", "x", "y", NULL };
	const char *const *m;
	json_t *pub = NULL, *v;

	if ((pub = json_object()) == NULL)
		goto fail;
	if (json_object_set_new(pub, "kty", json_string(a->kty_name)) == -1 ||
	    json_object_set_new(pub, "kid", json_string(kid)) == -1 ||
	    json_object_set_new(pub, "use", json_string("sig")) == -1 ||
	    json_object_set_new(pub, "alg", json_string(a->alg)) == -1)
		goto fail;
	for (m = a->kty == CJOSE_JWK_KTY_RSA ? rsa_pub : ec_pub; *m != NULL; m++) {
		if (!json_is_string(v = json_object_get(priv, *m)) ||
		    json_object_set_new(pub, *m, json_string(json_string_value(v))) == -1)
			goto fail;
	}
	return (pub);
fail:
	json_decref(pub);
	return (NULL);
}

/** keys_json_scrub(o): zero the string values of ${o}'s members before it is freed (private key members). */
void
keys_json_scrub(json_t *o)
{
	void *it;
	json_t *v;

	for (it = json_object_iter(o); it != NULL; it = json_object_iter_next(o, it)) {
		if (json_is_string(v = json_object_iter_value(it)))
			explicit_bzero((char *)json_string_value(v), json_string_length(v));
	}
}

/*
 * kr_key_import(sk): import the stored row ${sk} once: its alg must be ours, its JWK a private key of the
 * matching type (RSA >= 2048 bits with CRT members, EC P-256).  NULL (logged) for a key we cannot use.
 */
static struct kr_key *
kr_key_import(const struct stored_key *sk)
{
	static const char *const rsa_priv[] = { "d", "p", "q", "dp", "dq", "qi", NULL };
	static const char *const ec_priv[] = { "d", NULL };
	const char *const *m;
	const struct keys_alg *a;
	struct kr_key *k = NULL;
	json_t *priv = NULL;
	char *tp = NULL, *pubtext = NULL;
	cjose_err err;
	size_t len;

	if ((a = keys_alg_find(sk->alg)) == NULL) {
		log_warnx("keys: key %s: unsupported alg %s, skipped", sk->kid, sk->alg);
		goto fail;
	}
	if (sk->jwk == NULL || (len = strnlen(sk->jwk, KEYS_MAX_JWK + 1)) > KEYS_MAX_JWK ||
	    (priv = jwt_json_load(sk->jwk, len)) == NULL) {
		log_warnx("keys: key %s: malformed JWK, skipped", sk->kid);
		goto fail;
	}
	if (!json_is_string(json_object_get(priv, "kty")) ||
	    strcmp(json_string_value(json_object_get(priv, "kty")), a->kty_name) != 0) {
		log_warnx("keys: key %s: kty does not match %s, skipped", sk->kid, a->alg);
		goto fail;
	}
	/* Without "d" no signature; without the CRT members OpenSSL 3.0 signs 7x slower (663 vs 4716/s here). */
	for (m = a->kty == CJOSE_JWK_KTY_RSA ? rsa_priv : ec_priv; *m != NULL; m++) {
		if (!json_is_string(json_object_get(priv, *m))) {
			log_warnx("keys: key %s: private member \"%s\" missing, skipped", sk->kid, *m);
			goto fail;
		}
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		log_warn("keys: calloc");
		goto fail;
	}
	atomic_init(&k->refs, 1);
	if ((k->kid = strdup(sk->kid)) == NULL) {
		log_warn("keys: strdup");
		goto fail;
	}
	k->alg = a;
	sha256(sk->jwk, len, k->jwk_sha);
	if ((k->pub = pub_build(priv, a, sk->kid)) == NULL) {
		log_warnx("keys: key %s: public members missing, skipped", sk->kid);
		goto fail;
	}
	if ((k->jwk = cjose_jwk_import(sk->jwk, len, &err)) == NULL) {
		log_warnx("keys: key %s: cjose: %s, skipped", sk->kid, err.message);
		goto fail;
	}
	if (cjose_jwk_get_kty(k->jwk, &err) != a->kty ||
	    (a->kty == CJOSE_JWK_KTY_RSA && cjose_jwk_get_keysize(k->jwk, &err) < KEYS_RSA_MIN_BITS) ||
	    (a->kty == CJOSE_JWK_KTY_EC && cjose_jwk_EC_get_curve(k->jwk, &err) != CJOSE_JWK_EC_P_256)) {
		log_warnx("keys: key %s: not a usable %s key, skipped", sk->kid, a->alg);
		goto fail;
	}
	/* The kid names the key in every token: a mismatch means the row was edited by hand. */
	if ((pubtext = json_dumps(k->pub, JSON_COMPACT)) == NULL || (tp = jwk_thumbprint(pubtext)) == NULL ||
	    strcmp(tp, sk->kid) != 0)
		log_warnx("keys: key %s: kid is not its RFC 7638 thumbprint", sk->kid);
	free(pubtext);
	free(tp);
	keys_json_scrub(priv);
	json_decref(priv);
	return (k);
fail:
	keys_json_scrub(priv);
	json_decref(priv);
	kr_key_put(k);
	return (NULL);
}

/* row_fingerprint(rows, n, out): SHA-256 over what a snapshot depends on, to tell "nothing changed" cheaply. */
static int
row_fingerprint(struct stored_key **rows, size_t n, unsigned char out[32])
{
	unsigned char h[32];
	struct buf b;
	size_t i;
	int ret = -1;

	buf_init(&b);
	for (i = 0; i < n; i++) {
		sha256(rows[i]->jwk != NULL ? rows[i]->jwk : "", rows[i]->jwk != NULL ? strlen(rows[i]->jwk) : 0, h);
		buf_printf(&b, "%s|%s|%lld|%lld|%lld|%lld|", rows[i]->kid != NULL ? rows[i]->kid : "",
		    rows[i]->alg != NULL ? rows[i]->alg : "", (long long)rows[i]->created_at,
		    (long long)rows[i]->activate_at, (long long)rows[i]->retire_at, (long long)rows[i]->expire_at);
		buf_append(&b, h, sizeof(h));
	}
	if (b.err) {
		log_warnx("keys: fingerprint: out of memory");
		goto out;
	}
	sha256(b.data != NULL ? b.data : "", b.len, out);
	ret = 0;
out:
	buf_release(&b);
	return (ret);
}

/*
 * snap_build(old, rows, n, fp): a snapshot of ${rows}, sharing the imported key of ${old} (may be NULL) for
 * every row whose kid, alg and JWK text are unchanged.  NULL on memory failure; unusable rows are skipped.
 */
static struct kr_snap *
snap_build(const struct kr_snap *old, struct stored_key **rows, size_t n, const unsigned char fp[32])
{
	struct kr_snap *s = NULL;
	struct kr_key *k;
	json_t *jwks = NULL, *arr = NULL;
	unsigned char sha[32];
	size_t i, j;

	if ((s = calloc(1, sizeof(*s))) == NULL || (n > 0 && (s->ents = calloc(n, sizeof(*s->ents))) == NULL)) {
		log_warn("keys: calloc");
		goto fail;
	}
	atomic_init(&s->refs, 1);
	memcpy(s->fingerprint, fp, sizeof(s->fingerprint));
	if ((jwks = json_object()) == NULL || json_object_set_new(jwks, "keys", arr = json_array()) == -1)
		goto nomem;
	for (i = 0; i < n; i++) {
		if (rows[i]->kid == NULL || rows[i]->alg == NULL || rows[i]->jwk == NULL)
			continue;
		k = NULL;
		sha256(rows[i]->jwk, strlen(rows[i]->jwk), sha);
		for (j = 0; old != NULL && j < old->nents; j++) {
			if (strcmp(old->ents[j].key->kid, rows[i]->kid) == 0 &&
			    strcmp(old->ents[j].key->alg->alg, rows[i]->alg) == 0 &&
			    memcmp(old->ents[j].key->jwk_sha, sha, sizeof(sha)) == 0) {
				k = old->ents[j].key;
				atomic_fetch_add_explicit(&k->refs, 1, memory_order_relaxed);
				break;
			}
		}
		if (k == NULL && (k = kr_key_import(rows[i])) == NULL)
			continue;
		s->ents[s->nents].key = k;
		s->ents[s->nents].created_at = rows[i]->created_at;
		s->ents[s->nents].activate_at = rows[i]->activate_at;
		s->ents[s->nents].retire_at = rows[i]->retire_at;
		s->ents[s->nents].expire_at = rows[i]->expire_at;
		s->nents++;
		if (json_array_append(arr, k->pub) == -1)
			goto nomem;
	}
	if ((s->jwks = json_dumps(jwks, JSON_COMPACT)) == NULL)
		goto nomem;
	json_decref(jwks);
	return (s);
nomem:
	log_warnx("keys: building the key set: out of memory");
fail:
	json_decref(jwks);
	snap_free(s);
	return (NULL);
}

/*
 * key_generate(a, rsa_bits, now, activate_at): a fresh key for ${a} as a store row, kid = RFC 7638 thumbprint.
 * The caller frees it with key_row_free, which zeroes the private JWK text first.
 */
static struct stored_key *
key_generate(const struct keys_alg *a, int rsa_bits, int64_t now, int64_t activate_at)
{
	static const uint8_t e65537[] = { 0x01, 0x00, 0x01 };
	struct stored_key *k = NULL;
	cjose_jwk_t *jwk = NULL;
	char *pub = NULL, *priv = NULL;
	cjose_err err;

	if (a->kty == CJOSE_JWK_KTY_RSA) {
		if (rsa_bits < KEYS_RSA_MIN_BITS || rsa_bits > KEYS_RSA_MAX_BITS) {
			log_warnx("keys: rsa_bits %d outside %d..%d", rsa_bits, KEYS_RSA_MIN_BITS, KEYS_RSA_MAX_BITS);
			goto fail;
		}
		jwk = cjose_jwk_create_RSA_random((size_t)rsa_bits, e65537, sizeof(e65537), &err);
	} else
		jwk = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
	if (jwk == NULL) {
		log_warnx("keys: generating a %s key: %s", a->alg, err.message);
		goto fail;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL || (k->alg = strdup(a->alg)) == NULL) {
		log_warn("keys: calloc");
		goto fail;
	}
	if ((pub = cjose_jwk_to_json(jwk, false, &err)) == NULL || (k->kid = jwk_thumbprint(pub)) == NULL ||
	    !cjose_jwk_set_kid(jwk, k->kid, strlen(k->kid), &err) ||
	    (priv = cjose_jwk_to_json(jwk, true, &err)) == NULL || (k->jwk = strdup(priv)) == NULL) {
		log_warnx("keys: exporting the new %s key failed", a->alg);
		goto fail;
	}
	k->created_at = now;
	k->activate_at = activate_at;
	goto out;
fail:
	if (k != NULL && k->jwk != NULL)
		explicit_bzero(k->jwk, strlen(k->jwk));
	stored_key_free(k);
	k = NULL;
out:
	if (priv != NULL) {
		explicit_bzero(priv, strlen(priv));
		cjose_get_dealloc()(priv);
	}
	if (pub != NULL)
		cjose_get_dealloc()(pub);
	cjose_jwk_release(jwk);
	return (k);
}

/* key_row_free(k): zero the private JWK text, then free the row. */
static void
key_row_free(struct stored_key *k)
{
	if (k != NULL && k->jwk != NULL)
		explicit_bzero(k->jwk, strlen(k->jwk));
	stored_key_free(k);
}

/* rows_free(rows, n): zero every private JWK text, then free the list. */
static void
rows_free(struct stored_key **rows, size_t n)
{
	size_t i;

	for (i = 0; rows != NULL && i < n; i++)
		if (rows[i] != NULL && rows[i]->jwk != NULL)
			explicit_bzero(rows[i]->jwk, strlen(rows[i]->jwk));
	stored_keys_free(rows, n);
}

/* keys_list(st, now, rows, n): store_keys_list that logs. */
static int
keys_list(struct store *st, int64_t now, struct stored_key ***rows, size_t *n)
{
	*rows = NULL;
	*n = 0;
	if (store_keys_list(st, now, rows, n) != STORE_OK) {
		log_warnx("keys: cannot list the signing keys");
		return (-1);
	}
	return (0);
}

/** keyring_open(st, conf): load the keys from ${st}; on first start generate one RS256 (conf->rsa_bits) and
 * one ES256 key, active at once, and store them.  NULL on failure (logged). */
struct keyring *
keyring_open(struct store *st, const struct conf *conf)
{
	struct keyring *kr = NULL, *ret = NULL;
	struct stored_key **rows = NULL, *k = NULL;
	struct kr_snap *s;
	unsigned char fp[32];
	size_t n = 0, i;
	bool added = false;
	int64_t now = time_now();

	if (st == NULL || conf == NULL)
		return (NULL);
	if ((kr = calloc(1, sizeof(*kr))) == NULL) {
		log_warn("keys: calloc");
		return (NULL);
	}
	kr->st = st;
	pthread_mutex_init(&kr->swap_mu, NULL);
	pthread_mutex_init(&kr->refresh_mu, NULL);
	if (keys_list(st, now, &rows, &n) == -1 || row_fingerprint(rows, n, fp) == -1 ||
	    (kr->cur = snap_build(NULL, rows, n, fp)) == NULL)
		goto out;
	/*
	 * First start, or no usable key of an alg (a new alg, rows that failed to import): one new key per such
	 * alg, signing at once.  Existing keys are left as they are.
	 */
	for (i = 0; i < KEYS_NALGS; i++) {
		if (keyring_snap_signer(kr->cur, keys_algs[i].alg, now) != NULL)
			continue;
		if ((k = key_generate(&keys_algs[i], conf->rsa_bits, now, now)) == NULL)
			goto out;
		if (store_key_add(st, k, 0, 0) != STORE_OK) {
			log_warnx("keys: cannot store the new %s key", keys_algs[i].alg);
			goto out;
		}
		log_info("keys: generated %s key %s", k->alg, k->kid);
		key_row_free(k);
		k = NULL;
		added = true;
	}
	if (added) {
		rows_free(rows, n);
		rows = NULL;
		n = 0;
		if (keys_list(st, now, &rows, &n) == -1 || row_fingerprint(rows, n, fp) == -1 ||
		    (s = snap_build(kr->cur, rows, n, fp)) == NULL)
			goto out;
		keyring_snap_put(kr->cur);
		kr->cur = s;
	}
	ret = kr;
	kr = NULL;
out:
	key_row_free(k);
	rows_free(rows, n);
	keyring_free(kr);
	return (ret);
}

/** keyring_refresh(kr): reload from the store if anything changed (new key, activation or expiry time
 * reached); cheap when nothing did.  Called periodically by the server. */
int
keyring_refresh(struct keyring *kr)
{
	struct stored_key **rows = NULL;
	struct kr_snap *cur = NULL, *s = NULL, *old;
	unsigned char fp[32];
	size_t n = 0;
	int ret = -1;

	if (kr == NULL)
		return (-1);
	pthread_mutex_lock(&kr->refresh_mu);
	/*
	 * The store lists only published keys, so an expiry changes the list; activation and retirement are
	 * decided from the entries' times at each signature.  The list's fingerprint is thus the whole check:
	 * one small SELECT and a hash when nothing changed, no key is parsed again.
	 */
	if (keys_list(kr->st, time_now(), &rows, &n) == -1 || row_fingerprint(rows, n, fp) == -1)
		goto out;
	cur = keyring_snap_get(kr);
	if (memcmp(fp, cur->fingerprint, sizeof(fp)) == 0) {
		ret = 0;
		goto out;
	}
	if ((s = snap_build(cur, rows, n, fp)) == NULL)
		goto out;
	pthread_mutex_lock(&kr->swap_mu);
	old = kr->cur;
	kr->cur = s;
	pthread_mutex_unlock(&kr->swap_mu);
	keyring_snap_put(old);
	log_info("keys: key set reloaded, %zu published", s->nents);
	ret = 0;
out:
	keyring_snap_put(cur);
	rows_free(rows, n);
	pthread_mutex_unlock(&kr->refresh_mu);
	return (ret);
}

/** keyring_free(kr): free ${kr} and its snapshot (once no reader holds it); NULL is a no-op. */
void
keyring_free(struct keyring *kr)
{
	if (kr == NULL)
		return;
	keyring_snap_put(kr->cur);
	pthread_mutex_destroy(&kr->swap_mu);
	pthread_mutex_destroy(&kr->refresh_mu);
	free(kr);
}

/** keyring_jwks(kr): the public JWK Set as a JSON string (every published key, each with kid, alg, use=sig);
 * the caller frees it. */
char *
keyring_jwks(struct keyring *kr)
{
	struct kr_snap *s;
	char *ret;

	if (kr == NULL)
		return (NULL);
	s = keyring_snap_get(kr);
	if ((ret = strdup(s->jwks)) == NULL)
		log_warn("keys: strdup");
	keyring_snap_put(s);
	return (ret);
}

/** keyring_has_alg(kr, alg): true when a key can sign with ${alg} now. */
bool
keyring_has_alg(struct keyring *kr, const char *alg)
{
	struct kr_snap *s;
	bool ret;

	if (kr == NULL || alg == NULL)
		return (false);
	s = keyring_snap_get(kr);
	ret = keyring_snap_signer(s, alg, time_now()) != NULL;
	keyring_snap_put(s);
	return (ret);
}

/* time_text(t, out, outlen): ${t} as "YYYY-MM-DD HH:MM:SS UTC". */
static const char *
time_text(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, outlen, "%lld", (long long)t);
	return (out);
}

/** keys_rotate(st, conf, now, out, outlen): CLI "keys rotate": add a new key for each alg, activating at
 * now + conf->key_activation_delay; the old keys retire at that moment and expire after the longest token
 * lifetime.  Writes a human summary to ${out}.  -1 on failure. */
int
keys_rotate(struct store *st, const struct conf *conf, int64_t now, char *out, size_t outlen)
{
	struct stored_key *k = NULL;
	int64_t activate_at, expire_at, ttl;
	char t1[40], t2[40];
	struct buf b;
	size_t i;
	int ret = -1;

	buf_init(&b);
	if (out != NULL && outlen > 0)
		out[0] = '\0';
	if (st == NULL || conf == NULL || conf->key_activation_delay < 0) {
		log_warnx("keys_rotate: bad arguments");
		goto out;
	}
	/* SECURITY.md 13: published before use, kept until the last token it signed has expired. */
	activate_at = now + conf->key_activation_delay;
	ttl = conf->id_token_ttl > conf->access_token_ttl ? conf->id_token_ttl : conf->access_token_ttl;
	expire_at = activate_at + ttl + KEYS_EXPIRE_SLACK;
	for (i = 0; i < KEYS_NALGS; i++) {
		if ((k = key_generate(&keys_algs[i], conf->rsa_bits, now, activate_at)) == NULL)
			goto out;
		if (store_key_add(st, k, activate_at, expire_at) != STORE_OK) {
			log_warnx("keys_rotate: cannot store the new %s key", k->alg);
			goto out;
		}
		log_info("keys: added %s key %s, signing from %lld", k->alg, k->kid, (long long)activate_at);
		buf_printf(&b, "%s: new key %s, published now, signs from %s\n", k->alg, k->kid,
		    time_text(activate_at, t1, sizeof(t1)));
		key_row_free(k);
		k = NULL;
	}
	buf_printf(&b, "previous keys stop signing at %s and are unpublished at %s\n",
	    time_text(activate_at, t1, sizeof(t1)), time_text(expire_at, t2, sizeof(t2)));
	ret = 0;
out:
	if (out != NULL && outlen > 0 && b.data != NULL)
		snprintf(out, outlen, "%s", b.data);
	key_row_free(k);
	buf_release(&b);
	return (ret);
}
