# smtpd/module.mk - the SMTP server.  For now only the daemon-private
# sources that unit tests and fuzz targets link; the smtpd program itself is
# declared here once smtpd/smtpd.c exists.
TEST_SRCS_test_smtpd_cmd := smtpd/smtpd_cmd.c
TEST_SRCS_fuzz_smtpcmd := smtpd/smtpd_cmd.c
