/*
 * key.c: the agent's key (drafts/agent-provisioning.md §1, §8): `anchorid-agent keygen` writes a private JWK
 * (RFC 7517) readable by its owner only and prints the public half, which the authority's operator registers
 * with `anchorid agent add NAME --issuer URL --jwk FILE`; every other command reads the private JWK back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "agentd_int.h"
#include "keys.h"
#include "util.h"

/* The JWS algorithms of §3 an agent key may use, by the key they need. */
static const struct {
	const char *alg;
	const char *kty;
	const char *crv; /* NULL for RSA */
	bool keygen;     /* offered by keygen */
} key_algs[] = {
	{ "ES256", "EC", "P-256", true },
	{ "ES384", "EC", "P-384", true },
	{ "RS256", "RSA", NULL, true },
	{ "PS256", "RSA", NULL, false },
};

bool
agentd_alg_ok(const char *alg)
{
	for (size_t i = 0; i < sizeof(key_algs) / sizeof(key_algs[0]); i++)
		if (key_algs[i].keygen && strcmp(key_algs[i].alg, alg) == 0)
			return (true);
	return (false);
}

/* write_all(fd, p, n): write ${n} bytes; -1 on error. */
static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += w;
		n -= (size_t)w;
	}
	return (0);
}

/*
 * agentd_keygen(alg, path): generate a private JWK for ${alg}, write it to the new file ${path} with mode 0600
 * (never overwriting) and print the public JWK on stdout; the exit status.
 */
int
agentd_keygen(const char *alg, const char *path)
{
	char *priv = NULL, *pub = NULL, *thumb = NULL;
	int fd = -1, ret = 1;
	bool created = false;

	if (!agentd_alg_ok(alg)) {
		agentd_errx("unsupported algorithm %s (ES256, ES384 or RS256)", alg);
		goto out;
	}
	if ((priv = jwk_generate(alg)) == NULL || (pub = jwk_public_of(priv)) == NULL ||
	    (thumb = jwk_thumbprint(pub)) == NULL) {
		agentd_errx("cannot generate a %s key", alg);
		goto out;
	}
	/* O_EXCL: an existing key (perhaps the one registered at the authority) is never replaced. */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		agentd_errx("%s: %s%s", path, strerror(errno), errno == EEXIST ? " (refusing to overwrite a key)" : "");
		goto out;
	}
	created = true;
	/* The umask may only have removed bits; make the mode exactly owner read/write. */
	if (fchmod(fd, 0600) == -1 || write_all(fd, priv, strlen(priv)) == -1 || write_all(fd, "\n", 1) == -1 ||
	    fsync(fd) == -1) {
		agentd_errx("%s: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		agentd_errx("%s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	printf("%s\n", pub);
	if (fflush(stdout) == EOF) {
		agentd_errx("stdout: %s", strerror(errno));
		goto out;
	}
	fprintf(stderr,
	    "%s: private %s key written to %s (mode 0600), thumbprint %s\n"
	    "%s: register the public key above at the authority: anchorid agent add NAME --issuer URL --jwk FILE\n",
	    AGENTD_PROG, alg, path, thumb, AGENTD_PROG);
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	if (ret != 0 && created)
		unlink(path);
	str_secure_free(priv);
	free(pub);
	free(thumb);
	return (ret);
}

/* alg_of(jwk): the alg of the private JWK object ${jwk}: its "alg" member when it is one of ours and fits the
 * key, else the default for its key type; NULL when the key is no agent key. */
static const char *
alg_of(json_t *jwk)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	const char *alg = json_string_value(json_object_get(jwk, "alg"));
	const char *def = NULL;

	if (kty == NULL)
		return (NULL);
	for (size_t i = 0; i < sizeof(key_algs) / sizeof(key_algs[0]); i++) {
		if (strcmp(key_algs[i].kty, kty) != 0 ||
		    (key_algs[i].crv != NULL && (crv == NULL || strcmp(key_algs[i].crv, crv) != 0)))
			continue;
		if (alg != NULL && strcmp(alg, key_algs[i].alg) == 0)
			return (key_algs[i].alg);
		if (def == NULL)
			def = key_algs[i].alg;
	}
	return (alg == NULL ? def : NULL);
}

/*
 * agentd_key_load(path, key, alg): the private JWK in ${path} and its alg; -1 after a message.
 */
int
agentd_key_load(const char *path, char **key, const char **alg)
{
	struct buf b;
	struct stat sb;
	json_t *jwk = NULL;
	json_error_t jerr;
	char chunk[4096];
	ssize_t n;
	int fd = -1, ret = -1;

	*key = NULL;
	*alg = NULL;
	buf_init(&b);
	b.max = AGENTD_MAX_KEY_FILE;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 || fstat(fd, &sb) == -1) {
		agentd_errx("key %s: %s", path, strerror(errno));
		goto out;
	}
	if ((sb.st_mode & 077) != 0)
		agentd_errx("warning: key %s is readable by others (mode %03o); chmod 600 it", path,
		    (unsigned)(sb.st_mode & 0777));
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			agentd_errx("key %s: %s", path, strerror(errno));
			goto out;
		}
		if (buf_append(&b, chunk, (size_t)n) == -1) {
			agentd_errx("key %s: longer than %d bytes", path, AGENTD_MAX_KEY_FILE);
			goto out;
		}
	}
	if (b.len == 0 || !json_depth_ok(b.data, b.len, AGENTD_MAX_JSON_DEPTH) ||
	    (jwk = json_loadb(b.data, b.len, 0, &jerr)) == NULL || !json_is_object(jwk)) {
		agentd_errx("key %s: not a JWK (JSON object)", path);
		goto out;
	}
	if (json_object_get(jwk, "d") == NULL) {
		agentd_errx("key %s: a public key; the agent needs its private key (anchorid-agent keygen)", path);
		goto out;
	}
	if ((*alg = alg_of(jwk)) == NULL) {
		agentd_errx("key %s: not an EC P-256/P-384 or RSA key with a usable alg", path);
		goto out;
	}
	if ((*key = xstrndup(b.data, b.len)) == NULL) {
		agentd_errx("out of memory");
		goto out;
	}
	ret = 0;
out:
	if (ret == -1)
		*alg = NULL;
	if (fd != -1)
		close(fd);
	json_decref(jwk);
	explicit_bzero(chunk, sizeof(chunk));
	buf_release(&b);
	return (ret);
}
