# showq/module.mk - the showq daemon (queue listing and flush for local
# users on public/showq) in libexec/tern; its access check is unit-tested.
$(eval $(call tern_program,libexec/tern/showq,$(wildcard showq/*.c)))
TEST_SRCS_test_showq_access := showq/showq_access.c
