"""Function tools: the registry, how a call is run, and the two built-in tools."""

import json
import time

import pytest

from chat.tools import ToolRegistry, registry
from chat.tools.builtin import calculator, current_time
from chat.tools.registry import ToolError


@pytest.mark.parametrize(
    ("expression", "result"),
    [
        ("6*7", "42"),
        ("(2 + 3) * 4 ** 2 / 8", "10"),
        ("7 // 2 + 7 % 2", "4"),
        ("-3 ** 2", "-9"),
        ("2 ** -2", "0.25"),
        ("1.5 + +1", "2.5"),
        ("2 ** 100", str(2**100)),
    ],
)
def test_the_calculator_computes_arithmetic(expression, result):
    assert calculator(expression) == result


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("__import__('os').system('true')", "only numbers"),
        ("abs(-1)", "only numbers"),
        ("x + 1", "only numbers"),
        ("(1).real", "only numbers"),
        ("[1, 2]", "only numbers"),
        ("1 < 2", "only numbers"),
        ("True + 1", "only numbers"),
        ("'a' * 3", "only numbers"),
        ("1 / 0", "division by zero"),
        ("9 ** 9 ** 9", "exponents are limited"),
        ("99999 ** 999", "too large"),
        ("(2 ** 999) ** 10", "too large"),
        ("10.0 ** 400", "too large"),
        ("(-8) ** 0.5", "not a real number"),
        ("1 +", "not an arithmetic expression"),
        ("1" * 201, "longer than 200"),
    ],
)
def test_the_calculator_refuses_anything_else_with_a_reason(expression, why):
    with pytest.raises(ToolError, match=why):
        calculator(expression)


def test_the_calculator_answers_big_exponents_quickly():
    started = time.monotonic()
    for expression in ("2 ** 1000 ** 1000", "(10 ** 300) ** 1000", "9 ** 9 ** 9 ** 9"):
        with pytest.raises(ToolError):
            calculator(expression)
    assert time.monotonic() - started < 0.5


def test_current_time_names_the_zone_and_refuses_unknown_ones():
    assert "Asia/Tokyo" in current_time("Asia/Tokyo") and "JST" in current_time("Asia/Tokyo")
    assert current_time().endswith("in UTC")
    for bad in ("Mars/Olympus", "../../etc/passwd", ""):
        with pytest.raises(ToolError, match="unknown time zone"):
            current_time(bad)


def test_the_built_ins_are_registered_with_json_schemas():
    assert {"calculator", "current_time"} <= {tool.name for tool in registry}
    schema = registry.get("calculator").responses_schema()
    assert schema["type"] == "function" and schema["name"] == "calculator"
    assert schema["parameters"]["required"] == ["expression"]
    nested = registry.get("current_time").assistants_schema()
    assert nested["function"]["name"] == "current_time"


@pytest.fixture
def tools():
    tools = ToolRegistry()

    @tools.function_tool(
        name="echo",
        description="Says it back.",
        parameters={"type": "object", "properties": {"text": {"type": "string"}}},
    )
    def echo(text: str) -> dict:
        return {"said": text}

    @tools.function_tool(name="boom", description="Fails.", parameters={}, timeout=0.2)
    def boom(seconds: float = 0) -> str:
        time.sleep(seconds)
        raise RuntimeError("internal detail")

    return tools


async def test_a_call_returns_the_functions_output_as_text(tools):
    output = await tools.call("echo", '{"text": "hi"}', allowed=["echo"])
    assert json.loads(output) == {"said": "hi"}


@pytest.mark.parametrize(
    ("name", "arguments", "allowed", "why"),
    [
        ("nope", "{}", ["nope"], "no function tool named 'nope'"),
        ("echo", "{}", [], "no function tool named 'echo'"),  # registered, not offered
        ("echo", "{not json", ["echo"], "not valid JSON"),
        ("echo", "[1]", ["echo"], "must be a JSON object"),
        ("echo", '{"txt": "hi"}', ["echo"], "do not fit echo"),
        ("boom", "{}", ["boom"], "boom failed unexpectedly"),
        ("boom", '{"seconds": 1}', ["boom"], "did not finish within 0.2 seconds"),
    ],
)
async def test_a_bad_call_becomes_an_error_output_not_an_exception(
    tools, name, arguments, allowed, why
):
    output = await tools.call(name, arguments, allowed=allowed)
    assert output.startswith("Error:") and why in output
    assert "internal detail" not in output


def test_two_tools_cannot_share_a_name(tools):
    with pytest.raises(ValueError, match="already registered"):
        tools.function_tool(name="echo", description="", parameters={})(lambda: "")
