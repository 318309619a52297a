# pickup/module.mk - the pickup daemon (sendmail -> queue) in libexec/tern,
# and the pure header code its unit test links.  sbin/sendmail links
# pickup_hdr.c too (admin/module.mk).
$(eval $(call tern_program,libexec/tern/pickup,$(wildcard pickup/*.c)))
TEST_SRCS_test_pickup_hdr := pickup/pickup_hdr.c
TEST_SRCS_fuzz_pickuphdr := pickup/pickup_hdr.c
