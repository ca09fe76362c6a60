"""The providers' own SDK code, run offline over our tool definitions and results.

Driven by tests/formats.rs (with the interpreter tests/support/python.rs finds):

  provider_sdks.py definitions FILE   FILE maps tool name -> format -> definition;
                                      checks each with its provider's SDK and a
                                      2020-12 metaschema validator
  provider_sdks.py calls              prints tool calls built with the SDKs' types
  provider_sdks.py results FILE       checks the tool results in FILE with the SDKs' types
  provider_sdks.py deferred FILE      checks FILE, a request's Anthropic `tools` list with
                                      deferred tools and a tool-search server tool, with
                                      the Anthropic SDK's ToolUnionParam types

Each mode prints one JSON object; any failed check is listed under "failures"
(the Rust test asserts there are none, and that the counts are what it sent).
"""

import json
import sys

import jsonschema
from anthropic import transform_schema
from anthropic.types import (
    ToolParam,
    ToolResultBlockParam,
    ToolSearchToolBm25_20251119Param,
    ToolSearchToolRegex20251119Param,
    ToolUnionParam,
    ToolUseBlock,
)
from google.genai import types as genai
from mcp.types import Tool as McpTool
from openai.lib._pydantic import _ensure_strict_json_schema
from openai.types.chat import (
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionToolMessageParam,
)
from openai.types.responses import FunctionToolParam, ResponseFunctionToolCall
from openai.types.responses.response_input_param import FunctionCallOutput
from pydantic import TypeAdapter
from pydantic_ai.profiles.openai import OpenAIJsonSchemaTransformer, _OpenAIJsonSchemaTransformer

failures = []
checked = {}


def check(name, what, fn):
    """Runs one check; a raised exception is a failure naming tool and check."""
    try:
        fn()
        checked[what] = checked.get(what, 0) + 1
    except Exception as error:  # noqa: BLE001 - every failure is reported
        failures.append(f"{name}: {what}: {type(error).__name__}: {error}")


def metaschema(schema):
    jsonschema.Draft202012Validator.check_schema(schema)


def strict_compatible(transformer, schema):
    walker = transformer(json.loads(json.dumps(schema)), strict=None)
    walker.walk()
    return walker.is_strict_compatible


def openai_strict(name, definition):
    function = definition["function"]
    parameters = function["parameters"]
    TypeAdapter(ChatCompletionFunctionToolParam).validate_python(definition)
    if function["strict"]:
        # pydantic-ai's strict-compatibility check, both the shared one (no
        # length constraints) and the one it uses for OpenAI's own API (size limits).
        for transformer in (OpenAIJsonSchemaTransformer, _OpenAIJsonSchemaTransformer):
            assert strict_compatible(transformer, parameters), f"{transformer.__name__} says not strict-compatible"
        # The OpenAI SDK's own strict transform has nothing left to change.
        copy = json.loads(json.dumps(parameters))
        assert _ensure_strict_json_schema(copy, path=(), root=copy) == parameters, "the OpenAI SDK would change it"
    else:
        # Our fallback must be needed: pydantic-ai agrees it cannot be strict.
        assert not strict_compatible(OpenAIJsonSchemaTransformer, parameters), "pydantic-ai says it could be strict"
    metaschema(parameters)


def gemini_json_schema(definition):
    genai.FunctionDeclaration.model_validate(definition)
    schema = genai.JSONSchema.model_validate(definition["parameters_json_schema"])
    for api in ("GEMINI_API", "VERTEX_AI"):
        genai.Schema.from_json_schema(json_schema=schema, api_option=api, raise_error_on_unsupported_field=True)
    metaschema(definition["parameters_json_schema"])


def definitions(path):
    with open(path) as file:
        tools = json.load(file)
    for name, formats in tools.items():
        check(name, "json-schema metaschema", lambda: metaschema(formats["json-schema"]))
        check(name, "openai", lambda: TypeAdapter(ChatCompletionFunctionToolParam).validate_python(formats["openai"]))
        check(name, "openai-strict", lambda: openai_strict(name, formats["openai-strict"]))
        check(
            name,
            "openai-responses",
            lambda: TypeAdapter(FunctionToolParam).validate_python(formats["openai-responses"]),
        )
        check(name, "anthropic ToolParam", lambda: TypeAdapter(ToolParam).validate_python(formats["anthropic"]))
        check(name, "anthropic transform_schema", lambda: transform_schema(formats["anthropic"]["input_schema"]))
        check(name, "anthropic metaschema", lambda: metaschema(formats["anthropic"]["input_schema"]))
        check(name, "gemini json schema", lambda: gemini_json_schema(formats["gemini"]))
        check(name, "gemini openapi", lambda: genai.FunctionDeclaration.model_validate(formats["gemini-openapi"]))
        check(name, "mcp Tool", lambda: McpTool.model_validate(formats["mcp"]))
        check(name, "mcp metaschema", lambda: (metaschema(formats["mcp"]["inputSchema"]), metaschema(formats["mcp"]["outputSchema"])))
    # The checks bite: a canonical schema with `oneOf`/`const` is refused by google-genai.
    canonical = tools.get("http_request", {}).get("json-schema")
    if canonical is not None:
        try:
            genai.Schema.from_json_schema(
                json_schema=genai.JSONSchema.model_validate({k: v for k, v in canonical.items() if k != "$schema"}),
                raise_error_on_unsupported_field=True,
            )
            failures.append("http_request: google-genai accepted the raw canonical schema; the check does not bite")
        except ValueError:
            checked["gemini refuses the raw schema"] = 1
    print(json.dumps({"checked": checked, "failures": failures}))


