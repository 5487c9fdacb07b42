# anchorid: an ID4me identity authority.  `make run` and `make test` are all a new machine needs.

BUILD    ?= build
CC       ?= cc
PKGS      = libmicrohttpd cjose jansson libargon2 sqlite3 libssl libcrypto getdns
WARN      = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
ifeq ($(FUZZ),1)
CFLAGS   += -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
LDFLAGS  += -fsanitize=address,undefined
endif
ifeq ($(SAN),1)
CFLAGS   += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

LIB_SRC   = $(sort $(wildcard src/*/*.c))
LIB_OBJ   = $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC  = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN  = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC  = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN  = $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/bin/%)

# Debian packages: what running needs, and what testing adds.
DEPS_RUN  = gcc make pkg-config openssl libmicrohttpd-dev libcjose-dev libjansson-dev libargon2-dev \
            libsqlite3-dev libssl-dev libgetdns-dev dns-root-data
DEPS_TEST = $(DEPS_RUN) clang libclang-rt-14-dev curl apache2 libapache2-mod-auth-openidc chromium \
            valgrind wrk cppcheck clang-format clang-tidy sqlite3 knot knot-dnsutils ldnsutils getdns-utils

.PHONY: all deps deps-test run test unit e2e check valgrind lint fuzz fuzz-bins fuzz-replay bench clean certs demo

all: $(BUILD)/anchorid $(BUILD)/anchorid-agent

$(BUILD)/%.o: %.c $(wildcard include/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libanchorid.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/anchorid: $(BUILD)/main.o $(BUILD)/libanchorid.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/main.o: src/main.c $(wildcard include/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The reference identity agent (drafts/agent-provisioning.md §8): same library, its own main.
$(BUILD)/anchorid-agent: $(BUILD)/agent_main.o $(BUILD)/libanchorid.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/agent_main.o: src/agent_main.c $(wildcard include/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c tests/unit/test.h $(BUILD)/libanchorid.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libanchorid.a $(LDLIBS)

# deps: install the missing Debian packages (as root), or print the command that would.
define install_missing
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${db:Status-Abbrev}' $$p 2>/dev/null | grep -q '^ii' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "missing Debian packages; run: sudo apt-get install -y$$missing"; exit 1; \
		fi; \
	fi
endef

deps:
	$(call install_missing,$(DEPS_RUN))

# Node.js may come from Debian or from elsewhere (nodesource bundles npm, and then Debian's npm conflicts):
# install Debian's only when no node/npm is on the PATH.
deps-test:
	$(call install_missing,$(DEPS_TEST))
	@command -v node >/dev/null && command -v npm >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then echo "installing: nodejs npm"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
		else echo "missing node/npm; run: sudo apt-get install -y nodejs npm"; exit 1; fi; }

certs: certs/server.pem

certs/server.pem:
	certs/mkdev.sh

run: deps all certs
	@mkdir -p var
	$(BUILD)/anchorid $(if $(CONF),-c $(CONF))

# demo: the whole federation on loopback (DNSSEC test bed, authority, agent, a demo relying party) with a
# provisioned identifier; prints the URL, identifier and password, runs until Ctrl-C (tests/demo/run.sh).
demo: deps-test all
	ANCHORID=$(BUILD)/anchorid ANCHORID_AGENT=$(BUILD)/anchorid-agent tests/demo/run.sh

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# Threads sharing one resolver (tests/dns/resolver_stress.c), run by tests/e2e/dnsbed.test.mjs.
$(BUILD)/resolver_stress: tests/dns/resolver_stress.c $(BUILD)/libanchorid.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libanchorid.a $(LDLIBS)

e2e: all $(BUILD)/resolver_stress
	ANCHORID=$(BUILD)/anchorid ANCHORID_AGENT=$(BUILD)/anchorid-agent RESOLVER_STRESS=$(BUILD)/resolver_stress \
		tests/e2e/run.sh

test: deps-test
	$(MAKE) unit fuzz-replay e2e

check: deps-test
	$(MAKE) BUILD=build/check SAN=1 unit e2e

valgrind: deps-test all $(UNIT_BIN) $(BUILD)/resolver_stress
	@set -e; for t in $(UNIT_BIN); do \
		valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite $$t >/dev/null; \
		echo "valgrind clean: $$t"; done
	ANCHORID_WRAP="valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite" \
		ANCHORID=$(BUILD)/anchorid ANCHORID_AGENT=$(BUILD)/anchorid-agent RESOLVER_STRESS=$(BUILD)/resolver_stress \
		tests/e2e/run.sh

lint:
	clang-format --dry-run --Werror src/*/*.c src/*.c include/*.h
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr -Iinclude src
	@! grep -nE '\b(sprintf|strcpy|strcat|gets|atoi|atol|sscanf|rand|srand)\s*\(' src/*/*.c src/*.c \
		|| (echo "banned function used"; exit 1)

# Fuzz harnesses: the library is built once with clang (BUILD=build/fuzz) and linked into each harness.
fuzz-bins:
	$(MAKE) BUILD=build/fuzz CC=clang FUZZ=1 $(FUZZ_BIN)

build/fuzz/bin/%: tests/fuzz/%.c build/fuzz/libanchorid.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< build/fuzz/libanchorid.a $(LDLIBS)

# fuzz-replay: every seed and every saved crasher of every harness, once (part of `make test`).
fuzz-replay: fuzz-bins
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); \
		$$f -runs=0 tests/fuzz/corpus/$$n >/dev/null 2>build/fuzz/$$n.log || { cat build/fuzz/$$n.log; exit 1; }; \
		echo "fuzz corpus replayed: $$n ($$(ls tests/fuzz/corpus/$$n | wc -l) inputs)"; done

# fuzz: run each harness for FUZZ_SECONDS, growing a local corpus beside the committed seeds.
FUZZ_SECONDS ?= 30
fuzz: deps-test fuzz-bins
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build/fuzz/corpus/$$n; \
		echo "== $$n"; $$f -max_total_time=$(FUZZ_SECONDS) build/fuzz/corpus/$$n tests/fuzz/corpus/$$n; done

# bench: the default durability (an fsync per commit: bounded by the disk) and database_sync = normal (bounded by
# the CPU), each in one run beside the machine's signing ceiling.
bench: deps-test all certs
	bench/run.sh
	cp build/bench.txt build/bench-full.txt
	BENCH_SYNC=normal bench/run.sh
	cp build/bench.txt build/bench-normal.txt
	bench/dns.sh

clean:
	rm -rf build
