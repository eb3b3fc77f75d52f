"""The approvals layer: sync, async and human (channel) approvers; the conversation stays valid."""

from __future__ import annotations

import json
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import tower_llm_fx as fx
import tower_llm_fx.resilience
from interpreters import agent_interpreter, by_type, local_tools, perform, run, sequence
from interpreters.layers import PendingApproval, approval_channel, approvals

pytestmark = pytest.mark.anyio

ran: list[str] = []


@fx.tool
def write(path: str, text: str) -> str:
    """Write a file."""
    ran.append(path)
    return f"wrote {path}"


@fx.tool
def read(path: str) -> str:
    """Read a file."""
    ran.append(f"read {path}")
    return "contents"


AGENT = fx.Agent(model="m", tools=(write, read))


@pytest.fixture(autouse=True)
def _clear() -> None:
    ran.clear()


def call(i: str, name: str, **args: str) -> fx.ToolCallRequest:
    return fx.ToolCallRequest(id=i, name=name, arguments=json.dumps(args))


def sandbox(request: fx.resilience.Approve) -> fx.resilience.Decision:
    subject = request.subject
    assert isinstance(subject, fx.ToolCall)
    args = json.loads(subject.arguments)
    path = args["path"]
    if path.startswith("/etc"):
        return fx.resilience.deny(f"{path} is outside the sandbox")
    if not path.startswith("/tmp/"):
        return fx.resilience.modify(arguments={**args, "path": "/tmp/" + path.lstrip("/")})
    return fx.resilience.allow()


async def test_denied_calls_become_denied_results_and_the_run_goes_on() -> None:
    model = sequence([fx.assistant(None, call("c1", "write", path="/etc/passwd", text="x")), "ok, I won't"])
    interp = approvals(sandbox)(agent_interpreter(AGENT, model=model))
    final = await run(AGENT, interp, "go")
    assert ran == []  # the tool never ran
    tool_message = final.messages[2]
    assert tool_message == fx.ToolMessage(
        tool_call_id="c1", content="error (denied): /etc/passwd is outside the sandbox"
    )
    assert final.output == "ok, I won't" and fx.pending_tool_calls(final.messages) == ()


async def test_modified_calls_run_with_the_edited_arguments() -> None:
    tools = approvals(sandbox)(local_tools([write]))
    result = await tools(fx.ToolCall(id="c1", name="write", arguments='{"path": "notes.txt", "text": "hi"}'))
    assert result.content == "wrote /tmp/notes.txt" and ran == ["/tmp/notes.txt"]


async def test_async_approvers_and_per_tool_selection() -> None:
    asked: list[str] = []

    async def approver(request: fx.resilience.Approve) -> fx.resilience.Decision:
        await anyio.lowlevel.checkpoint()
        assert isinstance(request.subject, fx.ToolCall)
        asked.append(request.subject.name)
        return fx.resilience.deny("read-only session")

    tools = approvals(approver, tools=["write"])(local_tools([write, read]))
    assert (await tools(fx.ToolCall(id="1", name="read", arguments='{"path": "a"}'))).content == "contents"
    denied = await tools(fx.ToolCall(id="2", name="write", arguments='{"path": "a", "text": ""}'))
    assert denied.error == fx.ToolError(kind="denied", message="read-only session")
    assert asked == ["write"] and ran == ["read a"]


async def test_each_call_of_a_batch_is_approved_on_its_own_and_results_keep_call_order() -> None:
    seen: list[str] = []
    inner = local_tools([write, read])

    async def spy(effect: Any) -> Any:
        assert type(effect) is fx.ToolCall  # perform sends the calls one by one
        seen.append(effect.id)
        return await inner(effect)

    batch = fx.Parallel(
        calls=[
            fx.ToolCall(id="1", name="read", arguments='{"path": "/tmp/a"}'),
            fx.ToolCall(id="2", name="write", arguments='{"path": "/etc/x", "text": ""}'),
            fx.ToolCall(id="3", name="write", arguments='{"path": "/tmp/b", "text": ""}'),
        ]
    )
    results = await perform(approvals(sandbox)(spy), batch)
    assert [r.call_id for r in results] == ["1", "2", "3"]
    assert [r.error.kind if r.error else r.content for r in results] == ["contents", "denied", "wrote /tmp/b"]
    assert sorted(seen) == ["1", "3"]

    seen.clear()
    all_denied = fx.Parallel(
        calls=[fx.ToolCall(id="9", name="write", arguments='{"path": "/etc/y", "text": ""}')]
    )
    (only,) = await perform(approvals(sandbox)(spy), all_denied)
    assert only.error is not None and seen == []  # nothing left to run: the inner is not called


