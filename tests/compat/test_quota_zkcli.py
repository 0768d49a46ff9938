"""zkCli's setquota, listquota and delquota give the same transcript on zablab as on Apache
ZooKeeper (both with enforceQuota=true), hard limits refusing the same writes.

The transcripts are compared live rather than recorded, with times and zxids masked as in
test_zkcli.py; zookeeper_stats is read back raw so the usage bookkeeping is compared too.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from test_zkcli import normalise, run_cli

from zablab.apache import LocalZooKeeper
from zablab.node.launcher import launch_node

pytestmark = pytest.mark.zookeeper

SCRIPT = """\
create /Q
create /Q/a 12345
setquota -n 3 /Q
setquota -b 20 /Q
setquota -n 3 -b 20 /Q
listquota /Q
create /Q/b x
create /Q/c yy
listquota /Q
set /Q/a 0123456789012345678901234
get /zookeeper/quota/Q/zookeeper_stats
get /zookeeper/quota/Q/zookeeper_limits
delquota -n /Q
listquota /Q
setquota -N 5 /Q
listquota /Q
create /Q/d z
create /Q/e z
create /Q/d/deeper z
delete /Q/d
listquota /Q
delquota /Q
listquota /Q
ls /zookeeper/quota
setquota -B 8 /Q/a
set /Q/a 123456789
set /Q/a 1234
listquota /Q/a
setquota -n 2 /Q/a/nope
setquota -n 0 /Q
setquota -n 2 /zookeeper/quota/x
delquota /Q/a
deleteall /Q
ls /zookeeper/quota
"""


def transcript(hosts: str) -> str:
    return normalise(run_cli(hosts, SCRIPT), "/nothing-to-mask")


def test_quota_commands_match_zookeeper(zookeeper_installed):
    zk = LocalZooKeeper(extra={"enforceQuota": "true"}, force_sync=False)
    try:
        zk.start()
        theirs = transcript(zk.hosts)
    finally:
        zk.close()
    base = tempfile.mkdtemp(prefix="zablab-quota-")
    node = launch_node(os.path.join(base, "data"), fsync=False, zoo_cfg="enforceQuota=true")
    try:
        ours = transcript(node.address)
        log = open(node.log_path, encoding="utf-8").read()
    finally:
        node.stop()
        shutil.rmtree(base, ignore_errors=True)
    assert ours == theirs
    # the hard limits refused something on both sides, and the soft ones were logged
    assert "Quota has exceeded" in theirs or "QuotaExceeded" in theirs, theirs
    assert "Quota exceeded: /Q [current count=4, softCountLimit=3]" in log
