# safegrid — build, run and test.
#
#   make run        install what is missing, build, start the demo city on :8080
#   make test       every suite; the last line is "N passed, N failed"
#   make sanitize   the same suites built with ASan+UBSan (in build/asan)
#   make fuzz       libFuzzer targets (clang), in build/fuzz
#   make bench      benchmark programs, in build/bench

BUILD    ?= build
CC       ?= cc
PKGS     := libmicrohttpd jansson geos libsodium sqlite3
WARN     := -Wall -Wextra -Werror -Wformat=2 -Wstrict-prototypes -Wshadow -Wno-unused-parameter
OPT      ?= -O2 -g
SANFLAGS ?=
CFLAGS   := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SANFLAGS) -Isrc -MMD -MP \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
LDFLAGS  := $(SANFLAGS)

SRCS      := $(shell find src -name '*.c' ! -path src/main.c | sort)
OBJS      := $(SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/web_assets.o
LIB       := $(BUILD)/libsafegrid.a
BIN       := $(BUILD)/safegrid
UNIT_SRCS := $(shell find tests/unit -name 'test_*.c' | sort)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(wildcard fuzz/*.c)
REPLAYS   := $(FUZZ_SRCS:fuzz/%.c=$(BUILD)/replay/%)
BENCH_SRCS:= $(wildcard bench/*.c)
BENCHES   := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps run test sanitize fuzz bench clean check-deps
all: $(BIN) $(UNIT_BINS) $(REPLAYS) $(BENCHES)

deps:
	@sh tools/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

# Embedded data files (base/embed.h) with .incbin, which -MMD does not see.
$(BUILD)/obj/src/demo/data.o: data/suzhou-districts.wgs84.geojson data/suzhou-divisions.csv
$(BUILD)/obj/src/rules/defaults.o: data/rules/classify.json data/rules/cases.json data/rules/dispatch.json

# The console (web/): npm installs the vendor files from the lock (again only
# when the lock changes); every served file is embedded in the binary by a
# generated source (tools/embed-web.sh, src/http/console.h).
WEB_STAMP  := web/node_modules/.safegrid-installed
WEB_APP    := $(shell find web/src -type f | sort)
WEB_VENDOR := web/node_modules/leaflet/dist/leaflet.js web/node_modules/leaflet/dist/leaflet.css \
              $(addprefix web/node_modules/leaflet/dist/images/,layers.png layers-2x.png \
                marker-icon.png marker-icon-2x.png marker-shadow.png) \
              web/node_modules/echarts/dist/echarts.min.js
WEB_PAIRS  := /=web/src/index.html \
              $(foreach f,$(filter-out web/src/index.html,$(WEB_APP)),/assets/$(f:web/src/%=%)=$(f)) \
              $(foreach f,$(WEB_VENDOR),/assets/$(f:web/node_modules/leaflet/dist/%=%)=$(f))
WEB_PAIRS  := $(subst /assets/web/node_modules/echarts/dist/,/assets/,$(WEB_PAIRS))

$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WEB_VENDOR): $(WEB_STAMP)
	@test -f $@

$(BUILD)/gen/web_assets.c: tools/embed-web.sh $(WEB_APP) $(WEB_VENDOR) Makefile
	@mkdir -p $(@D)
	sh tools/embed-web.sh $@ $(WEB_PAIRS)

$(BUILD)/obj/gen/web_assets.o: $(BUILD)/gen/web_assets.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/obj/src/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB) tests/unit/test.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

# Fuzz targets built with a plain main that replays their corpus (no clang needed).
$(BUILD)/replay/%: fuzz/%.c tests/fuzz_replay.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< tests/fuzz_replay.c $(LIB) $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -O3 -march=native -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

# bench/nearest also speaks to Redis (hiredis) and PostgreSQL (libpq), and only
# it links them. Without their development files (sh tools/bench-deps.sh) it is
# skipped with a message and everything else builds as usual.
NEAREST_PKGS := hiredis libpq
NEAREST_LIBS := $(shell pkg-config --libs $(NEAREST_PKGS) 2>/dev/null)
$(BUILD)/bench/nearest: bench/nearest.c $(LIB)
ifneq ($(NEAREST_LIBS),)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags $(NEAREST_PKGS)) -O3 -march=native -o $@ $< \
		$(LIB) $(LDFLAGS) $(LDLIBS) $(NEAREST_LIBS)
else
	@echo "skipping $@: needs $(NEAREST_PKGS) (sh tools/bench-deps.sh)"
endif

run: deps
	@$(MAKE) --no-print-directory $(BIN)
	./$(BIN) serve --db ./safegrid.db --listen 127.0.0.1:8080 --demo

test: deps
	@$(MAKE) --no-print-directory all
	@sh tests/run-all.sh $(BUILD)

sanitize: deps
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined" all
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		sh tests/run-all.sh build/asan

fuzz: deps build/gen/web_assets.c
	@mkdir -p build/fuzz
	@for f in $(FUZZ_SRCS); do \
		n=$$(basename $$f .c); \
		echo "clang fuzz/$$n.c"; \
		clang -std=c11 -D_GNU_SOURCE -O1 -g -Isrc -fsanitize=fuzzer,address,undefined \
			$$(pkg-config --cflags $(PKGS)) -o build/fuzz/$$n $$f $(SRCS) build/gen/web_assets.c \
			$$(pkg-config --libs $(PKGS)) -lpthread -lm || exit 1; \
	done

bench: $(BENCHES)

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(BUILD)/obj/src/main.d
