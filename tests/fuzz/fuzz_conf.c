/*
 * fuzz_conf.c: libFuzzer harness for the configuration parser (conf_load, conf_check).  conf_load reads a
 * file, so each input is written to one temporary file whose path is made once per process.
 *
 *	make build/fuzz/fuzz_conf && build/fuzz/fuzz_conf tests/fuzz/corpus/fuzz_conf
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[] = "/tmp/anchorid-fuzz-conf.XXXXXX";
static int fuzz_fd = -1;

static void
fuzz_cleanup(void)
{
	unlink(fuzz_path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct conf c;
	size_t off = 0;
	ssize_t w;

	if (fuzz_fd == -1) {
		if ((fuzz_fd = mkstemp(fuzz_path)) == -1) {
			perror("mkstemp");
			abort();
		}
		atexit(fuzz_cleanup);
	}
	if (ftruncate(fuzz_fd, 0) == -1 || lseek(fuzz_fd, 0, SEEK_SET) == -1)
		abort();
	while (off < size) {
		if ((w = write(fuzz_fd, data + off, size - off)) <= 0)
			abort();
		off += (size_t)w;
	}
	if (conf_init(&c) == -1)
		return (0);
	err[0] = '\0';
	if (conf_load(&c, fuzz_path, err, sizeof(err)) == -1) {
		/* Every error names the file. */
		if (strncmp(err, fuzz_path, strlen(fuzz_path)) != 0)
			abort();
	} else if (conf_check(&c, err, sizeof(err)) == -1)
		abort();	/* conf_load promised a checked configuration */
	conf_release(&c);
	return (0);
}
