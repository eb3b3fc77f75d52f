"""The session step combinator, driven without an event loop by ``run_sequence``."""

from __future__ import annotations

import json
from typing import Any

import pytest

import tower_llm_fx as fx
import tower_llm_fx.sessions
from tower_llm_fx.testing import run_sequence


@fx.tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b


AGENT = fx.Agent(model="m", tools=(add,))
SID = "chat"


def call(id: str) -> fx.ToolCallRequest:
    return fx.ToolCallRequest(id=id, name="add", arguments='{"a": 1, "b": 2}')


def reply(message: fx.AssistantMessage, tokens: int = 0) -> fx.ModelReply:
    return fx.ModelReply(message=message, usage=fx.Usage(prompt_tokens=tokens))


def load(*records: fx.sessions.Record) -> tuple[fx.sessions.LoadSession, fx.sessions.SessionLog]:
    return fx.sessions.LoadSession(session_id=SID), fx.sessions.SessionLog(session_id=SID, records=records)


def save(after: int, *records: fx.sessions.Record) -> tuple[fx.sessions.SaveSession, fx.sessions.Saved]:
    return (
        fx.sessions.SaveSession(session_id=SID, after_seq=after, records=records),
        fx.sessions.Saved(session_id=SID, last_seq=after + len(records)),
    )


def play(
    session: fx.sessions.SessionStep, input: Any, expected: list[tuple[fx.Effect[Any], object]]
) -> fx.sessions.SessionState:
    return run_sequence(
        session, session.start(input), expected, advance=session.advance, finish=session.finish
    )


def test_a_tool_step_is_saved_once_complete_with_its_input() -> None:
    s = fx.sessions.with_session(AGENT.step, SID)
    tool_turn = fx.assistant(None, call("c1"))
    result = fx.ToolResult.success(call_id="c1", name="add", content="3")
    history = (fx.user("earlier"), fx.assistant("ok"))
    convo = (*history, fx.user("1+2?"))
    final = play(
        s,
        "1+2?",
        [
            load(*history),
            (AGENT.model_call(convo), reply(tool_turn)),
            (fx.ToolCall(id="c1", name="add", arguments=call("c1").arguments, agent="assistant"), result),
            save(2, fx.user("1+2?"), tool_turn, result.to_message()),
            (AGENT.model_call((*convo, tool_turn, result.to_message())), reply(fx.assistant("3"))),
            save(5, fx.assistant("3")),
        ],
    )
    assert final.run.output == "3"
    assert final.run.stop is not None and final.run.stop.kind == "no_tool_calls"
    assert (final.saved, final.last_seq, final.seq_runs) == (6, 6, ((1, 6),))
    assert final.unsaved == ()


def test_parallel_tool_calls_are_saved_together_with_their_results() -> None:
    agent = fx.Agent(model="m", tools=(add,), parallel_tools=True)
    s = fx.sessions.with_session(agent.step, SID)
    turn = fx.assistant(None, call("a"), call("b"))
    results = tuple(fx.ToolResult.success(call_id=i, name="add", content="3") for i in "ab")
    final = play(
        s,
        "go",
        [
            load(),
            (agent.model_call((fx.user("go"),)), reply(turn)),
            (
                fx.Parallel(
                    calls=tuple(
                        fx.ToolCall(id=i, name="add", arguments=call(i).arguments, agent="assistant")
                        for i in "ab"
                    ),
                    agent="assistant",
                ),
                results,
            ),
            save(0, fx.user("go"), turn, *(r.to_message() for r in results)),
            (
                agent.model_call((fx.user("go"), turn, *(r.to_message() for r in results))),
                reply(fx.assistant("6")),
            ),
            save(4, fx.assistant("6")),
        ],
    )
    assert final.last_seq == 5


def test_leftover_input_is_saved_before_done() -> None:
    def stop_at_once(state: fx.RunState) -> fx.Effect[Any] | fx.Done:
        return fx.Done(reason=fx.StopReason(kind="custom"))

    s = fx.sessions.with_session(stop_at_once, SID)
    final = play(s, "remember this", [load(fx.user("old")), save(1, fx.user("remember this"))])
    assert final.run.stop == fx.StopReason(kind="custom")
    assert final.saved == 2


def test_resuming_with_no_input_continues_the_stored_conversation() -> None:
    s = fx.sessions.with_session(AGENT.step, SID)
    stored = (fx.user("q"), fx.assistant(None, call("c1")), fx.ToolMessage(tool_call_id="c1", content="3"))
    final = play(
        s,
        (),
        [load(*stored), (AGENT.model_call(stored), reply(fx.assistant("3"))), save(3, fx.assistant("3"))],
    )
    assert final.run.messages == (*stored, fx.assistant("3"))


def test_wrong_store_answers_are_interpreter_errors() -> None:
    s = fx.sessions.with_session(AGENT.step, SID)
    state = s.start("hi")
    with pytest.raises(fx.WrongResultType, match="that session's SessionLog"):
        s.advance(state, fx.sessions.LoadSession(session_id=SID), fx.sessions.SessionLog(session_id="other"))
    loaded = s.advance(state, *load())
    effect = fx.sessions.SaveSession(session_id=SID, after_seq=0, records=(fx.user("hi"),))
    with pytest.raises(fx.WrongResultType, match="last_seq=1"):
        s.advance(loaded, effect, fx.sessions.Saved(session_id=SID, last_seq=7))


