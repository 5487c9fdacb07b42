/*
 * fresh.c: TEMPORARY stand-ins for dns_lookup_txt_fresh / dns_discover_fresh (they still use the cache); the
 * real ones move into resolver.c.
 */
#include "dns.h"

int
dns_lookup_txt_fresh(struct dns_resolver *r, const char *name, struct dns_answer **out)
{
	return (dns_lookup_txt(r, name, out));
}

int
dns_discover_fresh(struct dns_resolver *r, const char *identifier, struct dns_discovery **out)
{
	return (dns_discover(r, identifier, out));
}
