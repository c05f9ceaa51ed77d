# fuzz.mk — `make fuzz`: builds the libFuzzer harness tests/fuzz/fuzz_front.c
# with clang (-fsanitize=fuzzer,address,undefined) and runs it on a corpus
# seeded from examples/ and tests/*/*.mlx. Included by the top Makefile.
#   make fuzz                      front end (lexer + parser + AST dump), 5 minutes
#   make fuzz FUZZ_TIME=60         run for 60 seconds
#   make fuzz FUZZ_SEMA=1          also run sema_check on inputs that parse
# Crashes land in $(BUILD)/fuzz/ as crash-* files; replay one with
#   $(BUILD)/fuzz/fuzz_front FILE      (fuzz_front_sema with FUZZ_SEMA=1)

FUZZ_TIME ?= 300
FUZZ_SEMA ?=
FUZZ_DIR   = $(BUILD)/fuzz
FUZZ_BIN   = $(FUZZ_DIR)/fuzz_front$(if $(FUZZ_SEMA),_sema)
FUZZ_FLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 \
             -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
             -fno-omit-frame-pointer -I. -I$(FUZZ_DIR) -I$(BUILD) -I/usr/include/postgresql
# The front end alone; diag.c comes in through the harness (it resets its statics).
FUZZ_SRCS  = compiler/ast.c compiler/arena.c runtime/rt_diag.c \
             $(FUZZ_DIR)/grammar/parser.c $(FUZZ_DIR)/grammar/lexer.c
FUZZ_LIBS  = -ljansson -lm
ifneq ($(FUZZ_SEMA),)
FUZZ_SRCS += $(filter-out compiler/main.c compiler/diag.c compiler/ast.c compiler/arena.c,$(COMPILER_SRCS)) \
             $(filter-out runtime/rt_diag.c,$(RUNTIME_SRCS)) $(BUILD)/stdlib_embed.c
FUZZ_FLAGS += -DFUZZ_SEMA $(LLVM_CFLAGS)
FUZZ_LIBS  = $(LDLIBS)
endif

fuzz: $(FUZZ_BIN)
	@mkdir -p $(FUZZ_DIR)/corpus
	@cp examples/*.mlx stdlib/*.mlx $(FUZZ_DIR)/corpus/ 2>/dev/null || true
	@for f in tests/*/*.mlx; do cp "$$f" "$(FUZZ_DIR)/corpus/$$(echo $$f | tr / _)"; done
	cd $(FUZZ_DIR) && ASAN_OPTIONS=detect_leaks=1 ./$(notdir $(FUZZ_BIN)) -max_total_time=$(FUZZ_TIME) \
	  -max_len=8192 -timeout=10 -rss_limit_mb=4096 -close_fd_mask=2 -print_final_stats=1 corpus

# clang with the fuzzer runtime: installed when missing (Debian clang-19).
fuzz-deps:
	@if ! command -v clang-19 >/dev/null && ! command -v clang >/dev/null; then \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    $$SUDO apt-get install -y -qq clang-19 libclang-rt-19-dev >/dev/null; \
	fi

# The generated parser and lexer, private to the fuzz build.
$(FUZZ_DIR)/grammar/parser.h: $(FUZZ_DIR)/grammar/parser.c ;
$(FUZZ_DIR)/grammar/parser.c: grammar/parser.y
	@mkdir -p $(FUZZ_DIR)/grammar
	bison -Wall -Werror --defines=$(FUZZ_DIR)/grammar/parser.h -o $(FUZZ_DIR)/grammar/parser.c $<

$(FUZZ_DIR)/grammar/lexer.c: grammar/lexer.l $(FUZZ_DIR)/grammar/parser.h
	flex --header-file=$(FUZZ_DIR)/grammar/lexer.h -o $@ $<

$(FUZZ_BIN): tests/fuzz/fuzz_front.c $(FUZZ_SRCS) compiler/diag.c compiler/mlxc.h | fuzz-deps
	@mkdir -p $(FUZZ_DIR)
	cc=$$(command -v clang-19 || command -v clang); \
	$$cc $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_front.c $(FUZZ_SRCS) $(FUZZ_LIBS)

.PHONY: fuzz-deps

# `make fuzz-csv [FUZZ_TIME=N]`: the CSV reader and cell parsers
# (tests/fuzz/fuzz_csv.c), seeded from tests/*/*.csv. Crashes land in
# $(BUILD)/fuzz-csv/; replay one with $(BUILD)/fuzz-csv/fuzz_csv FILE.
FUZZ_CSV_DIR  = $(BUILD)/fuzz-csv
FUZZ_CSV_SRCS = runtime/rt_csv.c runtime/rt_coltype.c runtime/rt_diag.c runtime/rt_mem.c runtime/rt_rand.c

$(FUZZ_CSV_DIR)/fuzz_csv: tests/fuzz/fuzz_csv.c $(FUZZ_CSV_SRCS) runtime/rt.h | fuzz-deps
	@mkdir -p $(FUZZ_CSV_DIR)
	cc=$$(command -v clang-19 || command -v clang); \
	$$cc $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_csv.c $(FUZZ_CSV_SRCS) -ljansson -lm

