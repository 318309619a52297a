/*
 * proto.c - the internal protocol descriptors (see proto.h).
 * Touches:  nothing (constant data, a path helper, the offsets codec).
 */
#include "sys.h"

#include "buf.h"
#include "cfg.h"
#include "proto.h"
#include "xmem.h"

const struct ipc_proto proto_qmgr = { "qmgr", 1, NULL, 0 };
const struct ipc_proto proto_deliver = { "deliver", 1, NULL, 0 };
const struct ipc_proto proto_pickup = { "pickup", 1, NULL, 0 };
const struct ipc_proto proto_auth = { "auth", 1, NULL, 0 };

void proto_socket_path(struct cfg *cfg, const char *name, bool public_, struct buf *path_r)
{
	buf_reset(path_r);
	buf_printf(path_r, "%s/%s/%s", cfg_get(cfg, "queue_directory"),
		   public_ ? "public" : "private", name);
}

void proto_offsets_put(struct ipc_msg *msg, const off_t *offs, size_t n)
{
	unsigned char *p = xmalloc(n * 8 + 1);

	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 8; k++)
			p[i * 8 + (size_t)k] = (unsigned char)((uint64_t)offs[i] >> (56 - 8 * k));
	ipc_put_data(msg, "offsets", p, n * 8);
	free(p);
}

int proto_offsets_get(const void *data, size_t len, off_t **offs_r, size_t *n_r)
{
	const unsigned char *p = data;
	size_t n = len / 8;

	if (len == 0 || len % 8 != 0 || n > DELIVER_MAX_RCPTS)
		return -1;
	*offs_r = xcalloc(n, sizeof(off_t));
	for (size_t i = 0; i < n; i++) {
		uint64_t v = 0;

		for (int k = 0; k < 8; k++)
			v = (v << 8) | p[i * 8 + (size_t)k];
		if (v > INT64_MAX) {
			xfree(offs_r);
			return -1;
		}
		(*offs_r)[i] = (off_t)v;
	}
	*n_r = n;
	return 0;
}

/* The showq protocol (postqueue -> showq on public/showq). */
const struct ipc_proto proto_showq = { "showq", 1, NULL, 0 };
