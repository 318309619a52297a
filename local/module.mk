# local/module.mk - the local delivery agent (docs/local.md).
TEST_SRCS_test_local_expand := local/local_expand.c
TEST_SRCS_test_local_deliver := local/local_deliver.c local/local_command.c local/local_agent.c \
	local/local_expand.c local/local_forward.c
$(if $(wildcard local/local.c),$(eval $(call tern_program,libexec/tern/local,$(wildcard local/*.c))))
TEST_SRCS_fuzz_aliasvalue := local/local_expand.c
