/*
 * showq_access.c - who may list and flush the queue through showq:
 * authorized_mailq_users and authorized_flush_users against the caller's
 * uid from SO_PEERCRED.  Root and the mail owner are always allowed.
 * Touches:  the passwd database (getpwnam_r for $mail_owner); the tables
 *           the lists name (tbl_open per check, read only).
 * Input:    the uid comes from the kernel; the login from getpwuid_r.
 * Security: fails closed: a table that cannot be read refuses the caller.
 *           Runs in showq as the mail owner.
 * Errors:   a refusal logs "uid N (NAME): not in PARAM" (or the table
 *           failure) and returns the text the user sees.
 * See:      showq.h, Postfix postqueue(1) authorized_mailq_users.
 */
#include "sys.h"

#include <pwd.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "log.h"
#include "showq/showq.h"
#include "str.h"
#include "tbl.h"

static uid_t owner_uid = 0;
static bool owner_known = false;

void showq_access_init(struct cfg *cfg)
{
	struct passwd pw, *res = NULL;
	char sbuf[4096];

	if (getpwnam_r(cfg_get(cfg, "mail_owner"), &pw, sbuf, sizeof(sbuf), &res) == 0 &&
	    res != NULL) {
		owner_uid = res->pw_uid;
		owner_known = true;
	}
}

int showq_access_match(char **list, const char *login, struct err *err)
{
	for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
		const char *item = list[i];
		struct buf value = BUF_INIT;
		struct tbl *t;
		int rc;

		if (strchr(item, ':') == NULL) {
			if (strcmp(item, login) == 0)
				return 1;
			continue;
		}
		t = tbl_open(item, NULL, TBL_RDONLY, err);
		if (t == NULL)
			return -1;
		rc = tbl_lookup(t, login, &value, err);
		tbl_close(&t);
		buf_deinit(&value);
		if (rc == TBL_FOUND)
			return 1;
		if (rc == TBL_TEMPFAIL)
			return -1;
	}
	return 0;
}

int showq_access_check(struct cfg *cfg, const char *param, const char *verb, uid_t uid,
		       const char *login, struct err *err)
{
	char **list;
	size_t n;
	int rc;

	if (uid == 0 || uid == getuid() || (owner_known && uid == owner_uid))
		return 0;
	list = cfg_get_list(cfg, param, &n);
	rc = showq_access_match(list, login, err);
	str_split_free(&list);
	if (rc == 1)
		return 0;
	if (rc < 0)
		log_warn("uid %lu (%s): %s: %s", (unsigned long)uid, login, param, err->msg);
	else
		log_warn("uid %lu (%s): not in %s: may not %s the mail queue", (unsigned long)uid,
			 login, param, verb);
	return err_set(err, "User %s(%lu) is not allowed to %s the mail queue", login,
		       (unsigned long)uid, verb);
}