def calls():
    """Tool calls of `add` as each SDK's own types write them."""
    arguments = {"a": 2, "b": 40}
    chat = ChatCompletionMessageFunctionToolCall(
        id="call_Qx1", type="function", function={"name": "add", "arguments": json.dumps(arguments)}
    )
    responses = ResponseFunctionToolCall(
        id="fc_67", call_id="call_Rx2", type="function_call", name="add", arguments=json.dumps(arguments), status="completed"
    )
    anthropic = ToolUseBlock(id="toolu_01A", type="tool_use", name="add", input=arguments)
    gemini = genai.Part(function_call=genai.FunctionCall(id="gem-1", name="add", args=arguments))
    print(
        json.dumps(
            {
                "openai-chat": chat.model_dump(mode="json", exclude_none=True),
                "openai-responses": responses.model_dump(mode="json", exclude_none=True),
                "anthropic": anthropic.model_dump(mode="json", exclude_none=True),
                "gemini": gemini.model_dump(mode="json", by_alias=True, exclude_none=True),
            }
        )
    )


def results(path):
    """Results (and error results) as each SDK's request types accept them."""
    with open(path) as file:
        replies = json.load(file)
    validators = {
        "openai-chat": lambda r: TypeAdapter(ChatCompletionToolMessageParam).validate_python(r, strict=True),
        "openai-responses": lambda r: TypeAdapter(FunctionCallOutput).validate_python(r, strict=True),
        "anthropic": lambda r: TypeAdapter(ToolResultBlockParam).validate_python(r, strict=True),
        "gemini": lambda r: genai.Part.model_validate(r),
    }
    for provider, reply_list in replies.items():
        for reply in reply_list:
            check(provider, "result", lambda: validators[provider](reply))
    print(json.dumps({"checked": checked, "failures": failures}))


def typed_dict_keys(kind, entry):
    """A TypedDict validation ignores unknown keys: a misspelt `defer_loading`
    would pass. Every key must be one the SDK's type declares."""
    unknown = set(entry) - set(kind.__annotations__)
    assert not unknown, f"keys {sorted(unknown)} are not in {kind.__name__}"
    TypeAdapter(kind).validate_python(entry, strict=True)


def deferred(path):
    """Requests' tools with deferred loading (FILE maps a label to a `tools`
    list), checked with the SDK's types."""
    with open(path) as file:
        requests = json.load(file)
    searches = {
        "tool_search_tool_bm25_20251119": ToolSearchToolBm25_20251119Param,
        "tool_search_tool_regex_20251119": ToolSearchToolRegex20251119Param,
    }
    for label, tools in requests.items():
        check(label, "anthropic ToolUnionParam list", lambda: TypeAdapter(list[ToolUnionParam]).validate_python(tools))
        for entry in tools:
            kind = searches.get(entry.get("type"), ToolParam)
            name = f"{label}: {entry.get('name', '?')}"
            check(name, f"anthropic {kind.__name__}", lambda: typed_dict_keys(kind, entry))
            if kind is ToolParam:
                check(name, "anthropic transform_schema", lambda: transform_schema(entry["input_schema"]))
        checked[f"{label} deferred"] = sum(1 for entry in tools if entry.get("defer_loading") is True)
    # The key check bites: a misspelt key is refused.
    try:
        typed_dict_keys(ToolParam, {"name": "x", "input_schema": {"type": "object"}, "deferLoading": True})
        failures.append("x: a misspelt deferLoading passed the key check; the check does not bite")
    except AssertionError:
        checked["misspelt key refused"] = 1
    print(json.dumps({"checked": checked, "failures": failures}))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "definitions":
        definitions(sys.argv[2])
    elif mode == "calls":
        calls()
    elif mode == "results":
        results(sys.argv[2])
    elif mode == "deferred":
        deferred(sys.argv[2])
    else:
        sys.exit(f"unknown mode {mode}")