async def test_model_replies_can_be_denied_without_losing_the_conversation() -> None:
    def no_secrets(request: fx.resilience.Approve) -> fx.resilience.Decision:
        subject = request.subject
        assert isinstance(subject, fx.ModelReply) and request.request is not None
        if "password" in (subject.message.content or ""):
            return fx.resilience.deny("the reply contained a password")
        return fx.resilience.allow()

    model = sequence(
        [fx.ModelReply(message=fx.assistant("the password is hunter2"), usage=fx.Usage(prompt_tokens=7))]
    )
    interp = approvals(no_secrets, tools=False, models=True)(agent_interpreter(AGENT, model=model))
    final = await run(AGENT, interp, "what is the password?")
    assert final.messages[0] == fx.user("what is the password?")  # nothing wiped (tower-llm's bug)
    last = final.last_reply
    assert last is not None and last.refusal == "denied: the reply contained a password"
    assert not last.content and not last.tool_calls
    assert final.usage.prompt_tokens == 7 and final.stop is not None


async def test_model_replies_can_be_replaced() -> None:
    def polite(request: fx.resilience.Approve) -> fx.resilience.Decision:
        return fx.resilience.modify(reply=fx.ModelReply(message=fx.assistant("Hello!")))

    interp = approvals(polite, tools=False, models=True)(agent_interpreter(AGENT, model=sequence(["yo"])))
    assert (await run(AGENT, interp, "hi")).output == "Hello!"


async def test_approve_can_be_routed_to_the_inner_interpreter() -> None:
    asked: list[fx.resilience.Approve] = []

    async def reviewer(effect: Any) -> Any:
        asked.append(effect)
        return fx.resilience.allow()

    tools = local_tools([read])
    interp = approvals()(by_type({fx.ToolCall: tools, fx.resilience.Approve: reviewer}))
    result = await interp(fx.ToolCall(id="1", name="read", arguments='{"path": "x"}'))
    assert result.content == "contents" and asked == [
        fx.resilience.Approve(subject=fx.ToolCall(id="1", name="read", arguments='{"path": "x"}'))
    ]


async def test_a_bad_approver_is_an_approval_error() -> None:
    tools = approvals(lambda request: "yes")(local_tools([read]))  # type: ignore[arg-type,return-value]
    with pytest.raises(fx.resilience.ApprovalError, match="must return a Decision"):
        await tools(fx.ToolCall(id="1", name="read", arguments='{"path": "x"}'))
    tools = approvals(lambda request: fx.resilience.modify(reply=fx.ModelReply(message=fx.assistant("x"))))(
        local_tools([read])
    )
    with pytest.raises(fx.resilience.ApprovalError):
        await tools(fx.ToolCall(id="1", name="read", arguments='{"path": "x"}'))
    assert ran == []


async def test_a_human_in_the_loop_over_a_channel() -> None:
    approver, requests = approval_channel()
    model = sequence(
        [
            fx.assistant(
                None,
                call("c1", "write", path="/tmp/a", text="x"),
                call("c2", "write", path="/tmp/b", text="y"),
            ),
            "done",
        ]
    )
    interp = approvals(approver)(agent_interpreter(AGENT, model=model))
    reviewed: list[str] = []

    async def human() -> None:
        async with requests:
            async for pending in requests:
                subject = pending.request.subject
                assert isinstance(subject, fx.ToolCall)
                reviewed.append(subject.id)
                if subject.id == "c1":
                    await pending.allow()
                else:
                    await pending.deny("not b")

    async with anyio.create_task_group() as tg:
        tg.start_soon(human)
        final = await run(AGENT, interp, "write both")
        await approver.aclose()
    assert reviewed == ["c1", "c2"] and ran == ["/tmp/a"]
    assert [m.content for m in final.messages if isinstance(m, fx.ToolMessage)] == [
        "wrote /tmp/a",
        "error (denied): not b",
    ]


async def test_channel_failures_are_approval_errors() -> None:
    approver, requests = approval_channel()
    request = fx.resilience.Approve(subject=fx.ToolCall(id="1", name="write"))

    async def give_up() -> None:
        pending = await requests.receive()
        await pending.aclose()

    async with anyio.create_task_group() as tg:
        tg.start_soon(give_up)
        with pytest.raises(fx.resilience.ApprovalError, match="without a decision"):
            await approver(request)

    # A decision that arrives after the run stopped waiting is reported, not lost silently.
    parked: list[PendingApproval] = []

    async def slow_human() -> None:
        parked.append(await requests.receive())

    async with anyio.create_task_group() as tg:
        tg.start_soon(slow_human)
        with anyio.move_on_after(0.05):
            await approver(request)
    with pytest.raises(fx.resilience.ApprovalError, match="nobody waits"):
        await parked[0].allow()
    with pytest.raises(TypeError):
        await parked[0].decide("yes")  # type: ignore[arg-type]

    requests.close()
    with pytest.raises(fx.resilience.ApprovalError, match="nobody reads"):
        await approver(request)
    await approver.aclose()


def test_bad_configuration_and_repr() -> None:
    with pytest.raises(TypeError):
        approvals(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="did you mean"):
        approvals(sandbox, tools="write")
    assert repr(approvals(sandbox, tools=["write"])) == "approvals(sandbox, tools=['write'], models=False)"
