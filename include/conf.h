/*
 * conf.h: the configuration, its embedded defaults and the config file parser.
 *
 * File syntax (see anchorid.conf.example): one "key = value" per line, '#' starts a comment, blank lines
 * ignored, values may be double-quoted (then \" and \\ escapes).  Unknown keys, bad values and duplicate keys
 * are errors reported as "file:line: message".
 */
#ifndef ANCHORID_CONF_H
#define ANCHORID_CONF_H

#include <stdbool.h>
#include <stdint.h>

#define CONF_MAX_LINE 4096 /* longer lines are an error: no legitimate value needs more */
#define CONF_MAX_PROXIES 16

struct conf {
	/* [server] */
	char *issuer;   /* "https://localhost:8443": no trailing slash, https unless loopback http */
	char *listen;   /* address to bind: "127.0.0.1", "::1", "0.0.0.0", "::" */
	int port;       /* 8443 */
	bool tls;       /* true: serve HTTPS with tls_cert/tls_key */
	char *tls_cert; /* "certs/server.pem" (PEM chain) */
	char *tls_key;  /* "certs/server.key" */
	char *trusted_proxies[CONF_MAX_PROXIES]; /* addresses whose X-Forwarded-For/-Proto we believe */
	int n_trusted_proxies;
	int threads;           /* worker threads; 0 = number of CPUs */
	int max_connections;   /* 1024 */
	int conn_timeout;      /* seconds idle before a connection is closed: 30 */
	char *www_dir;         /* "www": templates and static assets, read once at start */
	char *database;        /* "var/anchorid.db" */
	char *database_sync;   /* "full": fsync every commit; "normal": survive process crashes only */
	char *access_log;      /* "-" = stderr */
	char *log_level;       /* "info" */
	bool registration_200; /* quirk: answer registration with 200 instead of 201 */

	/* [lifetimes] seconds */
	int64_t code_ttl;             /* 60 */
	int64_t id_token_ttl;         /* 900 */
	int64_t access_token_ttl;     /* 600 */
	int64_t refresh_token_ttl;    /* 2592000 (30 days) */
	int64_t session_ttl;          /* 28800 (8 h) */
	int64_t setup_ttl;            /* 86400: password-setup URL */
	int64_t client_idle_ttl;      /* 7776000 (90 days): unused dynamically registered clients expire */
	int64_t key_activation_delay; /* 3600: a rotated-in key is published this long before it signs */
	int64_t auth_request_ttl;     /* 900: a pending login form stays valid this long */

	/* [crypto] */
	char *access_token_alg; /* "ES256" (or "RS256") */
	int rsa_bits;           /* 2048 */

	/* [passwords] argon2id */
	int argon2_t_cost;         /* 3 iterations */
	int argon2_m_cost;         /* 65536 KiB */
	int argon2_parallelism;    /* 1 lane */
	int argon2_max_concurrent; /* 4 hashes at once; more wait up to 2 s, then 503 */
	int password_min_length;   /* 10 */

	/* [limits] abuse controls */
	int login_max_failures;     /* 5: failures per identity+source before delays start */
	int64_t login_max_delay;    /* 900 s: cap of the progressive delay */
	int registration_per_hour;  /* 20 registrations per source address per hour */
	int max_clients_per_source; /* 200 live clients per source address */

	/* [dns] ID4me discovery (drafts/dns-discovery.md) */
	char *dns_upstreams;    /* "": the system's (/etc/resolv.conf); else "ADDR[@PORT] ..." */
	char *dns_trust_anchor; /* "/usr/share/dns/root.key": DNSSEC trust anchors (DNSKEY or DS lines) */
	int dns_timeout_ms;     /* 2000: per lookup, validation chain included */
	bool dns_tcp_fallback;  /* yes: retry over TCP (truncated answers) */
	int dns_cache_entries;  /* 10000 cached answers; 0 = no cache */
	int dns_cache_max_ttl;  /* 3600 s: cap of any cached answer's lifetime */
	char *dnssec;           /* "require" (default) or "allow-insecure"; bogus always fails */
	char *login_dns_check;  /* "auto" (on unless the issuer is loopback), "on" or "off" */

	/* [agents] drafts/agent-provisioning.md */
	int64_t agent_authz_ttl;  /* 3600 s: an authorization's (dns-01 challenge's) lifetime */
	int agent_authz_per_hour; /* 600 authorizations per agent per hour */

	/* [outbound] HTTPS fetches of agents' configurations (SECURITY.md 12) */
	char *outbound_ca_file;      /* "": the system's trust store; else a PEM bundle */
	bool outbound_allow_private; /* no: loopback and private addresses refused (yes for tests and make demo) */
	int outbound_timeout_ms;     /* 10000 */
};

/** conf_init(c): fill ${c} with the embedded defaults; -1 on memory failure.  Release with conf_release. */
int conf_init(struct conf *c);
/** conf_release(c): free every string ${c} owns. */
void conf_release(struct conf *c);
/** conf_load(c, path, err, errlen): apply the file at ${path} over the values already in ${c}, then check the
 * result as a whole (conf_check).  On error writes "path:line: message" into ${err} and returns -1. */
int conf_load(struct conf *c, const char *path, char *err, size_t errlen);
/** conf_check(c, err, errlen): cross-field checks (issuer form, TLS files named when tls is on, plain HTTP only
 * on loopback or with a trusted proxy, ttl ranges); -1 with a message on error. */
int conf_check(const struct conf *c, char *err, size_t errlen);
/** conf_is_loopback(addr): true for 127.0.0.0/8, ::1 and "localhost". */
bool conf_is_loopback(const char *addr);

#endif