fuzz-csv: $(FUZZ_CSV_DIR)/fuzz_csv
	@mkdir -p $(FUZZ_CSV_DIR)/corpus
	@for f in tests/*/*.csv; do { printf '\000'; cat "$$f"; } > "$(FUZZ_CSV_DIR)/corpus/$$(echo $$f | tr / _)"; done
	cd $(FUZZ_CSV_DIR) && ASAN_OPTIONS=detect_leaks=1 ./fuzz_csv -max_total_time=$(FUZZ_TIME) \
	  -max_len=4096 -timeout=10 -rss_limit_mb=4096 -close_fd_mask=2 -print_final_stats=1 corpus

.PHONY: fuzz-csv

# `make fuzz-model [FUZZ_TIME=N]`: the .mlxm loader (tests/fuzz/fuzz_model.c
# calling rt_model_load_mem), seeded with the examples' trained models.
# Crashes land in $(BUILD)/fuzz-model/; replay one with
# $(BUILD)/fuzz-model/fuzz_model FILE.
FUZZ_MODEL_DIR = $(BUILD)/fuzz-model

$(FUZZ_MODEL_DIR)/fuzz_model: tests/fuzz/fuzz_model.c $(RUNTIME_SRCS) runtime/rt.h | fuzz-deps
	@mkdir -p $(FUZZ_MODEL_DIR)
	cc=$$(command -v clang-19 || command -v clang); \
	$$cc $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_model.c $(RUNTIME_SRCS) \
	  -ljansson -lmicrohttpd -lsqlite3 -lpq -lffi -ldl -lm -lpthread

fuzz-model: $(FUZZ_MODEL_DIR)/fuzz_model $(BUILD)/mlxc
	@mkdir -p $(FUZZ_MODEL_DIR)/corpus $(FUZZ_MODEL_DIR)/seed
	@for e in examples/*.mlx; do $(BUILD)/mlxc run $$e --out $(FUZZ_MODEL_DIR)/seed >/dev/null || exit 1; done
	@cp $(FUZZ_MODEL_DIR)/seed/*.mlxm $(FUZZ_MODEL_DIR)/corpus/
	cd $(FUZZ_MODEL_DIR) && ASAN_OPTIONS=detect_leaks=1 ./fuzz_model -max_total_time=$(FUZZ_TIME) \
	  -max_len=65536 -timeout=10 -rss_limit_mb=4096 -close_fd_mask=2 -print_final_stats=1 corpus

.PHONY: fuzz-model

# `make fuzz-request [FUZZ_TIME=N]`: `mlxc serve`'s request decoder
# (tests/fuzz/fuzz_request.c, runtime/rt_serve_req.c), no socket, seeded
# from the malformed-request corpus tests/serve/bad/. Crashes land in
# $(BUILD)/fuzz-request/; replay one with $(BUILD)/fuzz-request/fuzz_request FILE.
FUZZ_REQ_DIR = $(BUILD)/fuzz-request

$(FUZZ_REQ_DIR)/fuzz_request: tests/fuzz/fuzz_request.c $(RUNTIME_SRCS) runtime/rt.h | fuzz-deps
	@mkdir -p $(FUZZ_REQ_DIR)
	cc=$$(command -v clang-19 || command -v clang); \
	$$cc $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_request.c $(RUNTIME_SRCS) -ljansson -lmicrohttpd -lsqlite3 -lpq -lffi -ldl -lm -lpthread

fuzz-request: $(FUZZ_REQ_DIR)/fuzz_request
	@mkdir -p $(FUZZ_REQ_DIR)/corpus
	@cp tests/serve/bad/*.json $(FUZZ_REQ_DIR)/corpus/
	cd $(FUZZ_REQ_DIR) && ASAN_OPTIONS=detect_leaks=1 ./fuzz_request -max_total_time=$(FUZZ_TIME) \
	  -max_len=4096 -timeout=10 -rss_limit_mb=4096 -close_fd_mask=2 -print_final_stats=1 corpus

.PHONY: fuzz-request

# `make fuzz-fmt [FUZZ_TIME=N]`: `mlxc fmt` (tests/fuzz/fuzz_fmt.c): every spec
# that parses formats, idempotently, to one with the same tokens and AST;
# seeded like `make fuzz`. Crashes land in $(BUILD)/fuzz-fmt/.
FUZZ_FMT_DIR = $(BUILD)/fuzz-fmt
$(FUZZ_FMT_DIR)/fuzz_fmt: tests/fuzz/fuzz_fmt.c compiler/fmt.c $(FUZZ_SRCS) compiler/diag.c \
                          compiler/mlxc.h | fuzz-deps
	@mkdir -p $(FUZZ_FMT_DIR)
	cc=$$(command -v clang-19 || command -v clang); \
	$$cc $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_fmt.c compiler/fmt.c runtime/rt_file.c \
	  $(FUZZ_SRCS) -ljansson -lm

fuzz-fmt: $(FUZZ_FMT_DIR)/fuzz_fmt
	@mkdir -p $(FUZZ_FMT_DIR)/corpus
	@cp examples/*.mlx stdlib/*.mlx $(FUZZ_FMT_DIR)/corpus/ 2>/dev/null || true
	@for f in tests/*/*.mlx; do cp "$$f" "$(FUZZ_FMT_DIR)/corpus/$$(echo $$f | tr / _)"; done
	cd $(FUZZ_FMT_DIR) && ASAN_OPTIONS=detect_leaks=1 ./fuzz_fmt -max_total_time=$(FUZZ_TIME) \
	  -max_len=8192 -timeout=10 -rss_limit_mb=4096 -close_fd_mask=2 -print_final_stats=1 corpus
.PHONY: fuzz-fmt
