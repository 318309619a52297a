# Makefile - non-recursive build of tern (see README.md and docs/HACKING.md).
#
#   make            build everything into build/ (sbin/, libexec/tern/, lib/)
#   make test       ASan+UBSan build in build/asan, then unit, fuzz-replay and
#                   integration tests
#   make run        demo instance in ./run-demo on port base 10000, foreground
#   make fuzz       libFuzzer targets with clang into build/fuzz
#   make bench      benchmarks (bench/)
#   make check-long longer chaos and fuzz runs
#
# Each folder adds its programs in its own module.mk with tern_program.

BUILD ?= build
.DEFAULT_GOAL := all
include mk/flags.mk

LIB_SRCS := $(sort $(wildcard lib/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIBTERN := $(BUILD)/lib/libtern.a
PROGRAMS :=
DEPS_STAMP := $(BUILD)/.deps-build

# tern_program(path under BUILD, sources): link one program against libtern.
define tern_program
PROGRAMS += $(BUILD)/$(1)
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(2)) $(LIBTERN)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIBTERN) $$(LDLIBS)
endef

# tern_link(path under BUILD, target name): a symlink such as mailq -> postqueue.
define tern_link
PROGRAMS += $(BUILD)/$(1)
$(BUILD)/$(1): $(BUILD)/$(dir $(1))$(2)
	@mkdir -p $$(@D)
	ln -sf $(2) $$@
endef

include $(sort $(wildcard */module.mk))

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
REPLAY_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/tests/fuzz/%)

.PHONY: all deps deps-test test unit check-asan fuzz run bench check-long clean format-check
all: $(PROGRAMS)

deps: $(DEPS_STAMP)
$(DEPS_STAMP): mk/deps.sh
	@sh mk/deps.sh build
	@mkdir -p $(@D) && touch $@
deps-test:
	@sh mk/deps.sh test

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBTERN): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# A unit test or fuzz target may link daemon-private sources too: a
# module.mk sets e.g. TEST_SRCS_test_smtpd_cmd := smtpd/smtpd_cmd.c
# (WRAP_test_X adds linker flags such as -Wl,--wrap=fsync).
.SECONDEXPANSION:
# (test_objs avoids a literal '%' in the rule, which make would take for the stem)
test_objs = $(addprefix $(BUILD)/obj/,$(TEST_SRCS_$(1):.c=.o))
$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $$(call test_objs,$$*) $(LIBTERN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(WRAP_$*) -o $@ $(filter %.o,$^) $(LIBTERN) -lcmocka $(LDLIBS)

$(BUILD)/tests/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/replay.o $$(call test_objs,$$*) $(LIBTERN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBTERN) $(LDLIBS)

unit-bins: $(UNIT_BINS)
replay-bins: $(REPLAY_BINS)

# The test build: everything with ASan+UBSan and -Werror into build/asan.
ASAN_BUILD := build/asan
check-asan test: deps-test
	$(MAKE) BUILD=$(ASAN_BUILD) SAN=1 WERROR=1 all unit-bins replay-bins
	sh tests/check_docs.sh
	sh tests/run_unit.sh $(ASAN_BUILD)
	sh tests/run_replay.sh $(ASAN_BUILD)
	TERN_BUILD=$(abspath $(ASAN_BUILD)) sh tests/run_integration.sh

unit: deps-test
	$(MAKE) BUILD=$(ASAN_BUILD) SAN=1 unit-bins
	sh tests/run_unit.sh $(ASAN_BUILD)

# libFuzzer builds: clang, fuzzer+ASan+UBSan; run with build/fuzz/fuzz_X corpus/X
FUZZ_BUILD := build/fuzz
fuzz: deps-test
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang SAN=1 FUZZ_FLAGS=-fsanitize=fuzzer-no-link \
		$(LIBTERN:$(BUILD)/%=$(FUZZ_BUILD)/%)
	@mkdir -p $(FUZZ_BUILD)/bin
	$(foreach f,$(FUZZ_SRCS),clang $(CPPFLAGS) -std=gnu11 -g -O1 \
		-fsanitize=fuzzer,address,undefined -o $(FUZZ_BUILD)/bin/$(basename $(notdir $(f))) \
		$(f) $(TEST_SRCS_$(basename $(notdir $(f)))) $(FUZZ_BUILD)/lib/libtern.a \
		$(LDLIBS) &&) true

check-long: fuzz
	sh tests/run_fuzz_long.sh $(FUZZ_BUILD)
	$(MAKE) BUILD=$(ASAN_BUILD) SAN=1 all
	TERN_BUILD=$(abspath $(ASAN_BUILD)) TERN_CRASH_MESSAGES=20000 TERN_CRASH_RELAY_MESSAGES=20000 \
		sh tests/run_integration.sh -k crash

run: all
	sh admin/demo.sh $(abspath $(BUILD))

bench: all
	bash bench/run.sh $(abspath $(BUILD))

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
