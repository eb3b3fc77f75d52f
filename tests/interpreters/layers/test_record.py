"""The `record` layer: every completed exchange is journalled before the run sees its result."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest

import tower_llm_fx as fx
import tower_llm_fx.trace
from interpreters import (
    agent_interpreter,
    fixed,
    function,
    local_tools,
    replay,
    replay_run,
    run,
    sequence,
    stack,
)
from interpreters.layers import record
from interpreters.stores import (
    DirectoryTraceStore,
    MemoryTraceStore,
    SqliteTraceStore,
    TraceStore,
    read_trace,
)
from tests.support.fake_openai import FakeOpenAI
from tower_llm_fx.serde import DEFAULT

pytestmark = pytest.mark.anyio

KEY = "sk-test-abcdefghijklmnopqrstuvwxyz"


@fx.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


AGENT = fx.Agent(model="m", name="calc", instructions="You add.", tools=(add,))
ADD_TURN = fx.assistant(None, fx.ToolCallRequest(id="c1", name="add", arguments='{"a": 2, "b": 3}'))


async def test_records_every_exchange_of_a_run_in_order() -> None:
    store = MemoryTraceStore()
    performed: list[fx.trace.Exchange] = []

    def spy(inner: Any) -> Any:
        async def interp(effect: fx.Effect[Any]) -> Any:
            result = await inner(effect)
            performed.append(fx.trace.Exchange(effect=effect, result=result))
            return result

        return interp

    layer = record(into=store, trace_id="run-1", agent=AGENT, tags={"case": "basic"})
    interp = stack(layer, spy)(agent_interpreter(AGENT, model=sequence([ADD_TURN, "5"])))
    final = await run(AGENT, interp, "2+3?")
    trace = await store.load("run-1")
    assert trace.exchanges == tuple(performed)
    assert [type(ex.effect).__name__ for ex in trace.exchanges] == ["ModelCall", "ToolCall", "ModelCall"]
    assert layer.recorded == 3
    assert final.output == "5"
    meta = trace.meta
    assert (meta.agent, meta.model, meta.tags) == ("calc", "m", (("case", "basic"),))
    assert meta.library_version == fx.__version__
    assert meta.created_at is not None
    assert datetime.fromisoformat(meta.created_at).tzinfo is not None
    assert repr(layer) == "record(into=MemoryTraceStore(<1 traces>), trace_id='run-1')"


async def test_a_fresh_trace_id_is_made_when_none_is_given() -> None:
    store = MemoryTraceStore()
    one, two = record(into=store), record(into=store, agent="named", model="x")
    assert one.trace_id != two.trace_id
    fx.trace.check_trace_id(one.trace_id)
    await one(fixed("a"))(fx.ModelCall(model="m", messages=()))
    await two(fixed("b"))(fx.ModelCall(model="m", messages=()))
    assert set(await store.list()) == {one.trace_id, two.trace_id}
    assert (await store.load(two.trace_id)).meta.agent == "named"


async def test_an_existing_trace_is_never_overwritten() -> None:
    store = MemoryTraceStore()
    call = fx.ModelCall(model="m", messages=(fx.user("hi"),))
    await record(into=store, trace_id="t")(fixed("first"))(call)
    again = record(into=store, trace_id="t")(fixed("second"))
    for _ in range(2):  # and it keeps saying so
        with pytest.raises(fx.trace.TraceExists, match="'t' already exists"):
            await again(call)
    assert [ex.result.message.content for ex in (await store.load("t")).exchanges] == ["first"]


async def test_each_call_of_a_batch_is_its_own_exchange_in_completion_order_and_replays() -> None:
    finished: list[str] = []

    @fx.tool
    async def slow(name: str, delay: float) -> str:
        """Sleep, then answer."""
        await anyio.sleep(delay)
        finished.append(name)
        return name

    agent = fx.Agent(model="m", tools=(slow,), parallel_tools=True)
    turn = fx.assistant(
        None,
        *(
            fx.ToolCallRequest(id=f"c{i}", name="slow", arguments=f'{{"name": "n{i}", "delay": {d}}}')
            for i, d in enumerate([0.06, 0.03, 0.0])
        ),
    )
    store = MemoryTraceStore()
    interp = record(into=store, trace_id="p")(agent_interpreter(agent, model=sequence([turn, "ok"])))
    await run(agent, interp, "go")
    assert finished == ["n2", "n1", "n0"], "the calls really completed in reverse"
    trace = await store.load("p")
    calls = trace.exchanges[1:4]  # one exchange per call, in the order they finished
    assert all(type(ex.effect) is fx.ToolCall and ex.effect.agent == agent.name for ex in calls)
    assert [ex.result.call_id for ex in calls] == ["c2", "c1", "c0"]
    assert [ex.result.content for ex in calls] == ["n2", "n1", "n0"]
    assert len(trace.exchanges) == 5
    replayed = await replay_run(agent, trace)  # any order of the calls replays
    assert [m.content for m in replayed.messages[2:5]] == ["n0", "n1", "n2"]


async def test_a_failed_effect_records_nothing_and_the_prefix_replays(tmp_path: Path) -> None:
    calls = 0

    def flaky(call: fx.ModelCall) -> fx.AssistantMessage | str:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise fx.ProviderError("the provider fell over", status=500)
        return ADD_TURN

    store = DirectoryTraceStore(tmp_path)
    interp = record(into=store, trace_id="crash")(agent_interpreter(AGENT, model=function(flaky)))
    with pytest.raises(fx.ProviderError):
        await run(AGENT, interp, "2+3?")
    trace = read_trace(store.path_of("crash"))
    assert [type(ex.effect).__name__ for ex in trace.exchanges] == ["ModelCall", "ToolCall"]
    state = await replay_run(AGENT, trace, then=agent_interpreter(AGENT, model=fixed("5")))
    assert state.output == "5"


async def test_a_cancelled_effect_records_nothing(tmp_path: Path) -> None:
    async def hang(effect: fx.Effect[Any]) -> Any:
        await anyio.sleep_forever()

    store = DirectoryTraceStore(tmp_path)
    layer = record(into=store, trace_id="c")
    interp = layer(hang)
    with anyio.move_on_after(0.05):
        await interp(fx.ModelCall(model="m", messages=()))
    assert layer.recorded == 0
    assert (await store.load("c")).exchanges == ()


def test_a_crashed_process_leaves_a_readable_prefix(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, trio
        import tower_llm_fx as fx
        from interpreters import agent_interpreter, run, sequence
        from interpreters.layers import record
        from interpreters.stores import DirectoryTraceStore

        @fx.tool
        def add(a: int, b: int) -> int:
            "Add."
            os._exit(3)  # the process dies in the middle of the second exchange

        agent = fx.Agent(model="m", tools=(add,))
        turn = fx.assistant(None, fx.ToolCallRequest(id="c1", name="add", arguments='{{"a": 1, "b": 2}}'))
        interp = record(into=DirectoryTraceStore({str(tmp_path)!r}), trace_id="dead")(
            agent_interpreter(agent, model=sequence([turn, "3"]))
        )
        trio.run(run, agent, interp, "1+2?")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    trace = read_trace(tmp_path / "dead.jsonl")
    assert len(trace.exchanges) == 1
    assert isinstance(trace.exchanges[0].effect, fx.ModelCall)


async def test_concurrent_effects_through_one_recorder_stay_in_order(tmp_path: Path) -> None:
    store = SqliteTraceStore(tmp_path / "t.db")
    layer = record(into=store, trace_id="many")
    tools = layer(local_tools([add]))

    async def one(i: int) -> None:
        await tools(fx.ToolCall(id=f"c{i}", name="add", arguments=f'{{"a": {i}, "b": 0}}'))

    async with anyio.create_task_group() as tg:
        for i in range(12):
            tg.start_soon(one, i)
    trace = await store.load("many")
    assert sorted(ex.result.content for ex in trace.exchanges) == sorted(str(i) for i in range(12))
    assert layer.recorded == 12


@pytest.mark.parametrize("path", ["fast", "redacting", "file"])
async def test_the_wrong_result_type_is_an_interpreter_error(path: str, tmp_path: Path) -> None:
    async def liar(effect: fx.Effect[Any]) -> Any:
        return fx.ToolResult.success(call_id="c", name="t", content="?")

    if path == "fast":
        layer = record(into=MemoryTraceStore())
    elif path == "redacting":
        layer = record(into=MemoryTraceStore(), redact=lambda data: data)
    else:
        layer = record(into=DirectoryTraceStore(tmp_path))
    interp = layer(liar)
    await interp(fx.ToolCall(id="c", name="t"))
    with pytest.raises(
        fx.WrongResultType, match="answered ModelCall wrongly: a ModelCall is answered by a ModelReply"
    ):
        await interp(fx.ModelCall(model="m", messages=()))
    assert layer.recorded == 1


@pytest.mark.parametrize("kind", ["memory", "directory", "sqlite"])
async def test_the_redaction_hook_masks_before_anything_is_stored(kind: str, tmp_path: Path) -> None:
    stores: dict[str, TraceStore] = {
        "memory": MemoryTraceStore(),
        "directory": DirectoryTraceStore(tmp_path),
        "sqlite": SqliteTraceStore(tmp_path / "t.db"),
    }
    store = stores[kind]

    @fx.tool
    def lookup(user: str) -> str:
        """Look a user up."""
        return f"{user}: ssn 123-45-6789"

    def mask(data: dict[str, Any]) -> dict[str, Any]:
        result = data["result"]
        if result["type"] == "result.tool":  # the hook sees wire names (format v2)
            result["content"] = result["content"].replace("123-45-6789", "***")
        for message in data["effect"].get("messages", []):
            if message["type"] == "message.tool":
                message["content"] = message["content"].replace("123-45-6789", "***")
        return data

    agent = fx.Agent(model="m", tools=(lookup,))
    turn = fx.assistant(None, fx.ToolCallRequest(id="c1", name="lookup", arguments='{"user": "ann"}'))
    interp = record(into=store, trace_id="r", redact=mask)(
        agent_interpreter(agent, model=sequence([turn, "done"]))
    )
    final = await run(agent, interp, f"look up ann, my key is {KEY}")
    assert "123-45-6789" in str(final.messages), "the run itself sees the real data"
    trace = await store.load("r")
    assert "123-45-6789" not in repr(trace)
    if kind != "memory":
        raw = (tmp_path / "r.jsonl").read_bytes() if kind == "directory" else (tmp_path / "t.db").read_bytes()
        assert b"123-45-6789" not in raw
        assert KEY.encode() not in raw
    replayed = await replay_run(agent, trace, input=f"look up ann, my key is {KEY}", redact=mask)
    assert replayed.output == "done"


async def test_record_checks_its_arguments() -> None:
    with pytest.raises(fx.ConfigurationError, match="is not allowed"):
        record(into=MemoryTraceStore(), trace_id="../x")
    with pytest.raises(TypeError, match="tags must map str to str"):
        record(into=MemoryTraceStore(), tags={"n": 1})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="model must be a str"):
        record(into=MemoryTraceStore(), model=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="redact must be a function"):
        record(into=MemoryTraceStore(), redact="mask")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="wraps an interpreter"):
        record(into=MemoryTraceStore())(None)  # type: ignore[arg-type]


async def test_recording_a_run_against_the_fake_openai_server(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    from interpreters import openai

    fake_openai.reply(ADD_TURN).reply("2 + 3 = 5")
    store = DirectoryTraceStore(tmp_path)
    async with openai(base_url=fake_openai.base_url, api_key=KEY) as model:
        interp = record(into=store, trace_id="live", agent=AGENT)(agent_interpreter(AGENT, model=model))
        final = await run(AGENT, interp, "What is 2 + 3?")
    fake_openai.assert_consumed()
    raw = store.path_of("live").read_text(encoding="utf-8")
    assert KEY not in raw
    assert "Authorization" not in raw
    trace = await store.load("live")
    assert len(trace.exchanges) == 3
    assert await replay_run(AGENT, trace) == final  # no server needed any more


@attrs.frozen
class RecordTestTicket:
    id: int
    title: str = ""


@attrs.frozen(kw_only=True)
class LookUpRecordTicket(fx.Effect[RecordTestTicket]):
    id: int


async def test_a_redacting_recorder_and_replay_use_the_store_codec_for_your_own_types(tmp_path: Path) -> None:
    codec = DEFAULT.with_types(
        {"test.record_ticket": RecordTestTicket, "test.look_up_record_ticket": LookUpRecordTicket}
    )
    store = DirectoryTraceStore(tmp_path, codec=codec)

    def hide_titles(data: dict[str, Any]) -> dict[str, Any]:
        result = dict(data["result"])
        if result.get("type") == "test.record_ticket":
            result["title"] = "[hidden]"
        return {**data, "result": result}

    async def desk(effect: Any) -> Any:
        return RecordTestTicket(id=effect.id, title="card 4111 1111 1111 1111")

    recorder = record(into=store, trace_id="own", redact=hide_titles)
    assert (await recorder(desk)(LookUpRecordTicket(id=7))).title.startswith("card")
    trace = await store.load("own")
    assert trace.exchanges[0].result == RecordTestTicket(id=7, title="[hidden]")
    async with replay(trace, redact=hide_titles, codec=codec) as interp:
        assert (await interp(LookUpRecordTicket(id=7))).title == "[hidden]"
