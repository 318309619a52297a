/* fuzz_dnsrdata.c - MX, TLSA and PTR rdata decoding (answers from the
 * network); byte 0 picks the record type.  A decoded PTR name that passes
 * dns_hostname_ok must be non-empty. */
#include "fuzz.h"
#include "buf.h"
#include "dns.h"

FUZZ(data, size)
{
	struct buf name = BUF_INIT;
	struct dns_tlsa rec = { 0 };
	unsigned int pref;

	if (size == 0)
		return 0;
	if (data[0] % 3 == 2) {
		if (dns_rdata_ptr(data + 1, size - 1, &name) == 0 &&
		    dns_hostname_ok(buf_cstr(&name)) && name.len == 0)
			abort();
	} else if (data[0] % 3 == 1) {
		if (dns_rdata_tlsa(data + 1, size - 1, &rec) == 0)
			free(rec.data);
	} else if (dns_rdata_mx(data + 1, size - 1, &pref, &name) == 0 && pref > 65535) {
		abort();
	}
	buf_deinit(&name);
	return 0;
}
