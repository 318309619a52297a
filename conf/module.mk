# conf/module.mk - embed the main.cf and master.cf templates into sbin/tern.
# mk/embed.sh turns conf/*.cf into $(BUILD)/gen/conf_templates.c (byte
# arrays tern_tmpl_main_cf and tern_tmpl_master_cf, declared in
# admin/tern.h); its object is linked into sbin/tern only.
CONF_TEMPLATES := conf/main.cf conf/master.cf
CONF_GEN_C := $(BUILD)/gen/conf_templates.c
CONF_GEN_O := $(BUILD)/obj/gen/conf_templates.o

$(CONF_GEN_C): $(CONF_TEMPLATES) mk/embed.sh
	@mkdir -p $(@D)
	sh mk/embed.sh $@ tern_tmpl_main_cf conf/main.cf tern_tmpl_master_cf conf/master.cf

$(CONF_GEN_O): $(CONF_GEN_C) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/sbin/tern: $(CONF_GEN_O)
