/*
 * hook.c: the DNS hook of drafts/agent-provisioning.md §8, called as ACME clients call theirs:
 *
 *     CMD add NAME TYPE VALUE      CMD del NAME TYPE [VALUE]
 *
 * CMD is a shell command (it may carry its own arguments), run as sh -c 'CMD "$@"' so that NAME, TYPE and VALUE
 * reach it as separate arguments and never pass through the shell's parser.  The hook runs in a process group
 * of its own: a Ctrl-C at the terminal stops our finalize wait but not an update already under way, so the
 * cleanup that follows sees a consistent zone.  A second interrupt, or AGENTD_HOOK_TIMEOUT_SEC, ends it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agentd_int.h"
#include "util.h"

#define HOOK_POLL_MS 20    /* how often the wait for the hook looks at its state */
#define HOOK_GRACE_MS 2000 /* after SIGTERM, before SIGKILL */

/* wait_for(pid, deadline_ms, status): wait until ${pid} exits or the monotonic ${deadline_ms} passes (or a second
 * interrupt arrives); 0 and its *${status} when it exited, -1 otherwise. */
static int
wait_for(pid_t pid, uint64_t deadline_ms, int *status)
{
	struct timespec ts = { 0, HOOK_POLL_MS * 1000000L };
	pid_t w;

	for (;;) {
		if ((w = waitpid(pid, status, WNOHANG)) == pid)
			return (0);
		if (w == -1 && errno != EINTR)
			return (-1);
		if (time_mono_ms() >= deadline_ms || agentd_interrupted > 1)
			return (-1);
		nanosleep(&ts, NULL);
	}
}

int
agentd_hook(const char *cmd, const char *op, const char *name, const char *type, const char *value)
{
	struct buf b;
	char *script = NULL;
	pid_t pid;
	int status = 0, fd, ret = -1;

	buf_init(&b);
	if (buf_printf(&b, "%s \"$@\"", cmd) == -1 || (script = buf_steal(&b)) == NULL) {
		agentd_errx("out of memory");
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		agentd_errx("hook: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* The child: stdout joins stderr (our stdout carries the results), stdin is empty. */
		setpgid(0, 0);
		if ((fd = open("/dev/null", O_RDONLY)) != -1) {
			dup2(fd, STDIN_FILENO);
			if (fd != STDIN_FILENO)
				close(fd);
		}
		dup2(STDERR_FILENO, STDOUT_FILENO);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", script, "anchorid-agent-hook", op, name, type, value, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid); /* also here: whichever runs first */
	if (wait_for(pid, time_mono_ms() + AGENTD_HOOK_TIMEOUT_SEC * 1000ULL, &status) == -1) {
		kill(-pid, SIGTERM);
		if (wait_for(pid, time_mono_ms() + HOOK_GRACE_MS, &status) == -1) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
				;
		}
		agentd_errx(
		    "hook %s %s %s: %s", op, name, type, agentd_interrupted > 1 ? "interrupted" : "timed out, killed");
		goto out;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		ret = 0;
	else if (WIFEXITED(status))
		agentd_errx("hook %s %s %s failed (exit status %d)", op, name, type, WEXITSTATUS(status));
	else
		agentd_errx(
		    "hook %s %s %s failed (signal %d)", op, name, type, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
out:
	free(script);
	buf_release(&b);
	return (ret);
}
