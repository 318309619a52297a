# auth/module.mk - the auth daemon (password checks, SASL, brute-force
# defence) in libexec/tern, and the pure guard its unit test links.
$(eval $(call tern_program,libexec/tern/auth,$(wildcard auth/*.c)))
TEST_SRCS_test_auth_guard := auth/auth_guard.c
TEST_SRCS_test_auth_token := auth/auth_token.c
TEST_SRCS_test_auth_worker := auth/auth_worker.c
WRAP_test_auth_worker := -Wl,--wrap=passwd_verify
