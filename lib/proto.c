/*
 * proto.c - the internal protocol descriptors (see proto.h).
 * Touches:  nothing (constant data and a path helper).
 */
#include "sys.h"

#include "buf.h"
#include "cfg.h"
#include "proto.h"

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
