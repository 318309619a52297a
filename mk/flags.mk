# mk/flags.mk - compiler and linker flags for every build of tern.
# SAN=1 adds AddressSanitizer and UndefinedBehaviorSanitizer (make test);
# WERROR=1 turns warnings into errors (CI).
CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
OPT ?= -O2
CSTD := -std=gnu11
WARN := -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter -Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARN += -Werror
endif
CPPFLAGS += -D_GNU_SOURCE -Ilib -I.
CFLAGS += $(CSTD) $(WARN) $(OPT) -g -fno-strict-aliasing -fstack-protector-strong \
	-MMD -MP
ifeq ($(SAN),1)
OPT := -O1
CFLAGS += $(FUZZ_FLAGS)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
CPPFLAGS += -D_FORTIFY_SOURCE=2
endif
LDLIBS += -levent_openssl -levent -lssl -lcrypto -ldb -llmdb -lunbound -lcrypt -lz
