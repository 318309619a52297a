# admin/module.mk - the admin commands in build/sbin.  A command NAME is
# admin/NAME.c plus any admin/NAME_*.c; it is built once its main file exists.
ADMIN_CMDS := tern postconf postmap postalias postqueue postsuper postcat sendmail
# postmap and postalias share admin/tblcmd.c (query, delete, dump).
ADMIN_EXTRA_postmap := admin/tblcmd.c
ADMIN_EXTRA_postalias := admin/tblcmd.c
$(foreach c,$(ADMIN_CMDS),$(if $(wildcard admin/$(c).c),\
	$(eval $(call tern_program,sbin/$(c),$(wildcard admin/$(c).c admin/$(c)_*.c) $(ADMIN_EXTRA_$(c))))))
$(if $(wildcard admin/postalias.c),$(eval $(call tern_link,sbin/newaliases,postalias)))
$(if $(wildcard admin/postqueue.c),$(eval $(call tern_link,sbin/mailq,postqueue)))
# sendmail shares the header code of pickup, smtpd's command parser (-bs)
# and the queue listing and flush of postqueue (-bp, -q).
$(BUILD)/sbin/sendmail: $(BUILD)/obj/pickup/pickup_hdr.o $(BUILD)/obj/smtpd/smtpd_cmd.o \
	$(BUILD)/obj/admin/postqueue_show.o $(BUILD)/obj/admin/postqueue_flush.o
