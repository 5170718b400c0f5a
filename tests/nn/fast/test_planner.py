"""The planner: it runs the plan the clock says is fastest, times the others again now and then,
and starts over when the chosen plan turns slow. Driven by given step times, never by a clock."""

from __future__ import annotations

import pytest

from nnctl.nn.fast import planner as P
from nnctl.nn.fast.planner import ALL, NONE, UPDATE, Planner

PLANS = (NONE, UPDATE, ALL)
COSTS = {NONE: 1500, UPDATE: 1200, ALL: 1000}


def drive(planner: Planner, costs: dict[int, int], steps: int, kind: object = 128) -> list[int]:
    """Run ``steps`` steps whose time is ``costs[plan]``; the plans used, in order."""
    used = []
    for _ in range(steps):
        plan = planner.plan(kind, PLANS)
        planner.record(kind, plan, costs[plan])
        used.append(plan)
    return used


@pytest.mark.parametrize("fastest", PLANS)
def test_the_fastest_plan_is_chosen_after_the_first_round(fastest):
    costs = {plan: 1000 if plan == fastest else 1300 for plan in PLANS}
    planner = Planner()
    # a step to warm up, then two blocks of each (C B A A B C), and a step after each change
    first_round = 1 + 2 * len(PLANS) * P.BLOCK + 2 * (len(PLANS) - 1)
    used = drive(planner, costs, first_round)
    assert used[0] == ALL  # the first round starts with the most work on the helper
    assert sorted(set(used)) == sorted(PLANS)
    assert planner.chosen(128) == fastest
    assert set(drive(planner, costs, P.FIRST_INTERVAL)) == {fastest}


