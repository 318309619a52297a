/* fuzz_sasl.c - byte 0: mechanism, initial response or not, split; the rest: two steps. */
#include "fuzz.h"
#include "buf.h"
#include "err.h"
#include "sasl.h"
static enum sasl_result pw(void *c, const char *u, const char *p, struct buf *r, struct err *e) { return SASL_FAIL; }
static enum sasl_result sc(void *c, const char *u, struct sasl_scram_secret *s, struct buf *r, struct err *e) { return SASL_FAIL; }
FUZZ(data, size)
{
	static const struct sasl_backend be = { pw, sc, NULL };
	struct buf a = BUF_INIT, b = BUF_INIT, ch = BUF_INIT;
	struct err err;
	size_t cut = size > 1 ? 1 + (data[0] >> 3) % (size - 1) : size, skip = size > 0, ir = skip && !(data[0] & 4);
	struct sasl_server *s = sasl_server_new((const char *[]){ "PLAIN", "LOGIN", "SCRAM-SHA-256" }[skip ? data[0] % 3 : 0], &be, &err);
	sasl_base64_encode(data + skip, cut - skip, &a), sasl_base64_encode(data + cut, size - cut, &b);
	if (sasl_server_start(s, ir ? buf_cstr(&a) : NULL, &ch, &err) == SASL_CONTINUE)
		(void)sasl_server_step(s, ir ? buf_cstr(&b) : buf_cstr(&a), &ch, &err);
	(void)!sasl_scram_secret_parse(buf_cstr(&b), &(struct sasl_scram_secret){ 0 }, &err);
	return sasl_server_free(&s), buf_deinit(&a), buf_deinit(&b), buf_deinit(&ch), 0;
}
