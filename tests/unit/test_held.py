"""A sweeper's held rows: tried again at the sweep's end while a try does something (issue #24)."""

from __future__ import annotations

from engine.time.sweepers import Held


def test_the_held_rows_are_tried_again_at_the_end_while_a_try_does_something() -> None:
    """The sweeper that held their records may have ended while this one passed them over;
    each try must fire something for another to follow, so the sweep ends."""
    held = Held()
    assert not held.try_again(done=0)  # nothing held: the sweep ends
    held.ids.update([1, 2])
    assert held.try_again(done=5) and held.ids == set()
    held.ids.add(2)
    assert held.try_again(done=6)  # the last try fired one: again
    held.ids.add(2)
    assert not held.try_again(done=6)  # nothing since: the sweep ends
