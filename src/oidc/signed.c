/*
 * signed.c: tamper-proof, expiring blobs carried through the browser.  The pending authorization request
 * travels in the login and consent forms this way, so a login needs no server-side state before the password
 * is checked (a flood of authorization requests writes nothing).
 */
#include <string.h>

#include "internal.h"

#define SIGNED_MAX_BLOB 16384 /* a pending authorization request is far smaller */

static char *
mac_of(struct app *app, const char *purpose, const char *payload, size_t len)
{
	unsigned char mac[UTIL_SHA256_LEN];
	struct buf b;
	char *out;

	buf_init(&b);
	buf_puts(&b, purpose);
	buf_puts(&b, "|");
	buf_append(&b, payload, len);
	hmac_sha256(app->secret, sizeof(app->secret), b.data, b.len, mac);
	buf_release(&b);
	out = b64url_encode(mac, sizeof(mac));
	explicit_bzero(mac, sizeof(mac));
	return (out);
}

/** signed_pack(app, purpose, obj, ttl): sign ${obj} (borrowed; "exp" is added) for ${ttl} seconds. */
char *
signed_pack(struct app *app, const char *purpose, json_t *obj, int64_t ttl)
{
	char *json = NULL, *payload = NULL, *mac = NULL, *out = NULL;
	struct buf b;

	json_object_set_new(obj, "exp", json_integer(time_now() + ttl));
	if ((json = json_dumps(obj, JSON_COMPACT)) == NULL || (payload = b64url_encode(json, strlen(json))) == NULL ||
	    (mac = mac_of(app, purpose, payload, strlen(payload))) == NULL)
		goto out;
	buf_init(&b);
	buf_printf(&b, "%s.%s", payload, mac);
	out = b.err ? NULL : buf_steal(&b);
	buf_release(&b);
out:
	free(json);
	free(payload);
	free(mac);
	return (out);
}

/** signed_unpack(app, purpose, blob, now): the object when the MAC matches and it has not expired. */
json_t *
signed_unpack(struct app *app, const char *purpose, const char *blob, int64_t now)
{
	const char *dot;
	unsigned char *json = NULL;
	size_t len;
	char *mac = NULL;
	json_t *obj = NULL;
	json_int_t exp;

	if (blob == NULL || strlen(blob) > SIGNED_MAX_BLOB || (dot = strchr(blob, '.')) == NULL)
		return (NULL);
	if ((mac = mac_of(app, purpose, blob, (size_t)(dot - blob))) == NULL || !ct_streq(mac, dot + 1))
		goto out;
	if (b64url_decode(blob, (size_t)(dot - blob), &json, &len) == -1)
		goto out;
	if ((obj = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, NULL)) == NULL || !json_is_object(obj))
		goto fail;
	exp = json_integer_value(json_object_get(obj, "exp"));
	if (exp <= now)
		goto fail;
	goto out;
fail:
	json_decref(obj);
	obj = NULL;
out:
	free(mac);
	free(json);
	return (obj);
}
