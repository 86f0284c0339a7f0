"""webims.ims.alarm: a deadline that can move while a task sleeps towards it."""

import math

import trio

from webims.ims.alarm import Alarm


async def test_it_rings_at_its_time_even_when_moved_sooner_or_later_meanwhile(autojump_clock):
    alarm, rang = Alarm(trio.current_time() + 10), []

    async def sleeper():
        await alarm.ring()
        rang.append(trio.current_time())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(sleeper)
        await trio.sleep(1)
        alarm.set(trio.current_time() + 20)   # later: 21 s from the start
        await trio.sleep(1)
        alarm.set(trio.current_time() + 3)    # sooner again: 5 s from the start
    assert rang == [5.0]


async def test_never_until_set(autojump_clock):
    alarm = Alarm()
    assert alarm.due == math.inf
    with trio.move_on_after(1000) as scope:
        await alarm.ring()
    assert scope.cancelled_caught
