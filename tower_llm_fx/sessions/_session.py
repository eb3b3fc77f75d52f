"""Sessions as a step combinator: load before the first model call, save each completed step.

Theory of operation: `with_session` wraps any step over `RunState` (such as
``agent.step``) into a step over `SessionState`, with its own pure ``advance``:

1. not loaded yet → ``LoadSession``; the history is put in front of the run's input;
2. the last step is complete and has unsaved messages → ``SaveSession`` of just
   those messages (one append per step: the cost does not grow with the history);
3. compaction is due and the wrapped step wants a model call → compact first:
   a summarisation ``ModelCall`` if the strategy needs one, then a
   ``SaveSession`` of one `Compaction` record, which is applied to the
   conversation only once it is stored;
4. otherwise → whatever the wrapped step returns. Before ``Done``, any messages
   still unsaved are saved if that leaves no tool call unanswered.

Rule 1: a save never contains a tool call without its result, so a crash at any
point loses at most the step in flight. Rule 2: each save names the sequence
number it appends after (optimistic concurrency; see ``_log.py``).
Rule 3: the state is data; ``advance`` is the only thing that changes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, final

import attrs
from attrs import validators as v

from tower_llm_fx._agent import Agent
from tower_llm_fx._effects import Done, Effect, ModelCall
from tower_llm_fx._errors import WrongResultType
from tower_llm_fx._events import RunEvent, RunStarted
from tower_llm_fx._messages import Message
from tower_llm_fx._results import ModelReply
from tower_llm_fx._state import RunState, advance, finish, pending_tool_calls, step_completed

from ._compaction import (
    CompactionPlan,
    CompactionPolicy,
    Summarise,
    apply_compaction,
    plan_compaction,
    summary_message,
    summary_request,
)
from ._log import (
    Compaction,
    LoadSession,
    Saved,
    SaveSession,
    SeqRuns,
    SessionLog,
    extend_runs,
    fold_log,
    seq_at,
    slice_runs,
)

__all__ = ["SessionState", "SessionStep", "with_session"]

_nonneg = [v.instance_of(int), v.ge(0)]


def _runs(value: Sequence[Sequence[int]]) -> SeqRuns:
    return tuple((int(a), int(b)) for a, b in value)


@final
@attrs.frozen(kw_only=True)
class SessionState:
    """The state of a run on a session: the wrapped `RunState` plus what is stored.

    Attributes:
        session_id: the session this run reads and appends to.
        run: the wrapped run; before loading it holds only the new input, after
            loading the session's conversation followed by the input.
        loaded: whether the history has been loaded.
        saved: ``run.messages[:saved]`` are in the store.
        last_seq: the store's last sequence number, as far as this run knows.
        seq_runs: the sequence number of each saved message, as runs ``(first, count)``.
        tokens: the token estimate of ``run.messages`` (kept only with a compaction policy).
        plan: a compaction in progress, if any.
        failures: summaries that came back empty in this run.
    """

    session_id: str = attrs.field(validator=v.instance_of(str))
    run: RunState = attrs.field(validator=v.instance_of(RunState))
    loaded: bool = attrs.field(default=False, validator=v.instance_of(bool))
    saved: int = attrs.field(default=0, validator=_nonneg)
    last_seq: int = attrs.field(default=0, validator=_nonneg)
    seq_runs: SeqRuns = attrs.field(default=(), converter=_runs)
    tokens: int = attrs.field(default=0, validator=_nonneg)
    plan: CompactionPlan | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(CompactionPlan))
    )
    failures: int = attrs.field(default=0, validator=_nonneg)

    @property
    def messages(self) -> tuple[Message, ...]:
        """The conversation (``run.messages``)."""
        return self.run.messages

    @property
    def unsaved(self) -> tuple[Message, ...]:
        """Messages not in the store yet."""
        return self.run.messages[self.saved :]


def _check_step(_inst: object, _attr: object, value: Callable[[RunState], Effect[Any] | Done]) -> None:
    if not callable(value):
        raise TypeError(f"with_session() wraps a step, a function state -> Effect | Done; got {value!r}")


@final
@attrs.frozen(kw_only=True)
class SessionStep:
    """A step over `SessionState` made by `with_session`; call it like any step.

    Use `start` for the initial state, `advance` to fold results and `finish`
    to record the ``Done`` that ended the run.
    """

    inner: Callable[[RunState], Effect[Any] | Done] = attrs.field(alias="step", validator=_check_step)
    session_id: str = attrs.field(validator=v.instance_of(str))
    compaction: CompactionPolicy | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(CompactionPolicy))
    )
    inner_advance: Callable[[RunState, Effect[Any], Any], RunState] = attrs.field(default=advance)
    name: str = attrs.field(default="", validator=v.instance_of(str))

    def __attrs_post_init__(self) -> None:
        if not self.session_id:
            raise ValueError("a session id must be a non-empty string")

    def __repr__(self) -> str:
        name = getattr(self.inner, "__qualname__", repr(self.inner))
        extra = "" if self.compaction is None else ", compaction=..."
        return f"with_session({name}, {self.session_id!r}{extra})"

    def start(self, input: str | Sequence[Message] = ()) -> SessionState:
        """The state before loading: ``input`` (text or messages) goes after the history.

        An empty ``input`` resumes the session's conversation where it stopped.
        """
        return SessionState(session_id=self.session_id, run=RunState.start(input))

    # -- the step ----------------------------------------------------------------

    def __call__(self, state: SessionState) -> Effect[Any] | Done:
        return self.step(state)

    def step(self, state: SessionState, /) -> Effect[Any] | Done:
        """The next effect: load, save, compact, or the wrapped step's own."""
        if not state.loaded:
            return LoadSession(session_id=state.session_id)
        messages = state.run.messages
        unsaved = state.saved < len(messages)
        if unsaved and step_completed(messages):
            return self._save(state)
        out = self.inner(state.run)
        if isinstance(out, Done):
            if unsaved and not pending_tool_calls(messages):
                return self._save(state)
            return out
        plan = state.plan
        if plan is not None and isinstance(out, ModelCall) and self.compaction is not None:
            strategy = self.compaction.strategy
            if plan.message is None and isinstance(strategy, Summarise):
                return summary_request(strategy, messages[plan.start : plan.end])
            return SaveSession(
                session_id=state.session_id,
                after_seq=state.last_seq,
                records=(self._compaction_record(state, plan),),
            )
        return out

    def _save(self, state: SessionState) -> SaveSession:
        return SaveSession(
            session_id=state.session_id, after_seq=state.last_seq, records=state.run.messages[state.saved :]
        )

    def _compaction_record(self, state: SessionState, plan: CompactionPlan) -> Compaction:
        assert self.compaction is not None
        assert plan.message is not None
        policy = self.compaction
        span = state.run.messages[plan.start : plan.end]
        after = plan.tokens_before - policy.tokens(span) + policy.count_tokens(plan.message)
        return Compaction(
            first_seq=seq_at(state.seq_runs, plan.start),
            last_seq=seq_at(state.seq_runs, plan.end - 1),
            message=plan.message,
            strategy=repr(policy.strategy),
            tokens_before=plan.tokens_before,
            tokens_after=max(after, 0),
        )

    # -- the fold ----------------------------------------------------------------

    def advance(self, state: SessionState, effect: Effect[Any], result: object) -> SessionState:
        """Fold ``result`` of ``effect`` into ``state`` (pure).

        Raises:
            WrongResultType: the result does not belong to the effect, or a store
                reported a sequence number that does not match the save.
        """
        if isinstance(effect, LoadSession):
            return self._loaded(state, result)
        if isinstance(effect, SaveSession):
            return self._saved(state, effect, result)
        plan = state.plan
        if plan is not None and plan.message is None and isinstance(effect, ModelCall):
            return self._summarised(state, plan, result)
        run = self.inner_advance(state.run, effect, result)
        tokens = state.tokens
        if self.compaction is not None:
            count = self.compaction.count_tokens
            tokens += sum(count(m) for m in run.messages[len(state.run.messages) :])
        return attrs.evolve(state, run=run, tokens=tokens)

    def finish(self, state: SessionState, done: Done) -> SessionState:
        """Record why the run stopped (on ``state.run.stop``)."""
        return attrs.evolve(state, run=finish(state.run, done))

    def conversation(self, state: SessionState, /) -> RunState:
        """The wrapped run (history included once loaded)."""
        return state.run

    def events(self, before: SessionState | None, after: SessionState, /) -> tuple[RunEvent, ...]:
        """`RunStarted` (naming the wrapped agent) at the start; nothing else."""
        return (RunStarted(agent=self.name, state=after.run),) if before is None else ()

    def _plan(self, state: SessionState) -> SessionState:
        policy = self.compaction
        if policy is None or state.plan is not None or state.failures >= policy.max_failures:
            return state
        plan = plan_compaction(state.run.messages, policy, tokens=state.tokens, limit=state.saved)
        return state if plan is None else attrs.evolve(state, plan=plan)

    def _loaded(self, state: SessionState, log: object) -> SessionState:
        if not isinstance(log, SessionLog) or log.session_id != state.session_id:
            raise WrongResultType(
                f"a LoadSession({state.session_id!r}) must be answered with that session's SessionLog, "
                f"got {log!r:.200}"
            )
        history, runs = fold_log(log.records)
        messages = (*history, *state.run.messages)
        tokens = 0 if self.compaction is None else self.compaction.tokens(messages)
        loaded = attrs.evolve(
            state,
            run=attrs.evolve(state.run, messages=messages),
            loaded=True,
            saved=len(history),
            last_seq=log.last_seq,
            seq_runs=runs,
            tokens=tokens,
        )
        return self._plan(loaded)

    def _saved(self, state: SessionState, effect: SaveSession, result: object) -> SessionState:
        expected = effect.after_seq + len(effect.records)
        if (
            not isinstance(result, Saved)
            or result.session_id != effect.session_id
            or result.last_seq != expected
        ):
            raise WrongResultType(
                f"a SaveSession of {len(effect.records)} records after seq {effect.after_seq} must be answered "
                f"with Saved(session_id={effect.session_id!r}, last_seq={expected}), got {result!r}"
            )
        first = effect.records[0]
        if isinstance(first, Compaction):
            plan = state.plan
            if plan is None or plan.message != first.message:
                raise WrongResultType("a Compaction was saved that this run did not plan")
            messages = apply_compaction(state.run.messages, plan, first.message)
            runs = (
                *slice_runs(state.seq_runs, 0, plan.start),
                (result.last_seq, 1),
                *slice_runs(state.seq_runs, plan.end, state.saved),
            )
            after = attrs.evolve(
                state,
                run=attrs.evolve(state.run, messages=messages),
                saved=state.saved - (plan.end - plan.start) + 1,
                last_seq=result.last_seq,
                seq_runs=runs,
                tokens=first.tokens_after,
                plan=None,
            )
        else:
            after = attrs.evolve(
                state,
                saved=state.saved + len(effect.records),
                last_seq=result.last_seq,
                seq_runs=extend_runs(state.seq_runs, effect.after_seq + 1, len(effect.records)),
            )
        return self._plan(after)

    def _summarised(self, state: SessionState, plan: CompactionPlan, reply: object) -> SessionState:
        if not isinstance(reply, ModelReply):
            raise WrongResultType(
                f"a summarisation ModelCall must be answered with a ModelReply, got {reply!r}"
            )
        assert self.compaction is not None
        strategy = self.compaction.strategy
        assert isinstance(strategy, Summarise)
        run = attrs.evolve(
            state.run, usage=state.run.usage + reply.usage, model_calls=state.run.model_calls + 1
        )
        message = summary_message(strategy, reply)
        if message is None:  # an empty summary never deletes anything: keep the originals
            return attrs.evolve(state, run=run, plan=None, failures=state.failures + 1)
        return attrs.evolve(state, run=run, plan=attrs.evolve(plan, message=message))


