"""
conftest.py - pytest fixtures for tern's integration tests.

Fixtures:
  port_base      a free port base (base + every service/echod offset free)
  new_instance   an Instance object for a directory not yet initialised
  instance       `tern init DIR --port-base N --hostname mx.example.test
                 --domain example.test` done, inet_interfaces = 127.0.0.1;
                 the test starts it (instance.start()) when it needs to
  running        instance + an echod service on base+7, started
Binaries come from $TERN_BUILD (default build/asan under the repository).

Touches:  a fresh directory under /tmp per test (mode 0755 so the mail owner
          can traverse it when the tests run as root), removed when the test
          passed and kept (path printed) when it failed; 127.0.0.1 ports.
Security: on teardown stops only the masters this harness started (tern
          stop, then SIGKILL of recorded pids still running our binaries).
Errors:   when a test fails, its report gets the instance's log/maillog
          appended (pytest_runtest_makereport records each phase's outcome).
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import helpers  # noqa: E402

os.environ.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0")
os.environ.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
# Keep daemons' stderr copies off; the maillog is what the tests read.
os.environ.pop("TERN_LOG_STDERR", None)
os.environ.pop("TERN_CONFIG_DIR", None)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Record each phase's report on the item (item.rep_setup/call/...),
    so fixtures know at teardown whether the test failed."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _failed(node):
    return any(getattr(getattr(node, "rep_" + w, None), "failed", False)
               for w in ("setup", "call"))


@pytest.fixture
def port_base():
    return helpers.find_port_base()


@pytest.fixture
def tmp_instance_root(request):
    """A /tmp directory readable by the mail owner; kept if the test fails."""
    root = Path(tempfile.mkdtemp(prefix="tern-itest-", dir="/tmp"))
    os.chmod(root, 0o755)
    yield root
    if _failed(request.node):
        sys.stderr.write(f"\n[itest] kept instance directory {root}\n")
    else:
        shutil.rmtree(root, ignore_errors=True)


def _attach_maillog(request, inst):
    """Append the maillog to the failed phase's report: pytest prints it
    with the failure in its summary."""
    text = inst.maillog() or "(maillog empty or missing)\n"
    title = f"maillog of {inst.dir}"
    for when in ("call", "setup"):
        rep = getattr(request.node, "rep_" + when, None)
        if rep is not None and rep.failed:
            rep.sections.append((title, text))
            return
    sys.stderr.write(f"\n===== {title} =====\n{text}===== end of maillog =====\n")


@pytest.fixture
def new_instance(tmp_instance_root, port_base, request):
    inst = helpers.Instance(tmp_instance_root / "inst", port_base)
    yield inst
    inst.cleanup()
    if _failed(request.node):
        _attach_maillog(request, inst)


@pytest.fixture
def instance(new_instance):
    res = new_instance.init()
    helpers.check(res, "tern init")
    new_instance.set_param("inet_interfaces", "127.0.0.1")
    return new_instance


@pytest.fixture
def running(instance):
    """An instance with echod on base+7 (maxproc 2), started."""
    instance.add_echod(7, maxproc=2)
    instance.start()
    helpers.wait_for(lambda: helpers.echo_ready(instance.port(7)), 15,
                     what="echod greeting")
    return instance
