# mlxc — `make` installs what is missing, builds build/mlxc; `make test` runs
# every test; `make run` trains the main example end to end.

BUILD       ?= build
CC          ?= cc
LLVM_CONFIG ?= llvm-config-19
SAN         ?=
OPT         ?= -O2

# Debian packages the build and the tests need (see README.md, Dependencies).
DEB_PKGS = flex bison llvm-19-dev libjansson-dev jq
# npm fetches csv-spectrum for tests/csv_spectrum.c; Debian's package only
# when no npm is on PATH (a NodeSource nodejs already ships one).
DEB_PKGS += $(if $(shell command -v npm 2>/dev/null),,npm)
# chromium renders the `run --report` page headless in tests/report/report.sh
# (about 50 s to install with its dependencies, apt-get update included).
DEB_PKGS += chromium
# libmicrohttpd-dev: `mlxc serve`'s HTTP server (runtime/rt_serve.c); curl
# sends the requests of tests/serve/*.sh.
DEB_PKGS += libmicrohttpd-dev curl
# libsqlite3-dev: a release's journal (runtime/rt_journal.c; SQLite in WAL
# mode), linked statically into `mlxc build` executables like jansson.
DEB_PKGS += libsqlite3-dev
# libpq-dev: the journal's PostgreSQL store (runtime/rt_journal_pg.c), for
# serve replicas sharing one rollout; postgresql: the server tests/release/
# pg_replicas.sh starts on loopback (initdb in a temporary directory).
DEB_PKGS += libpq-dev postgresql
# libedit-dev: `mlxc repl`'s line editing, history and completion
# (compiler/repl.c); tmux drives the REPL on a terminal in tests/repl/tty.sh.
DEB_PKGS += libedit-dev tmux
# libffi-dev: calling an `extern fn` while folding consts, in the REPL and
# in the interpreted feature transforms (runtime/rt_extern.c), only with
# --allow-extern.
DEB_PKGS += libffi-dev
# vim: tests/editors/vim.sh loads editors/vim headless (vim -es); emacs-nox,
# the smallest emacs that byte-compiles: tests/editors/emacs.sh checks
# editors/emacs/mlx-mode.el (about 15 s to install, 7 packages, ~100 MB).
DEB_PKGS += vim emacs-nox

CFLAGS_BASE = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
              -Wall -Wextra -Werror $(OPT) -g $(SAN) -I. -I$(BUILD) -I/usr/include/postgresql \
              $(shell pkg-config --cflags libffi 2>/dev/null)
LLVM_CFLAGS = $(shell $(LLVM_CONFIG) --cflags 2>/dev/null)
LLVM_LIBS   = $(shell $(LLVM_CONFIG) --ldflags --libs 2>/dev/null)
LDLIBS      = $(LLVM_LIBS) -ljansson -lsqlite3 -lmicrohttpd -lpq -ledit -lffi -ldl -lm -lpthread

