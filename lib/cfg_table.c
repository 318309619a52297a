/*
 * cfg_table.c - the parameter table: every main.cf parameter with its type,
 *               default and one-line description (from params.def), and the
 *               per-transport families (Postfix's TRANSPORT_destination_*)
 *               whose members are typed and defaulted by a default_*
 *               parameter.
 * Touches:  nothing (constant data and pure lookups).
 * See:      cfg.h, lib/params.def, docs/configuration.md.
 */
#include "sys.h"

#include <ctype.h>

#include "cfg.h"

static const struct cfg_param cfg_table[] = {
#define PARAM(n, t, d, doc) { #n, t, d, doc },
#include "params.def"
#undef PARAM
};

static const struct cfg_template cfg_templates[] = {
	{ "_destination_concurrency_limit", "default_destination_concurrency_limit",
	  "$default_destination_concurrency_limit" },
	{ "_destination_recipient_limit", "default_destination_recipient_limit",
	  "$default_destination_recipient_limit" },
	{ "_destination_rate_delay", "default_destination_rate_delay",
	  "$default_destination_rate_delay" },
};

const struct cfg_param *cfg_params(size_t *n_r)
{
	*n_r = N_ELEMENTS(cfg_table);
	return cfg_table;
}

const struct cfg_param *cfg_param_find(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(cfg_table); i++)
		if (strcmp(cfg_table[i].name, name) == 0)
			return &cfg_table[i];
	return NULL;
}

const struct cfg_template *cfg_template_find(const char *name, size_t n)
{
	for (size_t i = 0; i < N_ELEMENTS(cfg_templates); i++) {
		size_t sl = strlen(cfg_templates[i].suffix), k;

		if (n <= sl || memcmp(name + n - sl, cfg_templates[i].suffix, sl) != 0)
			continue;
		for (k = 0; k < n - sl; k++)
			if (!islower((unsigned char)name[k]) && !isdigit((unsigned char)name[k]) &&
			    name[k] != '_' && name[k] != '-')
				break;
		if (k == n - sl)
			return &cfg_templates[i];
	}
	return NULL;
}

const struct cfg_param *cfg_param_lookup(const char *name)
{
	const struct cfg_param *p = cfg_param_find(name);
	const struct cfg_template *t;

	if (p == NULL && (t = cfg_template_find(name, strlen(name))) != NULL)
		p = cfg_param_find(t->base);
	return p;
}