HISTORY: tuple[fx.Message, ...] = (
    fx.user("q1"),  # 1
    fx.assistant(None, call("c1")),  # 2
    fx.ToolMessage(tool_call_id="c1", content="3"),  # 3
    fx.assistant("r1"),  # 4
    fx.user("q2"),  # 5
    fx.assistant("r2"),  # 6
)


def test_drop_oldest_compaction_is_a_saved_record_applied_before_the_model_call() -> None:
    policy = fx.sessions.CompactionPolicy(max_messages=6, keep_last_turns=3)
    s = fx.sessions.with_session(AGENT.step, SID, compaction=policy)
    notice = fx.user("[4 earlier messages were removed to fit the context window]")
    tokens = policy.tokens((*HISTORY, fx.user("q3")))
    record = fx.sessions.Compaction(
        first_seq=1,
        last_seq=4,
        message=notice,
        strategy="drop_oldest()",
        tokens_before=tokens,
        tokens_after=tokens - policy.tokens(HISTORY[:4]) + fx.sessions.estimate_tokens(notice),
    )
    compacted = (notice, fx.user("q2"), fx.assistant("r2"), fx.user("q3"))
    final = play(
        s,
        "q3",
        [
            load(*HISTORY),
            save(6, record),
            (AGENT.model_call(compacted), reply(fx.assistant("r3"))),
            save(7, fx.user("q3"), fx.assistant("r3")),
        ],
    )
    assert final.run.messages == (*compacted, fx.assistant("r3"))
    assert final.seq_runs == ((7, 1), (5, 2), (8, 2))
    assert final.tokens == policy.tokens(final.run.messages)
    log = fx.sessions.SessionLog(
        session_id=SID, records=(*HISTORY, record, fx.user("q3"), fx.assistant("r3"))
    )
    assert log.view() == final.run.messages
    assert log.originals() == (*HISTORY, fx.user("q3"), fx.assistant("r3"))


def test_summarise_compaction_is_a_recorded_model_call() -> None:
    strategy = fx.sessions.summarise("small")
    policy = fx.sessions.CompactionPolicy(max_messages=6, keep_last_turns=3, strategy=strategy)
    s = fx.sessions.with_session(AGENT.step, SID, compaction=policy)
    summary = fx.user("[Previous conversation summary]: asked 1+2, got 3")
    compacted = (summary, fx.user("q2"), fx.assistant("r2"), fx.user("q3"))
    tokens = policy.tokens((*HISTORY, fx.user("q3")))
    final = play(
        s,
        "q3",
        [
            load(*HISTORY),
            (
                fx.sessions.summary_request(strategy, HISTORY[:4]),
                reply(fx.assistant("asked 1+2, got 3"), tokens=50),
            ),
            save(
                6,
                fx.sessions.Compaction(
                    first_seq=1,
                    last_seq=4,
                    message=summary,
                    strategy="summarise('small')",
                    tokens_before=tokens,
                    tokens_after=tokens - policy.tokens(HISTORY[:4]) + fx.sessions.estimate_tokens(summary),
                ),
            ),
            (AGENT.model_call(compacted), reply(fx.assistant("r3"), tokens=7)),
            save(7, fx.user("q3"), fx.assistant("r3")),
        ],
    )
    assert final.run.messages[0] == summary
    assert final.run.usage.prompt_tokens == 57  # the summary's usage counts
    assert final.run.model_calls == 2


def test_an_empty_summary_keeps_the_originals_and_gives_up_after_max_failures() -> None:
    strategy = fx.sessions.summarise("small")
    policy = fx.sessions.CompactionPolicy(
        max_messages=6, keep_last_turns=3, strategy=strategy, max_failures=1
    )
    s = fx.sessions.with_session(AGENT.step, SID, compaction=policy)
    convo = (*HISTORY, fx.user("q3"))
    final = play(
        s,
        "q3",
        [
            load(*HISTORY),
            (fx.sessions.summary_request(strategy, HISTORY[:4]), reply(fx.AssistantMessage(content=None))),
            (AGENT.model_call(convo), reply(fx.assistant("r3"))),
            save(6, fx.user("q3"), fx.assistant("r3")),  # no second attempt: max_failures=1
        ],
    )
    assert final.run.messages == (*convo, fx.assistant("r3"))
    assert final.failures == 1


def test_session_state_is_data_at_every_point_of_a_run() -> None:
    strategy = fx.sessions.summarise("small")
    policy = fx.sessions.CompactionPolicy(max_messages=6, keep_last_turns=3, strategy=strategy)
    s = fx.sessions.with_session(AGENT.step, SID, compaction=policy)
    state = s.start("q3")
    states = [state]
    for effect, result in [
        load(*HISTORY),
        (fx.sessions.summary_request(strategy, HISTORY[:4]), reply(fx.assistant("sum"))),
    ]:
        assert s(state) == effect
        state = s.advance(state, effect, result)
        states.append(state)
    assert state.plan is not None and state.plan.message is not None
    for st in states:
        assert fx.from_json(json.loads(json.dumps(fx.to_json(st)))) == st


def test_with_session_repr_and_validation() -> None:
    s = fx.sessions.with_session(AGENT.step, SID)
    assert repr(s) == "with_session(Agent.step, 'chat')"
    with pytest.raises(ValueError, match="non-empty"):
        fx.sessions.with_session(AGENT.step, "")
    with pytest.raises(TypeError, match="wraps a step"):
        fx.sessions.with_session("not a step", SID)  # type: ignore[arg-type]
