# pop3d/module.mk - the POP3 server (docs/pop3d.md), and the daemon-private
# sources that unit tests and fuzz targets link.
$(eval $(call tern_program,libexec/tern/pop3d,$(wildcard pop3d/*.c)))
TEST_SRCS_test_pop3d_cmd := pop3d/pop3d_cmd.c
TEST_SRCS_test_pop3d_msg := pop3d/pop3d_msg.c
TEST_SRCS_fuzz_pop3cmd := pop3d/pop3d_cmd.c