def test_the_others_are_timed_again_less_often_while_the_choice_holds():
    costs = {NONE: 1500, UPDATE: 1200, ALL: 1000}
    planner = Planner()
    steps = 200_000
    used = drive(planner, costs, steps)
    others = sum(plan != ALL for plan in used)
    # the first round, then rounds FIRST_INTERVAL, 2x, 4x ... MAX_INTERVAL steps apart
    assert others < 4 * P.BLOCK * (steps // P.MAX_INTERVAL + 12)
    assert others / steps < 0.01
    late = used[-2 * P.MAX_INTERVAL :]
    # still timed, rarely: at most two rounds, each a block of the two others and a step after
    # each change of plan
    assert 0 < sum(plan != ALL for plan in late) <= 2 * 2 * (P.BLOCK + 1)


def test_a_plan_that_turns_slow_is_left_within_a_few_blocks():
    planner = Planner()
    drive(planner, {NONE: 1500, UPDATE: 1200, ALL: 1000}, 5000)
    assert planner.chosen(128) == ALL
    busy = {NONE: 1500, UPDATE: 1200, ALL: 3000}  # e.g. the other core is taken by a process
    # a block begun, SLOW_BLOCKS slow blocks, then a round: a block of each, a step per change
    used = drive(planner, busy, (1 + P.SLOW_BLOCKS + len(PLANS)) * P.BLOCK + len(PLANS) + 1)
    assert planner.chosen(128) == UPDATE
    assert used[-1] == UPDATE


def test_a_slower_plan_that_becomes_faster_is_found_again():
    planner = Planner()
    drive(planner, {NONE: 1000, UPDATE: 1200, ALL: 1500}, 3000)
    assert planner.chosen(128) == NONE
    used = drive(planner, {NONE: 1000, UPDATE: 1200, ALL: 600}, 3 * P.MAX_INTERVAL)
    assert planner.chosen(128) == ALL
    assert used.count(ALL) > used.count(NONE)


def test_one_slow_block_of_the_chosen_plan_does_not_start_a_round():
    planner = Planner()
    costs = {NONE: 1500, UPDATE: 1200, ALL: 1000}
    drive(planner, costs, 5000)
    choice = planner._choices[128]
    while choice.block or choice.order:  # to the start of a block on the chosen plan
        drive(planner, costs, 1)
    rounds = choice.rounds
    drive(planner, {**costs, ALL: 3000}, P.BLOCK)  # one block in a slow spell
    used = drive(planner, costs, 3 * P.BLOCK)
    assert set(used) == {ALL} and choice.rounds == rounds


def test_the_first_step_after_a_change_of_plan_is_not_timed():
    """It runs with the other plan's caches (seen: 3.6 ms, then 1.9, 1.6, 1.4 ms): not counted."""
    planner = Planner()
    plans = []
    for i in range(P.BLOCK + 2):  # a step to warm up, a block of ALL, a step of UPDATE
        plans.append(planner.plan(128, PLANS))
        planner.record(128, plans[-1], 1000 + i)
    assert plans[0] == plans[P.BLOCK] == ALL and plans[P.BLOCK + 1] == UPDATE  # a change
    assert planner._choices[128].block == []  # its first step was not put in a block
    plan = planner.plan(128, PLANS)
    planner.record(128, plan, 2000)
    assert plan == UPDATE and planner._choices[128].block == [2000]


def test_a_slow_step_in_every_few_counts_against_its_plan():
    """A block's time is its mean step: a plan fast in most steps but slow in one of every few
    (the worker descheduled in a job beside a busy process) costs what all its steps cost, and
    loses to a steadier plan whose mean is lower, though its median is higher."""
    planner = Planner()
    costs = {NONE: 1500, UPDATE: 1200, ALL: 1000}
    for i in range(5000):
        plan = planner.plan(128, PLANS)
        slow = plan == ALL and i % 4 == 0  # median 1000, mean about 1000 + 5000 / 4
        planner.record(128, plan, 6000 if slow else costs[plan])
    assert planner.chosen(128) == UPDATE


def test_a_slow_step_in_every_block_of_every_plan_does_not_move_the_choice():
    planner = Planner()
    costs = {NONE: 1500, UPDATE: 1200, ALL: 1000}
    for i in range(5000):
        plan = planner.plan(128, PLANS)
        planner.record(128, plan, 50_000 if i % P.BLOCK == 3 else costs[plan])
    assert planner.chosen(128) == ALL


def test_kinds_of_step_are_planned_apart_and_the_first_step_of_each_is_not_timed():
    planner = Planner()
    drive(planner, {NONE: 1000, UPDATE: 2000, ALL: 2000}, 1000, kind=(32, False))
    drive(planner, {NONE: 2000, UPDATE: 2000, ALL: 1000}, 1000, kind=(512, True))
    assert planner.chosen((32, False)) == NONE
    assert planner.chosen((512, True)) == ALL
    fresh = Planner()
    fresh.plan(7, PLANS)
    fresh.record(7, ALL, 10**12)  # the first step makes the buffers: a huge time, not counted
    drive(fresh, {NONE: 1500, UPDATE: 1200, ALL: 1000}, 2 * len(PLANS) * (P.BLOCK + 1), kind=7)
    assert fresh.chosen(7) == ALL


def test_a_fixed_plan_is_used_where_the_step_has_those_sites():
    planner = Planner(fixed=ALL)
    assert planner.plan(1, (NONE, UPDATE, ALL)) == ALL
    assert planner.plan(2, (NONE, UPDATE)) == UPDATE
    planner.fixed = NONE
    assert planner.plan(1, (NONE, UPDATE, ALL)) == NONE
    assert planner.chosen(1) is None  # nothing was planned by the clock


def test_the_helper_is_taken_up_again_within_a_round_after_a_busy_spell():
    """Older times of a plan that is timed again much faster are forgotten (a spell only slows)."""
    calm = {NONE: 1000, UPDATE: 900, ALL: 800}
    planner = Planner()
    drive(planner, calm, 40_000, kind=1)
    drive(planner, {NONE: 1000, UPDATE: 1620, ALL: 1440}, 6000, kind=1)
    assert planner.chosen(1) == NONE
    drive(planner, calm, P.MAX_INTERVAL + 100, kind=1)
    assert planner.chosen(1) == ALL


def test_a_slow_block_before_a_round_and_one_after_it_are_not_two_in_a_row():
    planner = Planner()
    drive(planner, COSTS, 40)
    choice = planner._choices[128]
    while not (choice.steps_left <= P.BLOCK and not choice.block and not choice.skip):
        drive(planner, COSTS, 1)
    drive(planner, {**COSTS, ALL: 3000}, P.BLOCK)  # the last block before a round: slow
    while choice.order:
        drive(planner, COSTS, 1)  # the round
    rounds = choice.rounds
    drive(planner, {**COSTS, ALL: 3000}, 1 + P.BLOCK)  # one slow block after it
    assert choice.order == [] and choice.rounds == rounds


def test_one_block_in_a_spell_in_the_first_round_does_not_pick_a_slower_plan():
    planner = Planner()
    for i in range(1 + 2 * len(PLANS) * P.BLOCK + 2 * (len(PLANS) - 1)):
        plan = planner.plan(1, PLANS)
        planner.record(1, plan, 3000 if plan == ALL and 1 <= i <= P.BLOCK else COSTS[plan])
    assert planner.chosen(1) == ALL


def test_steps_run_on_a_fixed_plan_are_not_mixed_into_a_block():
    planner = Planner()
    drive(planner, COSTS, 3)  # a block half made
    planner.fixed = ALL
    drive(planner, {plan: 10**9 for plan in PLANS}, 20)  # not timed
    planner.fixed = None
    choice = planner._choices[128]
    assert choice.block == [] and choice.skip == 1
    drive(planner, COSTS, 2000)
    assert planner.chosen(128) == ALL


def test_only_the_latest_kinds_of_step_are_kept():
    planner = Planner()
    for kind in range(P.MAX_KINDS + 3):
        drive(planner, COSTS, 50, kind=kind)
    assert len(planner._choices) == P.MAX_KINDS
    assert planner.chosen(0) is None and planner.chosen(P.MAX_KINDS + 2) == ALL


def test_a_choice_changed_in_a_short_spell_is_checked_soon_and_undone():
    """A round timed in a spell (the chosen plan slow in every block of it) may pick a slower
    plan; the next round comes after CONFIRM_INTERVAL steps, not FIRST_INTERVAL."""
    planner = Planner()
    drive(planner, COSTS, 5000)
    choice = planner._choices[128]
    assert choice.best == ALL
    spell = {**COSTS, ALL: 3000}
    for _ in range(10 * P.FIRST_INTERVAL):  # slow blocks in a row start a round, in the spell
        if choice.best != ALL:
            break
        drive(planner, spell, 1)
    assert choice.best == UPDATE and not choice.order
    rounds, used = choice.rounds, []
    while choice.rounds == rounds and len(used) < 10 * P.FIRST_INTERVAL:  # the spell is over
        used += drive(planner, COSTS, 1)
    assert planner.chosen(128) == ALL
    # the blocks of CONFIRM_INTERVAL steps (a step more where a block began), then the round
    assert len(used) <= P.CONFIRM_INTERVAL + P.BLOCK + len(PLANS) * (P.BLOCK + 1)
    assert used[: P.CONFIRM_INTERVAL].count(UPDATE) == P.CONFIRM_INTERVAL
    assert choice.interval == P.CONFIRM_INTERVAL  # changed back: checked soon again
    for _ in range(10 * P.FIRST_INTERVAL):
        if choice.rounds != rounds + 1:
            break
        drive(planner, COSTS, 1)
    assert planner.chosen(128) == ALL and choice.interval == P.FIRST_INTERVAL  # it holds
