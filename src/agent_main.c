/*
 * agent_main.c: anchorid-agent, the reference identity agent (drafts/agent-provisioning.md §8).  Placeholder
 * until the provisioning client lands.
 */
#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "anchorid-agent: not built yet\n");
	return (1);
}
