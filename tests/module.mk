# tests/module.mk - test-only programs: build/tests/echod, a server.h line
# echo daemon that master's integration tests run from master.cf.
$(eval $(call tern_program,tests/echod,tests/daemons/echod.c))
