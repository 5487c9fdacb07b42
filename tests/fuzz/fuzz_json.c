/*
 * fuzz_json.c: the JSON request parser (registration bodies) and the metadata validation behind it.
 * Invariants checked: a parse either yields an object or writes a 4xx error; validation either yields metadata
 * whose redirect_uris are all https or loopback http, or names an RFC 7591 error code.
 */
#include <stdlib.h>
#include <string.h>

#include "../../src/oidc/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request req;
	struct response resp;
	char *body, err[160];
	const char *code = NULL;
	json_t *in, *meta, *uris, *u;
	size_t i;

	if ((body = malloc(size + 1)) == NULL)
		return (0);
	memcpy(body, data, size);
	body[size] = '\0';
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	buf_init(&resp.body);
	req.method = "POST";
	req.path = "/register";
	req.body = body;
	req.body_len = size;
	req.content_type = "application/json";
	if ((in = reg_parse_body(&req, &resp)) == NULL) {
		if (resp.status < 400 || resp.status >= 500)
			abort();
	} else {
		if (!json_is_object(in))
			abort();
		meta = client_metadata_validate(in, err, sizeof(err), &code);
		if (meta == NULL) {
			if (code == NULL || (strcmp(code, "invalid_redirect_uri") != 0 &&
			    strcmp(code, "invalid_client_metadata") != 0 && strcmp(code, "server_error") != 0))
				abort();
		} else {
			uris = json_object_get(meta, "redirect_uris");
			if (!json_is_array(uris) || json_array_size(uris) == 0)
				abort();
			json_array_foreach(uris, i, u) {
				const char *s = json_string_value(u);

				if (s == NULL || strchr(s, '#') != NULL || strncasecmp(s, "javascript:", 11) == 0 ||
				    strncasecmp(s, "data:", 5) == 0)
					abort();
			}
			json_decref(meta);
		}
		json_decref(in);
	}
	buf_release(&resp.body);
	for (i = 0; i < resp.n_headers; i++) {
		free(resp.headers[i].name);
		free(resp.headers[i].value);
	}
	free(body);
	return (0);
}
