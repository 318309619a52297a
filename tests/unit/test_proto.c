/*
 * test_proto.c - unit tests for lib/proto.c: the DELIVER_REQUEST offsets
 * codec (round trip through a real frame, and every malformed length or
 * value), and socket paths.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "ipc.h"
#include "proto.h"

static void test_offsets_round_trip(void **state)
{
	const off_t in[] = { 0, 107, 1 << 20, (off_t)INT64_MAX };
	struct ipc_msg msg, parsed;
	const void *data;
	size_t len, n;
	struct err err;
	off_t *out;

	ipc_msg_init(&msg, DELIVER_REQUEST, 7);
	proto_offsets_put(&msg, in, N_ELEMENTS(in));
	assert_int_equal(ipc_msg_finish(&msg, &err), 0);
	assert_int_equal(ipc_parse(msg.frame.data, msg.frame.len, IPC_MAX_FRAME, &parsed, &err), 0);
	assert_int_equal(ipc_get(&parsed, IPC_STRICT, IPC_DATA("offsets", &data, &len), IPC_END), 1);
	assert_int_equal(len, 8 * N_ELEMENTS(in));
	assert_int_equal(proto_offsets_get(data, len, &out, &n), 0);
	assert_int_equal(n, N_ELEMENTS(in));
	for (size_t i = 0; i < n; i++)
		assert_true(out[i] == in[i]);
	free(out);
	ipc_msg_deinit(&parsed);
	ipc_msg_deinit(&msg);
}

static void test_offsets_malformed(void **state)
{
	unsigned char big[8 * (DELIVER_MAX_RCPTS + 1)] = { 0 };
	const unsigned char over[8] = { 0x80, 0, 0, 0, 0, 0, 0, 1 };
	off_t *out = NULL;
	size_t n = 0;

	assert_int_equal(proto_offsets_get(big, 0, &out, &n), -1);
	assert_int_equal(proto_offsets_get(big, 7, &out, &n), -1);
	assert_int_equal(proto_offsets_get(big, 9, &out, &n), -1);
	assert_int_equal(proto_offsets_get(big, sizeof(big), &out, &n), -1);
	assert_int_equal(proto_offsets_get(over, sizeof(over), &out, &n), -1);
	assert_null(out);
	assert_int_equal(proto_offsets_get(big, 8 * DELIVER_MAX_RCPTS, &out, &n), 0);
	assert_int_equal(n, DELIVER_MAX_RCPTS);
	free(out);
}

static void test_socket_path(void **state)
{
	struct cfg *cfg = cfg_new_defaults("/srv/mail");
	struct buf path = BUF_INIT;

	proto_socket_path(cfg, "qmgr", false, &path);
	assert_string_equal(buf_cstr(&path), "/srv/mail/queue/private/qmgr");
	proto_socket_path(cfg, "pickup", true, &path);
	assert_string_equal(buf_cstr(&path), "/srv/mail/queue/public/pickup");
	buf_deinit(&path);
	cfg_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offsets_round_trip),
		cmocka_unit_test(test_offsets_malformed),
		cmocka_unit_test(test_socket_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
