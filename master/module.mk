# master/module.mk - the master process, build/libexec/tern/master.
$(eval $(call tern_program,libexec/tern/master,$(wildcard master/*.c)))