COMPILER_SRCS = $(wildcard compiler/*.c)
RUNTIME_SRCS  = $(wildcard runtime/*.c)
GEN_SRCS      = $(BUILD)/grammar/parser.c $(BUILD)/grammar/lexer.c $(BUILD)/stdlib_embed.c
OBJS = $(COMPILER_SRCS:%.c=$(BUILD)/%.o) $(RUNTIME_SRCS:%.c=$(BUILD)/%.o) \
       $(GEN_SRCS:%.c=%.o)
LIB_OBJS = $(filter-out $(BUILD)/compiler/main.o,$(OBJS))

.PHONY: all deps test run asan golden fuzz bench clean install

all: deps
	@$(MAKE) --no-print-directory $(BUILD)/mlxc $(BUILD)/libmlxrt.a

# Installs the Debian packages that are missing; does nothing when all are present.
deps:
	@missing=""; for p in $(DEB_PKGS) $(EXTRA_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BUILD)/mlxc: $(OBJS)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

# `mlxc build` links executables with cc from this archive (found next to
# mlxc): the runtime, the front end (grammar and sema check BIN's embedded
# spec again) and BIN's command line (aot_bin.c) -- no LLVM. AOT_LINK is the
# rest of that link line: jansson and sqlite3 static, so BIN needs no -dev package
# (libmicrohttpd12 and libpq5 it loads at run time).
AOT_OBJS = $(RUNTIME_SRCS:%.c=$(BUILD)/%.o) $(GEN_SRCS:%.c=%.o) \
           $(addprefix $(BUILD)/compiler/,arena.o ast.o diag.o sema.o release_check.o aot_bin.o)
AOT_LINK = $(SAN) -Wl,-Bstatic -ljansson -lsqlite3 -lffi -Wl,-Bdynamic -lmicrohttpd -lpq -lm -lpthread -ldl
$(BUILD)/libmlxrt.a: $(AOT_OBJS)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/compiler/aot.o: CFLAGS_BASE += -DAOT_LINK='"$(AOT_LINK)"'

# Test drivers link the compiler and runtime without main.c.
$(BUILD)/tests/%: tests/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(LLVM_CFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

# Benchmark drivers link the same way. `make bench` runs every bench/*/run.sh
# (never part of `make test`), first installing what they compare against.
BENCH_PKGS = python3-pandas time python3-torch python3-sklearn python3-numpy wrk
$(BUILD)/bench/%: bench/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(LLVM_CFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

bench: all
	@$(MAKE) --no-print-directory deps EXTRA_PKGS="$(BENCH_PKGS)"
	@for s in bench/*/run.sh; do MLXC=$(BUILD)/mlxc BUILD=$(BUILD) sh $$s || exit 1; done

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(LLVM_CFLAGS) -MMD -MP -c -o $@ $<

# Generated front end: bison and flex output go to build/, never committed.
$(BUILD)/grammar/parser.c $(BUILD)/grammar/parser.h &: grammar/parser.y
	@mkdir -p $(BUILD)/grammar
	bison -Wall -Werror --defines=$(BUILD)/grammar/parser.h -o $(BUILD)/grammar/parser.c $<

$(BUILD)/grammar/lexer.c $(BUILD)/grammar/lexer.h &: grammar/lexer.l $(BUILD)/grammar/parser.h
	@mkdir -p $(BUILD)/grammar
	flex --header-file=$(BUILD)/grammar/lexer.h -o $(BUILD)/grammar/lexer.c $<

$(BUILD)/grammar/parser.o: $(BUILD)/grammar/parser.c $(BUILD)/grammar/lexer.h
	$(CC) $(CFLAGS_BASE) -Wno-unused-but-set-variable -MMD -MP -c -o $@ $<

$(BUILD)/grammar/lexer.o: $(BUILD)/grammar/lexer.c $(BUILD)/grammar/parser.h
	$(CC) $(CFLAGS_BASE) -Wno-unused-function -Wno-sign-compare -Wno-unused-parameter -MMD -MP -c -o $@ $<

# Every compiler object may include the generated headers.
$(COMPILER_SRCS:%.c=$(BUILD)/%.o): $(BUILD)/grammar/parser.h $(BUILD)/grammar/lexer.h

# The kernel cache's build id (compiler/kcache.c): a hash of the compiler's
# sources, so objects cached by another compiler are never loaded. The
# header is rewritten only when the hash changes.
BUILD_ID = $(shell cat $(sort $(wildcard compiler/*.c compiler/*.h)) runtime/mlxrt.h | \
             sha256sum | cut -c1-16)
$(BUILD)/build_id.h: FORCE
	@mkdir -p $(BUILD)
	@echo '#define MLXC_BUILD_ID "$(BUILD_ID)"' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(BUILD)/compiler/kcache.o: $(BUILD)/build_id.h
FORCE:

# The standard library is embedded in the binary.
$(BUILD)/stdlib_embed.c: $(wildcard stdlib/*.mlx) tests/embed.sh
	@mkdir -p $(BUILD)
	sh tests/embed.sh stdlib > $@

test: all
	@$(MAKE) --no-print-directory $(BUILD)/tests/gradcheck 2>/dev/null || true
	@MLXC=$(BUILD)/mlxc BUILD=$(BUILD) sh tests/run.sh

golden: all
	@MLXC=$(BUILD)/mlxc BUILD=$(BUILD) GOLDEN=1 sh tests/run.sh

run: all
	$(BUILD)/mlxc run examples/credit.mlx --out out

ASAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

asan:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 SAN="$(ASAN_FLAGS)" build-asan/mlxc build-asan/libmlxrt.a
	@SAN="$(ASAN_FLAGS)" OPT=-O1 ASAN_OPTIONS=detect_leaks=0 MLXC=build-asan/mlxc BUILD=build-asan \
	  sh tests/run.sh

PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BUILD)/mlxc $(DESTDIR)$(PREFIX)/bin/mlxc
	install -d $(DESTDIR)$(PREFIX)/lib/mlxc
	install -m 644 $(BUILD)/libmlxrt.a $(DESTDIR)$(PREFIX)/lib/mlxc/libmlxrt.a

clean:
	rm -rf build build-asan

-include $(OBJS:.o=.d)
-include tests/fuzz/fuzz.mk
