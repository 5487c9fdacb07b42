/*
 * routes.c: the route table: every endpoint of the authority and the methods it accepts.
 */
#include "internal.h"

static const struct http_route routes[] = {
	{ OIDC_PATH_DISCOVERY, HTTP_GET, h_discovery, 0 },
	{ OIDC_PATH_JWKS, HTTP_GET, h_jwks, 0 },
	{ OIDC_PATH_REGISTER, HTTP_POST, h_register, 0 },
	{ OIDC_PATH_REGISTER "/", HTTP_GET | HTTP_PUT | HTTP_DELETE, h_register_manage, 0 },
	{ OIDC_PATH_AUTHORIZE, HTTP_GET | HTTP_POST, h_authorize, 0 },
	{ OIDC_PATH_LOGIN, HTTP_POST, h_login, HTTP_SLOW },
	{ OIDC_PATH_CONSENT, HTTP_POST, h_consent, 0 },
	{ OIDC_PATH_TOKEN, HTTP_POST, h_token, 0 },
	{ OIDC_PATH_USERINFO, HTTP_GET | HTTP_POST, h_userinfo, 0 },
	{ OIDC_PATH_REVOKE, HTTP_POST, h_revoke, 0 },
	{ OIDC_PATH_LOGOUT, HTTP_GET | HTTP_POST, h_logout, 0 },
	{ OIDC_PATH_SETUP, HTTP_GET | HTTP_POST, h_setup, HTTP_SLOW },
	{ OIDC_PATH_DELETE, HTTP_GET | HTTP_POST, h_delete, HTTP_SLOW },
	{ OIDC_PATH_ACCOUNT, HTTP_GET | HTTP_POST, h_account, 0 },
	{ OIDC_PATH_STATIC, HTTP_GET, h_static, 0 },
};

/** oidc_routes(n): the route table (static storage). */
const struct http_route *
oidc_routes(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return (routes);
}
