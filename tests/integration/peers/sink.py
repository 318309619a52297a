"""
sink.py - SMTP sinks for integration tests (python3-aiosmtpd): they
accept (or refuse, as scripted) and record every message and session.

    sink = Sink("127.0.0.2", port)           # started
    sink = Sink(host, port, eightbit=False, smtputf8=False, pipelining=True,
                tls_cert=(cert, key), rcpt_reply={"bad@x": "550 5.1.1 no"},
                temp_fail_rcpt=2,            # first 2 RCPTs answer 451
                auth=("user", "pw"), auth_mechs=("LOGIN",))  # AUTH offered
    sink.logins                              # [(mechanism, user, ok)]
    sink.wait(1)                             # messages (list of Received)
    sink.sessions                            # connections accepted
    sink.stop()

A Received has mail_from, rcpt_tos, data (bytes, CRLF turned into LF),
tls (whether STARTTLS was in effect), mail_options, rcpt_options and
dsn_params (RET/ENVID/NOTIFY/ORCPT as sent, when the sink offers DSN).
Touches:  one TCP listener on the given loopback address.
Security: test-only.
"""

import asyncio
import ssl
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class Received:
    def __init__(self, envelope, session, dsn_params=()):
        self.mail_from = envelope.mail_from
        self.rcpt_tos = list(envelope.rcpt_tos)
        self.mail_options = list(envelope.mail_options)
        self.rcpt_options = list(envelope.rcpt_options)
        raw = envelope.original_content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        self.data = raw.replace(b"\r\n", b"\n")
        self.tls = session.ssl is not None
        self.dsn_params = list(dsn_params)


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        out = []
        for r in responses:
            if r == "250-8BITMIME" and not self.sink.eightbit:
                continue
            out.append(r)
        extra = []
        if self.sink.pipelining:
            extra.append("250-PIPELINING")
        if self.sink.dsn:
            extra.append("250-DSN")
        return out[:1] + extra + out[1:]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        s = self.sink
        with s.lock:
            s.rcpt_count += 1
            if s.temp_fail_rcpt > 0:
                s.temp_fail_rcpt -= 1
                return "451 4.3.0 try again later"
        reply = s.rcpt_reply.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        s = self.sink
        if s.data_reply is not None:
            return s.data_reply
        with s.lock:
            s.messages.append(Received(envelope, session, server.dsn_params))
            server.dsn_params = []
            n = len(s.messages)
        return f"250 2.0.0 Ok: queued as SINK{n}"


class _SMTP(SMTP):
    def __init__(self, sink, *args, **kw):
        self._sink = sink
        self.dsn_params = []
        super().__init__(*args, **kw)

    async def smtp_MAIL(self, arg):
        await super().smtp_MAIL(self._take_dsn(arg, ("RET=", "ENVID=")))

    async def smtp_RCPT(self, arg):
        await super().smtp_RCPT(self._take_dsn(arg, ("NOTIFY=", "ORCPT=")))

    def _take_dsn(self, arg, names):
        """aiosmtpd knows no DSN parameters: keep them aside (in
        self.dsn_params, as sent) when the sink offers DSN."""
        if not self._sink.dsn or not arg:
            return arg
        words = arg.split(" ")
        keep = [w for w in words if not w.upper().startswith(names)]
        self.dsn_params.extend(w for w in words if w.upper().startswith(names))
        return " ".join(keep)

    def connection_made(self, transport):
        with self._sink.lock:
            self._sink.sessions += 1
        super().connection_made(transport)


class _Controller(Controller):
    def __init__(self, sink, handler, **kw):
        self._sink = sink
        super().__init__(handler, **kw)

    def factory(self):
        return _SMTP(self._sink, self.handler, **self.SMTP_kwargs)


class Sink:
    def __init__(self, host, port, eightbit=True, smtputf8=True, pipelining=False, dsn=False,
                 tls_cert=None, rcpt_reply=None, temp_fail_rcpt=0, data_reply=None,
                 size_limit=None, auth=None, auth_mechs=("PLAIN", "LOGIN")):
        self.host, self.port = host, port
        self.eightbit, self.pipelining, self.dsn = eightbit, pipelining, dsn
        self.rcpt_reply = {k.lower(): v for k, v in (rcpt_reply or {}).items()}
        self.temp_fail_rcpt = temp_fail_rcpt
        self.data_reply = data_reply
        self.lock = threading.Lock()
        self.messages = []
        self.sessions = 0
        self.rcpt_count = 0
        self.logins = []
        kw = {"enable_SMTPUTF8": smtputf8, "decode_data": False,
              "data_size_limit": size_limit or 0}
        if auth is not None:
            kw["authenticator"] = self._authenticator(*auth)
            kw["auth_require_tls"] = False
            kw["auth_exclude_mechanism"] = [m for m in ("PLAIN", "LOGIN")
                                            if m not in auth_mechs]
        if tls_cert is not None:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(*tls_cert)
            kw["tls_context"] = ctx
            kw["require_starttls"] = False
        self.controller = _Controller(self, _Handler(self), hostname=host, port=port,
                                      server_hostname=f"sink-{host}", ready_timeout=10,
                                      **kw)
        self.controller.start()
        with self.lock:
            self.sessions = 0  # the controller's own readiness probe

    def _authenticator(self, user, password):
        from aiosmtpd.smtp import AuthResult

        def check(server, session, envelope, mechanism, data):
            login = data.login.decode(errors="replace")
            ok = login == user and data.password.decode(errors="replace") == password
            with self.lock:
                self.logins.append((mechanism, login, ok))
            return AuthResult(success=ok)
        return check

    def wait(self, count=1, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"sink {self.host}:{self.port}: {len(self.messages)} of "
                             f"{count} message(s) after {timeout}s")

    def stop(self):
        try:
            self.controller.stop()
        except (RuntimeError, AssertionError, asyncio.CancelledError):
            pass
