"""RedisRoomStore against a real redis-server: the cap check with the id is atomic under
concurrent joins, the keys' TTL follows the room's idle/grace rules, a removed student is not
brought back by a late summary, and a room's records go with it."""
from __future__ import annotations

import asyncio

import pytest

from server.room_redis import TTL_SLACK, RedisHub, RedisRoomStore, aclose
from server.room_store import RoomRecord
from tests.fresh_loop import run_fresh
from tests.redis_server import start_redis, stop_redis

IDLE, GRACE = 100.0, 20.0


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    process, port = start_redis(tmp_path_factory.mktemp("redis"))
    yield f"redis://127.0.0.1:{port}/0"
    stop_redis(process)


def run(url, scenario):
    async def main():
        hub = RedisHub(url)
        try:
            return await scenario(RedisRoomStore(hub, IDLE, GRACE), hub.client)
        finally:
            await aclose(hub.client)
    return run_fresh(main())


def test_cap_and_ids_are_atomic_across_concurrent_joins(url):
    async def scenario(store, client):
        assert await store.create_room(RoomRecord("CAPCAP", "d"))
        assert not await store.create_room(RoomRecord("CAPCAP", "other"))  # the code is taken
        joined = await asyncio.gather(*[store.add_student("CAPCAP", f"s{i}", 5) for i in range(30)])
        ids = sorted(s.student_id for s in joined if s is not None)
        assert ids == [1, 2, 3, 4, 5]
        await store.remove_student("CAPCAP", 2)
        again = await store.add_student("CAPCAP", None, 5)
        assert again.student_id == 6 and again.name is None and again.mode == "follow"
        assert [s.student_id for s in await store.students("CAPCAP")] == [1, 3, 4, 5, 6]
        assert await store.add_student("NOROOM", "x", 5) is None
    run(url, scenario)


def test_ttl_follows_the_idle_and_grace_rules(url):
    async def scenario(store, client):
        await store.create_room(RoomRecord("TTLTTL", "d"))
        await store.add_student("TTLTTL", "a", 5)
        keys = ["nnp:room:TTLTTL", "nnp:room:TTLTTL:students"]
        for key in keys:  # no teacher yet: the grace time
            assert GRACE + TTL_SLACK - 2 <= await client.ttl(key) <= GRACE + TTL_SLACK
        await store.update_room("TTLTTL", teacher_connected=True, last_activity=1.0)
        for key in keys:  # the teacher is there: the idle time
            assert IDLE + TTL_SLACK - 2 <= await client.ttl(key) <= IDLE + TTL_SLACK
        await store.update_room("TTLTTL", teacher_connected=False, teacher_left=2.0)
        assert await client.ttl(keys[0]) <= GRACE + TTL_SLACK
        record = await store.get_room("TTLTTL")
        assert (record.teacher_connected, record.teacher_left, record.last_activity) == (False, 2.0, 1.0)
        await store.delete_room("TTLTTL")
        assert await store.get_room("TTLTTL") is None and not await client.exists(*keys)
        await store.update_room("TTLTTL", mode="own")  # a late write does not bring it back
        assert await store.get_room("TTLTTL") is None
    run(url, scenario)


def test_a_late_summary_does_not_bring_a_student_back(url):
    async def scenario(store, client):
        await store.create_room(RoomRecord("SUMSUM", "d"))
        student = await store.add_student("SUMSUM", "<i>x</i>", 5)
        await store.update_student("SUMSUM", student.student_id, status="running", iteration=7,
                                   train={"cost": 0.25, "accuracy": None}, dev=None)
        (entry,) = [s.roster_entry() for s in await store.students("SUMSUM")]
        assert entry == {"student_id": student.student_id, "name": "<i>x</i>", "mode": "follow", "status": "running",
                         "iteration": 7, "train": {"cost": 0.25, "accuracy": None}, "dev": None}
        await store.remove_student("SUMSUM", student.student_id)
        await store.update_student("SUMSUM", student.student_id, iteration=8)
        assert await store.students("SUMSUM") == []
    run(url, scenario)


def test_the_redis_option():
    from server.__main__ import parse_args
    assert parse_args([]).redis_url is None  # one process by default: rooms in memory
    assert parse_args(["--redis", "redis://10.0.0.5:6379/0"]).redis_url == "redis://10.0.0.5:6379/0"
    with pytest.raises(SystemExit):
        parse_args(["--redis", "10.0.0.5:6379"])
