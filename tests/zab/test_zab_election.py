"""Fast Leader Election on its own: the most up-to-date peer of a quorum wins."""

from zablab.node.zab.election import Election, Vote
from zablab.node.zab.messages import FOLLOWING, LEADING, LOOKING, Notification


def elect(states, ignore_zxid=False):
    """Run FLE among peers {id: (epoch, zxid)} with instant delivery; returns decisions."""
    ids = sorted(states)
    els = {
        i: Election(
            i,
            ids,
            1,
            Vote(i, states[i][1], states[i][0]),
            finalize_wait_ms=10,
            max_notify_interval_ms=100,
            ignore_zxid=ignore_zxid,
        )
        for i in ids
    }
    queue = [(i, to, n) for i in ids for to, n in els[i].start(0)]
    decided: dict[int, Vote] = {}
    now = 0
    while len(decided) < len(ids) and now < 1000:
        while queue:
            frm, to, n = queue.pop(0)
            if to in decided:
                continue
            sends, d = els[to].on_notification(now, frm, n)
            queue += [(to, t, x) for t, x in sends]
            if d:
                decided[to] = d
        now += 5
        for i in ids:
            if i not in decided:
                sends, d = els[i].on_timer(now)
                queue += [(i, t, x) for t, x in sends]
                if d:
                    decided[i] = d
    return decided


def test_highest_epoch_then_zxid_then_id_wins():
    assert {v.leader for v in elect({1: (1, 9), 2: (2, 3), 3: (1, 12)}).values()} == {2}
    assert {v.leader for v in elect({1: (2, 9), 2: (2, 3), 3: (2, 7)}).values()} == {1}
    assert {v.leader for v in elect({1: (2, 5), 2: (2, 5), 3: (2, 5)}).values()} == {3}


def test_seeded_bug_ignores_the_zxid():
    decided = elect({1: (2, 9), 2: (2, 3), 3: (2, 7)}, ignore_zxid=True)
    assert {v.leader for v in decided.values()} == {3}


def test_latecomer_joins_a_confirmed_leader_only():
    el = Election(3, [1, 2, 3], 1, Vote(3, 0, 0), finalize_wait_ms=10, max_notify_interval_ms=100)
    el.start(0)
    v = Vote(1, 0x100000000, 1)
    # A follower alone does not make node 1 leader: the leader itself must say LEADING.
    assert el.on_notification(1, 2, Notification(1, v.zxid, 1, 4, FOLLOWING))[1] is None
    sends, decided = el.on_notification(2, 1, Notification(1, v.zxid, 1, 4, LEADING))
    assert decided == v and el.round == 4


def test_older_round_gets_our_vote_back():
    el = Election(1, [1, 2, 3], 5, Vote(1, 7, 1), finalize_wait_ms=10, max_notify_interval_ms=100)
    el.start(0)
    sends, decided = el.on_notification(1, 2, Notification(2, 3, 1, 2, LOOKING))
    assert decided is None and sends == [(2, Notification(1, 7, 1, 5, LOOKING))]
