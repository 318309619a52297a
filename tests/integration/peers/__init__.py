"""peers - reusable test peers for integration tests: a DNS server on
loopback (dns.py, python3-dnslib) and SMTP sinks (sink.py, python3-aiosmtpd).
"""
