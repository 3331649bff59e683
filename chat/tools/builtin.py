"""The built-in function tools: the current time in a time zone, and a safe calculator."""

import ast
import math
import operator
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .registry import ToolError, function_tool

MAX_EXPRESSION_CHARS = 200
MAX_EXPONENT = 1000
# Integers beyond this many bits are refused before they are computed (10**300 is ~1000 bits).
MAX_RESULT_BITS = 4096


@function_tool(
    name="current_time",
    description="The current date and time in a time zone.",
    parameters={
        "type": "object",
        "properties": {
            "timezone": {
                "type": "string",
                "description": "An IANA time zone name, e.g. Europe/Lisbon or America/New_York. "
                "Defaults to UTC.",
            }
        },
        "additionalProperties": False,
    },
)
def current_time(timezone: str = "UTC") -> str:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(
            f"unknown time zone {timezone!r}; use an IANA name such as Europe/Paris."
        ) from None
    now = datetime.now(zone)
    return f"{now:%A %Y-%m-%d %H:%M:%S} {now.tzname()} (UTC{now:%z}) in {timezone}"


_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def _power(base, exponent):
    if abs(exponent) > MAX_EXPONENT:
        raise ToolError(f"exponents are limited to {MAX_EXPONENT}.")
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        if base.bit_length() * exponent > MAX_RESULT_BITS:
            raise ToolError("the result would be too large.")
    return operator.pow(base, exponent)


def _evaluate(node):
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            result = _power(left, right)
        else:
            result = _BINARY[type(node.op)](left, right)
        if isinstance(result, int) and result.bit_length() > MAX_RESULT_BITS:
            raise ToolError("the result would be too large.")
        if isinstance(result, complex):
            raise ToolError("the result is not a real number.")
        return result
    raise ToolError("only numbers, + - * / // % **, unary minus and parentheses are allowed.")


@function_tool(
    name="calculator",
    description="Evaluates an arithmetic expression: numbers, + - * / // % ** and parentheses.",
    parameters={
        "type": "object",
        "properties": {
            "expression": {
                "type": "string",
                "description": "The expression, e.g. (2 + 3) * 4 ** 2 / 7",
            }
        },
        "required": ["expression"],
        "additionalProperties": False,
    },
)
def calculator(expression: str) -> str:
    """Parses with `ast` and walks only the allowed nodes: no names, calls or attributes."""
    if not isinstance(expression, str):
        raise ToolError("the expression must be a string.")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters.")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        raise ToolError(f"{expression!r} is not an arithmetic expression.") from None
    try:
        result = _evaluate(tree)
    except ZeroDivisionError:
        raise ToolError("division by zero.") from None
    except OverflowError:
        raise ToolError("the result is too large.") from None
    if isinstance(result, float):
        if math.isnan(result) or math.isinf(result):
            raise ToolError("the result is not a finite number.")
        if result.is_integer() and abs(result) < 2**53:
            return str(int(result))
    return str(result)
