# smtp/module.mk - the smtp delivery agent (docs/smtp.md).
TEST_SRCS_test_smtp_reply := smtp/smtp_reply.c
TEST_SRCS_fuzz_smtpreply := smtp/smtp_reply.c
TEST_SRCS_test_smtp_body := smtp/smtp_body.c
$(eval $(call tern_program,libexec/tern/smtp,$(wildcard smtp/*.c)))