_core_advance = advance


def with_session(
    step: Agent | Callable[[RunState], Effect[Any] | Done],
    session_id: str,
    *,
    compaction: CompactionPolicy | None = None,
    advance: Callable[[RunState, Effect[Any], Any], RunState] = advance,
) -> SessionStep:
    """Wrap ``step`` so its run loads session ``session_id`` first and saves every completed step.

    Args:
        step: an `Agent` (its step, fold and name are used), or a step over
            `RunState` such as ``agent.step``.
        session_id: the session to load and append to.
        compaction: compact the conversation (in the log and in the run) when
            this policy says so, before the next model call.
        advance: the wrapped step's fold (default: the agent ``advance``); it
            must only append messages.

    >>> from tower_llm_fx import Agent, ModelReply, assistant, user
    >>> from tower_llm_fx.testing import run_sequence
    >>> agent = Agent(model="m")
    >>> s = with_session(agent.step, "chat-1")
    >>> final = run_sequence(s, s.start("hi"), [
    ...     (LoadSession(session_id="chat-1"), SessionLog(session_id="chat-1", records=(user("earlier"), assistant("ok")))),
    ...     (agent.model_call((user("earlier"), assistant("ok"), user("hi"))), ModelReply(message=assistant("hello"))),
    ...     (SaveSession(session_id="chat-1", after_seq=2, records=(user("hi"), assistant("hello"))), Saved(session_id="chat-1", last_seq=4)),
    ... ], advance=s.advance, finish=s.finish)
    >>> final.run.output, final.saved, final.last_seq
    ('hello', 4, 4)
    """
    if isinstance(step, Agent):
        agent = step
        return SessionStep(
            step=agent.step,
            session_id=session_id,
            compaction=compaction,
            # the agent's own fold (it validates a structured output) unless one is given
            inner_advance=agent.advance if advance is _core_advance else advance,
            name=agent.name,
        )
    owner = getattr(step, "__self__", None)
    name = owner.name if isinstance(owner, Agent) else ""
    return SessionStep(
        step=step, session_id=session_id, compaction=compaction, inner_advance=advance, name=name
    )
