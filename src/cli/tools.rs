//! `rustchain tools ...`: list, show, schema, call, search and document the linked tools.

use clap::{Args, Subcommand};
use rustchain_tools::formats::anthropic::{self, ToolSearch};
use rustchain_tools::formats::{
    Format, FormatOptions, GeminiParameters, OpenAiApi, ToolDefinition, tool_definition,
    tool_definitions,
};
use rustchain_tools::policy::Discovery;
use rustchain_tools::{Manifest, Tool, ToolContext, ToolManifest, ToolQuery};
use serde_json::{Map, Value};

use super::{Exit, Session, executor, lock, out_file, register, scan, view};

mod publish;

/// Shown after `rustchain tools --help`.
pub(super) const AFTER_HELP: &str = "\
Examples:
  rustchain tools list                        every linked tool
  rustchain tools search text                 tools about text, best match first
  rustchain tools show text_stats             one tool in full
  rustchain tools call time_now               call a tool that takes no arguments
  rustchain tools lock --check                fail if a tool changed since it was pinned
  rustchain tools security-scan               what a reviewer should look at, with a score";

const LIST_AFTER_HELP: &str = "\
Examples:
  rustchain tools list                        a table: name, description, tags
  rustchain tools list --json                 the manifest of every tool, schemas included
  rustchain tools list --json --compact       the same without the schemas (digests stay)
  rustchain tools list --json | jq -r '.tools[].name'

