# qmgr/module.mk - the queue manager in libexec/tern, and the pure helpers
# its unit test links (qmgr_util.c: retry arithmetic, grouping, hash map).
$(eval $(call tern_program,libexec/tern/qmgr,$(wildcard qmgr/*.c)))
TEST_SRCS_test_qmgr_util := qmgr/qmgr_util.c
