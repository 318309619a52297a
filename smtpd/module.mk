# smtpd/module.mk - the SMTP server.  For now only the daemon-private
# sources that unit tests and fuzz targets link; the smtpd program itself is
# declared here once smtpd/smtpd.c exists.
TEST_SRCS_test_smtpd_cmd := smtpd/smtpd_cmd.c
TEST_SRCS_fuzz_smtpcmd := smtpd/smtpd_cmd.c
# The same as plain prerequisites: the '%' of the pattern rules' patsubst
# is taken for the stem, so TEST_SRCS alone does not reach the link (make 4.3).
$(BUILD)/tests/unit/test_smtpd_cmd: $(BUILD)/obj/smtpd/smtpd_cmd.o
$(BUILD)/tests/fuzz/fuzz_smtpcmd: $(BUILD)/obj/smtpd/smtpd_cmd.o
