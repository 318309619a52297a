# smtpd/module.mk - the SMTP server, and the daemon-private sources that
# unit tests and fuzz targets link.
$(eval $(call tern_program,libexec/tern/smtpd,$(wildcard smtpd/*.c)))
TEST_SRCS_test_smtpd_cmd := smtpd/smtpd_cmd.c
TEST_SRCS_fuzz_smtpcmd := smtpd/smtpd_cmd.c
TEST_SRCS_test_smtpd_data := smtpd/smtpd_data.c
TEST_SRCS_fuzz_smtpdata := smtpd/smtpd_data.c
TEST_SRCS_test_smtpd_header_end := smtpd/smtpd_data.c