With --json the result is {\"format\": 1, \"tools\": [...]}, one tool manifest
each, ordered by name; `tools show NAME --json` prints one of them.";

const SHOW_AFTER_HELP: &str = "\
Examples:
  rustchain tools show text_stats             description, parameters, hints, source
  rustchain tools show text_stats --json      its manifest: the same, plus both schemas
                                              and their digests

An unknown NAME exits with status 2 and suggests close names.";

const SCHEMA_AFTER_HELP: &str = "\
Examples:
  rustchain tools schema text_stats           the JSON Schema of its arguments
  rustchain tools schema text_stats --output  the JSON Schema of its result
  rustchain tools schema --all                {\"text_stats\": {...}, ...} for every tool
  rustchain tools schema text_stats --format openai-strict
  rustchain tools schema --all --format anthropic > tools.json
  rustchain tools schema --all --format openai --responses
  rustchain tools schema --all --format gemini --openapi
  rustchain tools schema --all --format anthropic --defer --always 'text_*'

Formats: json-schema (default: JSON Schema 2020-12), openai (a Chat
Completions function tool; --responses for the Responses API's flat shape),
openai-strict (the same in strict mode; a tool that cannot be strict gets
`strict: false` and a warning on stderr saying why), anthropic (a Messages
API tool with input_schema), gemini (a function declaration with
parameters_json_schema; --openapi for the OpenAPI-subset `parameters`),
mcp (the MCP Tool object, as tools/list lists it).

With --all --format anthropic --defer, every tool but those named by
--always carries `defer_loading: true` and Anthropic's tool-search server
tool (--tool-search bm25, the default, or regex) comes last, so the model
loads a definition only when its search finds the tool.

With --all, json-schema prints one object keyed by tool name; every other
format prints a list of definitions in name order, ready to pass as a
request's tools. Always printed as JSON.";

const CALL_AFTER_HELP: &str = "\
Examples:
  rustchain tools call text_stats --args '{\"text\": \"one two\"}'
  echo '{\"text\": \"one two\"}' | rustchain tools call text_stats
  rustchain tools call text_stats --args - --json < args.json   {\"ok\": true, \"output\": ...}
  rustchain --policy ci.toml --audit ci-audit.jsonl tools call fs_read --args '{\"path\": \"README.md\"}'

The call goes through the executor: the policy (--policy, $RUSTCHAIN_POLICY,
or ./rustchain.toml; no file there means nothing is granted) decides it, and
the audit trail (--audit, $RUSTCHAIN_AUDIT, or .rustchain/audit.jsonl beside the policy,
created on first use) records a decision before the tool runs and a result
after. A policy that does not load, or whose examples fail, runs nothing.
When the policy says `ask`, you are asked on the terminal; when stdin is not
a terminal nobody can answer, so `ask` denies the call.

The arguments come from --args; from stdin when --args is `-`, or when it is
absent and stdin is not a terminal; otherwise they are `{}`.
Exit status: 0 when the call succeeded; 1 when it ended in an error of any kind
(a denial by the policy included), printed as `error[KIND]: MESSAGE` on stderr,
or with --json as {\"ok\": false, \"error\": {\"kind\": ..., \"message\": ...,
\"path\": ...}} on stdout; 2 when the policy or the audit trail cannot be used.";

const DOCS_AFTER_HELP: &str = "\
Examples:
  rustchain tools docs                        the reference, on stdout
  rustchain tools docs --out TOOLS.md         written to a file

Per tool: its description, a parameter table (type, required, description),
what it declares it touches, its hints, tags, result type and source, and an
example call whose arguments satisfy its schema.";

const SEARCH_AFTER_HELP: &str = "\
Examples:
  rustchain tools search \"how many words are in this text\"
  rustchain tools search statistics           stems and prefixes: finds text_stats
  rustchain tools search --tag time --read-only
  rustchain tools search \"count words\" --limit 3 --json

Tools are ranked by relevance (BM25 over name, title, tags, description and
parameters, with stemming and typo tolerance); any word may match, the best
match comes first. Tags and --read-only filter. Finding nothing is not an
error (status 0).";

#[derive(Debug, Subcommand)]
pub(super) enum ToolsCommand {
    /// List every linked tool, by name.
    #[command(after_help = LIST_AFTER_HELP)]
    List(ListArgs),
    /// Show everything about one tool.
    #[command(after_help = SHOW_AFTER_HELP)]
    Show {
        /// The tool's name.
        name: String,
    },
    /// Print a tool's input (or output) JSON Schema.
    #[command(after_help = SCHEMA_AFTER_HELP)]
    Schema(SchemaArgs),
    /// Call a tool with JSON arguments and print its result.
    #[command(after_help = CALL_AFTER_HELP)]
    Call(CallArgs),
    /// Find tools by words, tags and hints, best match first.
    #[command(after_help = SEARCH_AFTER_HELP)]
    Search(SearchArgs),
    /// A Markdown reference of the linked tools, to stdout or a file.
    #[command(after_help = DOCS_AFTER_HELP)]
    Docs(DocsArgs),
    /// Look for what a reviewer should: contradicting hints, unguarded
    /// resources, instructions in descriptions, broad grants, changed pins.
    #[command(after_help = scan::SCAN_AFTER_HELP)]
    SecurityScan(scan::ScanArgs),
    /// Pin every tool definition in rustchain.lock; --check fails on changes.
    #[command(after_help = lock::LOCK_AFTER_HELP)]
    Lock(lock::LockArgs),
    /// Link a `.rs` file of `#[tool]` functions, or a tool crate, into this
    /// project's agent and build it; --list shows what is registered.
    #[command(after_help = register::REGISTER_AFTER_HELP)]
    Register(register::RegisterArgs),
    /// Remove a registered crate from this project's agent and rebuild it.
    #[command(after_help = register::UNREGISTER_AFTER_HELP)]
    Unregister(register::UnregisterArgs),
    /// Make a new tool crate: one documented tool and its test.
    #[command(after_help = register::NEW_AFTER_HELP)]
    New(register::NewArgs),
    /// Publish tools to a marketplace index: package, quality, checklist,
    /// signature; --dry-run checks and shows everything, writes nothing.
    #[command(after_help = publish::PUBLISH_AFTER_HELP)]
    Publish(publish::PublishArgs),
}

#[derive(Debug, Args)]
pub(super) struct DocsArgs {
    /// Write the reference to this file (whole, or not at all) instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(super) struct ListArgs {
    /// With --json: leave out each tool's schemas (their digests stay).
    #[arg(long)]
    compact: bool,
}

#[derive(Debug, Args)]
pub(super) struct SchemaArgs {
    /// The tool's name.
    #[arg(required_unless_present = "all")]
    name: Option<String>,
    /// Every tool's schema, as one object keyed by tool name.
    #[arg(long, conflicts_with = "name")]
    all: bool,
    /// The schema of the result instead of the arguments (json-schema only).
    #[arg(long)]
    output: bool,
    /// The format: json-schema, openai, openai-strict, anthropic, gemini or mcp.
    #[arg(
        long,
        short = 'f',
        value_name = "FORMAT",
        default_value = "json-schema"
    )]
    format: Format,
    /// With openai or openai-strict: the Responses API's flat shape, not Chat Completions'.
    #[arg(long)]
    responses: bool,
    /// With gemini: the OpenAPI-subset `parameters`, not `parameters_json_schema`.
    #[arg(long)]
    openapi: bool,
    /// With --all --format anthropic: mark every tool but the --always ones
    /// `defer_loading: true` and add Anthropic's tool-search server tool.
    #[arg(long)]
    defer: bool,
    /// With --defer: a tool (glob) loaded from the start; repeat for several.
    #[arg(long, value_name = "GLOB", requires = "defer")]
    always: Vec<String>,
    /// With --defer: Anthropic's tool search, bm25 (natural language) or regex.
    #[arg(long, value_name = "KIND", default_value = "bm25", requires = "defer")]
    tool_search: ToolSearch,
}

#[derive(Debug, Args)]
pub(super) struct CallArgs {
    /// The tool's name.
    name: String,
    /// The arguments, a JSON object; `-` reads them from stdin.
    #[arg(long = "args", short = 'a', value_name = "JSON")]
    arguments: Option<String>,
    /// The call's id, as a model's tool call names it, recorded in the audit
    /// trail (default: one unique to this run).
    #[arg(long, value_name = "ID")]
    call_id: Option<String>,
}

#[derive(Debug, Args)]
pub(super) struct SearchArgs {
    /// Words to look for; every one must match somewhere. Empty: every tool.
    #[arg(default_value = "")]
    query: String,
    /// Only tools with this tag (repeat for several; all must be present).
    #[arg(long = "tag", short = 't', value_name = "TAG")]
    tags: Vec<String>,
    /// Only tools marked read-only.
    #[arg(long)]
    read_only: bool,
    /// At most this many results.
    #[arg(long, short = 'n', value_name = "N")]
    limit: Option<usize>,
}

pub(super) fn run(command: ToolsCommand, session: &mut Session<'_>) -> Exit {
    match command {
        ToolsCommand::List(args) => list(session, &args),
        ToolsCommand::Show { name } => show(session, &name),
        ToolsCommand::Schema(args) => schema(session, &args),
        ToolsCommand::Call(args) => call(session, &args),
        ToolsCommand::Search(args) => search(session, args),
        ToolsCommand::Docs(args) => docs(session, &args),
        ToolsCommand::Lock(args) => lock::lock(session, &args),
        ToolsCommand::SecurityScan(args) => scan::security_scan(session, &args),
        ToolsCommand::Register(args) => register::register(session, &args),
        ToolsCommand::Unregister(args) => register::unregister(session, &args),
        ToolsCommand::New(args) => register::new(session, &args),
        ToolsCommand::Publish(args) => publish::publish(session, &args),
    }
}

fn list(session: &mut Session<'_>, args: &ListArgs) -> Exit {
    let registry = session.registry;
    let manifest = Manifest::of(registry);
    if session.json {
        let mut document = view::to_json(&manifest);
        if args.compact {
            document["tools"] = manifest.tools.iter().map(view::compact).collect();
        }
        session.out = view::pretty(&document);
    } else if registry.is_empty() {
        session.err = format!(
            "no tools are linked into `{}`; link a tool crate with `use my_tools as _;`\n",
            session.program
        );
    } else {
        session.out = view::table(&manifest.tools, session.terminal.width);
    }
    Exit::Success
}

fn show(session: &mut Session<'_>, name: &str) -> Exit {
    let Some(tool) = find(session, name) else {
        return Exit::Usage;
    };
    let manifest = ToolManifest::of(tool);
    session.out = if session.json {
        view::pretty(&view::to_json(&manifest))
    } else {
        view::describe(&manifest)
    };
    Exit::Success
}

fn schema(session: &mut Session<'_>, args: &SchemaArgs) -> Exit {
    if let Some(problem) = schema_flag_problem(args) {
        session.err = format!("error: {problem}\n");
        return Exit::Usage;
    }
    if args.format != Format::Canonical {
        return definitions(session, args);
    }
    let pick = |tool: Tool<'_>| {
        if args.output {
            tool.output_schema().as_value().clone()
        } else {
            tool.input_schema().as_value().clone()
        }
    };
    let schema = match &args.name {
        Some(name) => match find(session, name) {
            Some(tool) => pick(tool),
            None => return Exit::Usage,
        },
        None => Value::Object(
            session
                .registry
                .tools()
                .map(|tool| (tool.name().to_owned(), pick(tool)))
                .collect::<Map<String, Value>>(),
        ),
    };
    session.out = view::pretty(&schema);
    Exit::Success
}

/// A flag that does not fit the chosen format, said rather than ignored.
fn schema_flag_problem(args: &SchemaArgs) -> Option<String> {
    let openai = matches!(args.format, Format::OpenAi | Format::OpenAiStrict);
    if args.output && args.format != Format::Canonical {
        return Some(format!(
            "--output is for --format json-schema; the {} definition describes the arguments",
            args.format
        ));
    }
    if args.responses && !openai {
        return Some("--responses is for --format openai or openai-strict".to_owned());
    }
    if args.openapi && args.format != Format::Gemini {
        return Some("--openapi is for --format gemini".to_owned());
    }
    if args.defer && (args.format != Format::Anthropic || !args.all) {
        return Some("--defer is for --all --format anthropic".to_owned());
    }
    None
}

/// `tools schema --format PROVIDER`: one definition, or every tool's in a list.
fn definitions(session: &mut Session<'_>, args: &SchemaArgs) -> Exit {
    let options = FormatOptions {
        openai_api: if args.responses {
            OpenAiApi::Responses
        } else {
            OpenAiApi::ChatCompletions
        },
        gemini_parameters: if args.openapi {
            GeminiParameters::OpenApi
        } else {
            GeminiParameters::Json
        },
    };
    if args.defer {
        return deferred(session, args);
    }
    let defined: Vec<ToolDefinition> = match &args.name {
        Some(name) => match find(session, name) {
            Some(tool) => vec![tool_definition(
                &ToolManifest::of(tool),
                args.format,
                &options,
            )],
            None => return Exit::Usage,
        },
        None => tool_definitions(&Manifest::of(session.registry), args.format, &options),
    };
    for warning in defined.iter().flat_map(|definition| &definition.warnings) {
        session.err.push_str(&format!("warning: {warning}\n"));
    }
    let document = match (&args.name, defined.as_slice()) {
        (Some(_), [one]) => one.value.clone(),
        _ => defined
            .into_iter()
            .map(|definition| definition.value)
            .collect(),
    };
    session.out = view::pretty(&document);
    Exit::Success
}

/// `tools schema --all --format anthropic --defer`: every definition but
/// the always-loaded ones deferred, and Anthropic's tool search.
fn deferred(session: &mut Session<'_>, args: &SchemaArgs) -> Exit {
    let discovery = match Discovery::deferred(&args.always) {
        Ok(discovery) => discovery,
        Err(err) => {
            session.err = format!("error: {err} (given with --always)\n");
            return Exit::Usage;
        }
    };
    let tools = anthropic::deferred_definitions(
        &Manifest::of(session.registry),
        &discovery,
        args.tool_search,
    );
    session.out = view::pretty(&Value::Array(tools));
    Exit::Success
}

fn call(session: &mut Session<'_>, args: &CallArgs) -> Exit {
    let interactive = session.input.is_terminal;
    let setup = match session.governance.open(session.registry, interactive) {
        Ok(setup) => setup,
        Err(err) => {
            session.err = executor::setup_advice(&err, &session.program);
            return Exit::Usage;
        }
    };
    session.err.push_str(&executor::setup_notes(&setup));
    let executor = setup.executor;
    let limits = executor.policy().arg_limits();
    let text = match session.input.arguments(args.arguments.as_deref(), limits) {
        Ok(text) => text,
        Err(message) => {
            session.err.push_str(&format!("error: {message}\n"));
            return Exit::Usage;
        }
    };
    let ctx = match &args.call_id {
        Some(call_id) => ToolContext::new().with_call_id(call_id),
        None => ToolContext::new(),
    };
    let result = executor.call_blocking(&args.name, &text, ctx);
    match (result, session.json) {
        (Ok(output), true) => {
            session.out = view::pretty(&view::call_ok(output.to_value()));
            Exit::Success
        }
        (Ok(output), false) => {
            session.out = view::pretty(&output.to_value());
            Exit::Success
        }
        (Err(err), true) => {
            session.out = view::pretty(&view::call_error(&err));
            Exit::ToolError
        }
        (Err(err), false) => {
            let label = format!("error[{}]", err.kind());
            session.err.push_str(&format!(
                "{}: {}\n",
                session.terminal.paint(&label, view::Colour::Red),
                err.message()
            ));
            if let Some(path) = err.path() {
                session.err.push_str(&format!("  at: {path}\n"));
            }
            Exit::ToolError
        }
    }
}

fn search(session: &mut Session<'_>, args: SearchArgs) -> Exit {
    let query = ToolQuery {
        text: args.query,
        tags: args.tags,
        read_only: args.read_only.then_some(true),
        limit: args.limit,
        ..ToolQuery::default()
    };
    let found = rustchain_tools::search::discover(session.registry, &query);
    let manifests: Vec<ToolManifest> = found
        .iter()
        .map(|found| ToolManifest::of(found.tool))
        .collect();
    if session.json {
        let results: Vec<Value> = manifests
            .iter()
            .zip(&found)
            .map(|(manifest, found)| {
                let mut value = view::compact(manifest);
                if let Value::Object(object) = &mut value {
                    object.insert("score".into(), found.score.into());
                }
                value
            })
            .collect();
        session.out = view::pretty(&Value::Array(results));
    } else if found.is_empty() {
        session.err = format!(
            "no tool matches the search; `{} tools list` shows them all\n",
            session.program
        );
    } else {
        session.out = view::table(&manifests, session.terminal.width);
    }
    Exit::Success
}

fn docs(session: &mut Session<'_>, args: &DocsArgs) -> Exit {
    let text = rustchain_tools::docs::markdown(&Manifest::of(session.registry), &session.program);
    match &args.out {
        None => session.out = text,
        Some(path) => match out_file::write_whole(path, &text) {
            Ok(()) => {
                session.err = format!(
                    "wrote the reference of {} tools to {}\n",
                    session.registry.len(),
                    path.display()
                );
            }
            Err(message) => {
                session.err = format!("error: {message}\n");
                return Exit::Usage;
            }
        },
    }
    Exit::Success
}

/// The tool called `name`, or `None` with an error naming close matches.
pub(super) fn find(session: &mut Session<'_>, name: &str) -> Option<Tool<'static>> {
    if let Some(tool) = session.registry.get(name) {
        return Some(tool);
    }
    session.err = format!(
        "error: {}\n  `{} tools list` shows the tools linked into this program\n",
        session.registry.not_found_message(name),
        session.program
    );
    None
}
