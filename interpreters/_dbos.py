"""Run programs as DBOS durable workflows: each effect a checkpointed DBOS step.

Theory of operation: the pure loop of ``run`` (``start``, ``step``,
``advance``, ``finish``) is deterministic, so it runs as the body of one
DBOS workflow; each effect is performed by one DBOS *step* whose input is
the effect and whose output is its result, both as the JSON text of a
``tower_llm_fx.serde.Codec``. DBOS checkpoints every step's output in its
system database (SQLite, or Postgres for many workers); when a worker dies,
another one (or the same one restarted) re-runs the workflow: completed
steps return their checkpointed results without being performed again, and
the loop continues live from the first effect that had not finished.

A step that was in flight when its worker died is performed again (DBOS
cannot know whether it had its effect). Tools see the same deterministic
idempotency key (``tower_llm_fx.durable.idempotency_key``) on every
attempt, through a ``ToolContext`` parameter, so a payment-like backend can
de-duplicate. A ``SaveSession`` performed again finds its own records and
counts as done (``reconcile_save``). A ``Parallel`` batch is one step (its calls run concurrently
inside it, each with its own key): a crash mid-batch performs the whole
batch again, with the same keys.

DBOS is asyncio-based: its workflows run on asyncio, and `dbos_run` must be
awaited under asyncio (under trio it raises, saying so). The rest of the
library is unaffected: ``dbos`` is imported only here, only when used
(``pip install 'tower-llm-fx[dbos]'``). Programs are registered by name
(`dbos_program`) in every worker process before ``DBOS.launch()``, since a
worker that recovers a run must find its program and interpreter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, final

import anyio
import orjson

from tower_llm_fx import Done, Effect, Parallel, Program, ToolCall, WrongResultType
from tower_llm_fx.durable import idempotency_key, keyed, reconcile_save
from tower_llm_fx.serde import DEFAULT, Codec, compact_json
from tower_llm_fx.sessions import LoadSession, Saved, SaveSession, SessionConflict

from ._perform import perform_parallel, wrong_result
from ._run import check_program
from ._types import Interpreter

if TYPE_CHECKING:
    from dbos import Queue, WorkflowHandleAsync

__all__ = ["DbosProgram", "dbos_program", "dbos_recover", "dbos_run"]

S = TypeVar("S")
R = TypeVar("R")

INSTALL = "pip install 'tower-llm-fx[dbos]'"
WORKFLOW = "tower_llm_fx.run"
STEP = "tower_llm_fx.effect"

_PROGRAMS: dict[str, DbosProgram[Any]] = {}  # name -> program, in this process
_REGISTERED: list[
    tuple[Callable[..., Coroutine[Any, Any, str]], Callable[..., Coroutine[Any, Any, str]]]
] = []


def _dbos() -> Any:
    try:
        import dbos
    except ImportError as exc:
        raise ImportError(
            f"running programs on DBOS needs the dbos package, which is not installed: {INSTALL}"
        ) from exc
    return dbos


def _require_asyncio(what: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            f"{what} needs asyncio (DBOS is asyncio-based), but it was awaited outside asyncio (under trio?). "
            "Run it with asyncio.run(...) or anyio.run(..., backend='asyncio'); the rest of "
            "tower_llm_fx works under trio as before"
        ) from None


def _functions() -> tuple[Callable[..., Coroutine[Any, Any, str]], Callable[..., Coroutine[Any, Any, str]]]:
    """The DBOS workflow and step (registered with DBOS on first use, once per process)."""
    if _REGISTERED:
        return _REGISTERED[0]
    dbos = _dbos().DBOS
    step: Callable[[Callable[..., Any]], Any] = dbos.step(name=STEP)
    workflow: Callable[[Callable[..., Any]], Any] = dbos.workflow(name=WORKFLOW)

    @step
    async def perform_effect(name: str, run_id: str, at: int, effect_json: str) -> str:
        program = _lookup(name)
        effect = program.codec.decode(orjson.loads(effect_json))
        result = await program.perform(run_id, at, effect)
        return compact_json(program.codec.encode(result))

    @workflow
    async def run_workflow(name: str, input_json: str) -> str:
        program = _lookup(name)
        run_id = dbos.workflow_id
        assert run_id is not None
        codec = program.codec
        state = program.program.start(codec.decode(orjson.loads(input_json)))
        at = 0
        while True:
            effect = program.program.step(state)
            if not isinstance(effect, Effect):
                done: Done = effect
                break
            result = codec.decode(
                orjson.loads(await perform_effect(name, run_id, at, compact_json(codec.encode(effect))))
            )
            state = program.program.advance(state, effect, result)
            at += 1
        return compact_json(codec.encode(program.program.finish(state, done)))

    _REGISTERED.append((run_workflow, perform_effect))
    return _REGISTERED[0]


def _lookup(name: str) -> DbosProgram[Any]:
    try:
        return _PROGRAMS[name]
    except KeyError:
        raise LookupError(
            f"this worker has no program named {name!r} (it has {sorted(_PROGRAMS) or 'none'}); "
            f"call dbos_program(program, interpreter, name={name!r}) in every worker before DBOS.launch()"
        ) from None


@final
class DbosProgram(Generic[S]):
    """A program and its interpreter registered under ``name`` for DBOS workflows (`dbos_program`)."""

    def __init__(self, program: Program[S], interpreter: Interpreter, *, name: str, codec: Codec) -> None:
        self.program = program
        self.interpreter = interpreter
        self.name = name
        self.codec = codec

    def __repr__(self) -> str:
        return f"dbos_program({type(self.program).__name__}, name={self.name!r})"

    async def perform(self, run_id: str, at: int, effect: Effect[R]) -> R:
        """Perform effect number ``at`` of run ``run_id``, tools seeing their idempotency keys."""
        interpreter = self.interpreter

        async def with_keys(call: Effect[Any], /) -> Any:
            if type(call) is ToolCall:
                return await interpreter(keyed(call, run_id, idempotency_key(run_id, at, call.id), 1))
            return await interpreter(call)

        if type(effect) is Parallel:
            return cast("R", await perform_parallel(with_keys, effect))
        if type(effect) is SaveSession:
            return cast("R", await self._save(effect))
        result = await with_keys(effect)
        if not isinstance(result, type(effect).result_type):
            raise wrong_result(interpreter, effect, result)
        return cast("R", result)

    async def _save(self, effect: SaveSession) -> Saved:
        # A save whose step was cut short after the store committed it is performed again on
        # recovery, and conflicts with itself: if the session holds exactly these records
        # there, the save is done (reconcile_save); any other conflict is a real one.
        try:
            saved = await self.interpreter(effect)
        except SessionConflict:
            log = await self.interpreter(LoadSession(session_id=effect.session_id))
            done = reconcile_save(effect, log)
            if done is None:
                raise
            return done
        if not isinstance(saved, Saved):
            raise WrongResultType(
                f"{self.interpreter!r} returned {type(saved).__name__} for SaveSession; expected Saved"
            )
        return saved

    async def start(self, input: object, *, workflow_id: str) -> WorkflowHandleAsync[str]:
        """Start the run ``workflow_id`` in this process and return its DBOS handle (asyncio only).

        Starting an id that already ran or runs does not start it again: the
        handle is the existing run's.
        """
        _require_asyncio("DbosProgram.start")
        dbos = _dbos()
        workflow, _ = _functions()
        with dbos.SetWorkflowID(workflow_id):
            handle: WorkflowHandleAsync[str] = await dbos.DBOS.start_workflow_async(
                workflow, self.name, self._input(input)
            )
        return handle

    async def enqueue(self, queue: Queue, input: object, *, workflow_id: str) -> WorkflowHandleAsync[str]:
        """Put the run ``workflow_id`` on a DBOS ``queue``; any worker listening to it runs it (asyncio only)."""
        _require_asyncio("DbosProgram.enqueue")
        dbos = _dbos()
        workflow, _ = _functions()
        with dbos.SetWorkflowID(workflow_id):
            handle: WorkflowHandleAsync[str] = await queue.enqueue_async(
                workflow, self.name, self._input(input)
            )
        return handle

    async def result(self, workflow_id: str) -> S:
        """Wait for the run ``workflow_id`` (started or enqueued anywhere) and return its final state."""
        _require_asyncio("DbosProgram.result")
        handle = await _dbos().DBOS.retrieve_workflow_async(workflow_id)
        return self._final(await handle.get_result())

    async def run(self, input: object, *, workflow_id: str) -> S:
        """Start the run ``workflow_id`` (or join it, if it exists) and return its final state."""
        handle = await self.start(input, workflow_id=workflow_id)
        return self._final(await handle.get_result())

    def _input(self, input: object) -> str:
        return compact_json(self.codec.encode(input))

    def _final(self, text: str) -> S:
        return cast("S", self.codec.decode(orjson.loads(text)))


def dbos_program(
    program: Program[S], interpreter: Interpreter, *, name: str = "default", codec: Codec = DEFAULT
) -> DbosProgram[S]:
    """Register ``program`` and ``interpreter`` under ``name`` for DBOS workflows in this process.

    Call it in every worker process before ``DBOS.launch()`` (a worker
    recovering a run looks its program up by name); the last registration of
    a name wins. ``codec`` turns effects, results, the input and the final
    state into JSON (pass ``DEFAULT.with_types(...)`` for types of your own).

    Raises:
        ImportError: dbos is not installed (``pip install 'tower-llm-fx[dbos]'``).

    >>> import tower_llm_fx as fx
    >>> from interpreters import agent_interpreter, fixed
    >>> agent = fx.Agent(model="demo")
    >>> dbos_program(agent, agent_interpreter(agent, model=fixed("Hi")), name="greeter")
    dbos_program(Agent, name='greeter')
    """
    check_program(program, "dbos_program")
    _functions()
    registered = DbosProgram(program, interpreter, name=name, codec=codec)
    _PROGRAMS[name] = registered
    return registered


async def dbos_run(
    program: Program[S], interpreter: Interpreter, input: object, *, workflow_id: str, name: str = "default"
) -> S:
    """Run ``program`` on ``input`` as the durable DBOS workflow ``workflow_id``; return the final state.

    Like ``interpreters.run``, with every effect a DBOS step: if this process
    dies, a worker that registered the same ``name`` finishes the run without
    performing completed effects again. Running an id that already finished
    returns its result without performing anything. Needs a launched DBOS
    (``DBOS(config=...); DBOS.launch()``) and asyncio.

    Raises:
        RuntimeError: awaited under trio (DBOS is asyncio-based).
        ImportError: dbos is not installed.
    """
    _require_asyncio("dbos_run")
    return await dbos_program(program, interpreter, name=name).run(input, workflow_id=workflow_id)


async def dbos_recover(executor_ids: list[str]) -> list[str]:
    """Hand the unfinished runs of dead workers ``executor_ids`` back to their queues; return their ids.

    Call it (from any live worker) once you know those workers are gone: a
    live worker listening to the queue picks each run up and continues it
    from its last checkpointed step. DBOS does this by itself for a worker
    restarted with the same ``executor_id``. Asyncio only.
    """
    _require_asyncio("dbos_recover")
    dbos = _dbos().DBOS
    # DBOS's own recovery entry point (what its admin server and Conductor call).
    handles = await anyio.to_thread.run_sync(dbos._recover_pending_workflows, executor_ids)
    return [h.get_workflow_id() for h in handles]
