#!/usr/bin/env python3
"""Generates the compile-time benchmark workspace: three crates with N tools each.

    gen.py --root DIR --repo REPO --n N [--seed S] [--signatures K] [--macro-opt LEVEL]

Writes DIR/Cargo.toml (a workspace of its own) and three member crates, all with
the same N functions, the same doc comments and the same parameter types:

  floor/      ct-floor:      the plain functions, nothing else
  rustchain/  ct-rustchain:  the functions with #[tool]
  derive/     ct-derive:     the functions, plus per function an args struct
                             deriving serde::Deserialize + schemars::JsonSchema,
                             a decode-and-call function and a schema function,
                             listed in a static table (the naive expansion)

Every crate has a bin (src/main.rs) that counts its tools and uses one or two
of them, so a run can check that all N tools are really there. With
--macro-opt, the workspace's manifest sets `[profile.dev.build-override]
opt-level = LEVEL`, as the README recommends for a crate with hundreds of
tools: #[tool], syn and the other build-time code built optimized. The output
is a pure function of the arguments: the same N and seed give the same files.
"""

import argparse
import json
import os
import random

# Parameter types, each with the names a parameter of that type gets, a doc
# comment, a sample JSON value, and how the body folds it into a u64.
TYPES = {
    "String": (
        ["query", "path", "name", "text", "url", "pattern"],
        "The {name}, as text.",
        "x",
        "{p}.len() as u64",
    ),
    "u32": (
        ["limit", "count", "page", "retries", "width"],
        "The {name}, a small count.",
        3,
        "u64::from({p})",
    ),
    "i64": (
        ["offset", "delta", "since", "until", "id"],
        "The {name}, a signed integer.",
        -2,
        "{p}.unsigned_abs()",
    ),
    "bool": (
        ["recursive", "verbose", "force", "dry_run", "follow"],
        "Whether {name} is on.",
        True,
        "u64::from({p})",
    ),
    "f64": (
        ["threshold", "ratio", "score", "weight", "temperature"],
        "The {name}, a real number.",
        1.5,
        "{p}.abs() as u64",
    ),
    "Option<String>": (
        ["filter", "label", "locale", "cursor", "format"],
        "The {name}, if any.",
        "y",
        "{p}.as_ref().map_or(0, |s| s.len() as u64)",
    ),
    "Vec<String>": (
        ["tags", "fields", "paths", "names", "columns"],
        "The {name} to use, in order.",
        ["a", "bc"],
        "{p}.iter().map(|s| s.len() as u64).sum::<u64>()",
    ),
}

RETURNS = ["String", "u64", "bool", "Result<String, String>"]

VERBS = ["fetch", "list", "search", "create", "update", "delete", "sync", "check",
         "render", "parse", "resolve", "export", "import", "count", "archive", "tag"]
NOUNS = ["report", "issue", "file", "user", "invoice", "ticket", "page", "record",
         "message", "event", "order", "build", "release", "metric", "note", "alert"]

TOOLS_PER_MODULE = 100


def signatures(rng, k):
    """K distinct (parameter types, return type) shapes: tens, whatever N is."""
    shapes = []
    seen = set()
    types = list(TYPES)
    while len(shapes) < k:
        params = tuple(rng.choice(types) for _ in range(3))
        ret = rng.choice(RETURNS)
        if (params, ret) not in seen:
            seen.add((params, ret))
            shapes.append((params, ret))
    return shapes


def make_tools(n, seed, k):
    rng = random.Random(seed)
    shapes = signatures(rng, k)
    tools = []
    for i in range(n):
        params_types, ret = rng.choice(shapes)
        verb, noun = rng.choice(VERBS), rng.choice(NOUNS)
        used = set()
        params = []
        for ty in params_types:
            names = [name for name in TYPES[ty][0] if name not in used]
            name = rng.choice(names)
            used.add(name)
            params.append((name, ty))
        tools.append({
            "name": f"{verb}_{noun}_{i:05}",
            "struct": f"{verb.capitalize()}{noun.capitalize()}{i:05}Args",
            "doc": [f"{verb.capitalize()}es the {noun} number {i}." if verb.endswith("h")
                    else f"{verb.capitalize()}s the {noun} number {i}.",
                    "",
                    f"Returns a summary of the {noun}; fails when nothing matches."],
            "params": params,
            "ret": ret,
        })
    distinct_params = len({tuple(ty for _, ty in t["params"]) for t in tools})
    return tools, distinct_params


def fn_item(tool, attr=None):
    """The plain function, with its doc comments, optionally under an attribute."""
    out = [f"/// {line}".rstrip() for line in tool["doc"]]
    if attr:
        out.append(attr)
    out.append(f"pub fn {tool['name']}(")
    # rustc takes doc comments on parameters only under an attribute macro
    # that strips them, like #[tool]; plain functions get plain comments.
    marker = "///" if attr else "//"
    for name, ty in tool["params"]:
        out.append(f"    {marker} {TYPES[ty][1].format(name=name.replace('_', ' '))}")
        out.append(f"    {name}: {ty},")
    out.append(f") -> {tool['ret']} {{")
    folds = " + ".join(TYPES[ty][3].format(p=name) for name, ty in tool["params"])
    out.append(f"    let n: u64 = {folds};")
    out.append({
        "String": f'    format!("{tool["name"]}: {{n}}")',
        "u64": "    n",
        "bool": "    n % 2 == 0",
        "Result<String, String>": (
            f'    if n == 0 {{\n        Err("no {tool["name"]} matched".to_owned())\n'
            f'    }} else {{\n        Ok(format!("{tool["name"]}: {{n}}"))\n    }}'
        ),
    }[tool["ret"]])
    out.append("}")
    return "\n".join(out)


def derive_items(tool):
    """The naive expansion: an args struct with derives, decode-and-call, schema."""
    struct = tool["struct"]
    out = [f"/// Arguments of `{tool['name']}`.",
           "#[derive(serde::Deserialize, schemars::JsonSchema)]",
           "#[serde(deny_unknown_fields)]",
           f"pub struct {struct} {{"]
    for name, ty in tool["params"]:
        out.append(f"    /// {TYPES[ty][1].format(name=name.replace('_', ' '))}")
        out.append(f"    pub {name}: {ty},")
    out.append("}")
    out.append("")
    out.append(fn_item(tool))
    out.append("")
    call_args = ", ".join(f"args.{name}" for name, _ in tool["params"])
    out.append(f"fn {tool['name']}_invoke(text: &str) -> Result<String, String> {{")
    out.append(f"    let args: {struct} = serde_json::from_str(text).map_err(|e| e.to_string())?;")
    if tool["ret"].startswith("Result"):
        out.append(f"    let value = {tool['name']}({call_args})?;")
    else:
        out.append(f"    let value = {tool['name']}({call_args});")
    out.append("    serde_json::to_string(&value).map_err(|e| e.to_string())")
    out.append("}")
    out.append("")
    out.append(f"fn {tool['name']}_schema() -> schemars::Schema {{")
    out.append(f"    schemars::schema_for!({struct})")
    out.append("}")
    return "\n".join(out)


def sample_args(tool):
    return json.dumps({name: TYPES[ty][2] for name, ty in tool["params"]})


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    old = None
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    if old != text:
        with open(path, "w") as f:
            f.write(text)


def crate_manifest(package, deps):
    return (f'[package]\nname = "{package}"\nversion = "0.0.0"\nedition = "2024"\n'
            f'publish = false\n\n[dependencies]\n{deps}')


def generate(root, repo, n, seed, k, macro_opt=None):
    tools, distinct_params = make_tools(n, seed, k)
    modules = [tools[i:i + TOOLS_PER_MODULE] for i in range(0, n, TOOLS_PER_MODULE)]
    mod_names = [f"m{i:03}" for i in range(len(modules))]
    first = tools[0]
    first_path = f"{mod_names[0]}::{first['name']}"

    repo_toml = json.dumps(os.path.abspath(repo))  # a JSON string is a TOML basic string
    write(os.path.join(root, "Cargo.toml"),
          "# Generated by benches/compile-time/gen.py: do not edit.\n"
          "[workspace]\nmembers = [\"floor\", \"rustchain\", \"derive\"]\nresolver = \"3\"\n\n"
          "[workspace.dependencies]\n"
          f"rustchain = {{ path = {repo_toml} }}\n"
          "serde = { version = \"1\", features = [\"derive\"] }\n"
          "serde_json = \"1\"\n"
          "schemars = \"1.2\"\n"
          + ("" if macro_opt is None else
             f"\n[profile.dev.build-override]\nopt-level = {macro_opt}\n"))
    header = f"//! Generated by benches/compile-time/gen.py: {n} tools, do not edit.\n\n"
    mods = "".join(f"pub mod {m};\n" for m in mod_names)

    # floor: the plain functions.
    write(os.path.join(root, "floor/Cargo.toml"), crate_manifest("ct-floor", ""))
    write(os.path.join(root, "floor/src/lib.rs"), header + mods)
    for m, chunk in zip(mod_names, modules):
        write(os.path.join(root, f"floor/src/{m}.rs"),
              "\n\n".join(fn_item(t) for t in chunk) + "\n")
    floor_call = ", ".join(
        {"String": '"x".to_owned()', "u32": "3", "i64": "-2", "bool": "true", "f64": "1.5",
         "Option<String>": 'Some("y".to_owned())',
         "Vec<String>": 'vec!["a".to_owned(), "bc".to_owned()]'}[ty]
        for _, ty in first["params"])
    write(os.path.join(root, "floor/src/main.rs"),
          f"fn main() {{\n    println!(\"{{:?}}\", ct_floor::{first_path}({floor_call}));\n}}\n")

    # rustchain: the functions with #[tool].
    write(os.path.join(root, "rustchain/Cargo.toml"),
          crate_manifest("ct-rustchain", "rustchain.workspace = true\n"))
    write(os.path.join(root, "rustchain/src/lib.rs"), header + mods)
    for m, chunk in zip(mod_names, modules):
        write(os.path.join(root, f"rustchain/src/{m}.rs"),
              "use rustchain::tool;\n\n"
              + "\n\n".join(fn_item(t, "#[tool(read_only)]") for t in chunk) + "\n")
    last = tools[-1]
    write(os.path.join(root, "rustchain/src/main.rs"),
          "//! Prints how many tools the registry holds, and looks up the first and last.\n\n"
          "use ct_rustchain as _;\n\n"
          "fn main() {\n"
          "    let registry = rustchain::Registry::global();\n"
          "    println!(\"registry: {} tools\", registry.len());\n"
          f"    for name in [{json.dumps(first['name'])}, {json.dumps(last['name'])}] {{\n"
          "        let tool = registry.get(name).expect(\"a generated tool is registered\");\n"
          "        let _schema = tool.input_schema();\n"
          "        println!(\"{name}: {}\", tool.descriptor().description);\n"
          "    }\n"
          "}\n")

    # derive-per-tool: a struct with derives per tool, and a table of them all.
    write(os.path.join(root, "derive/Cargo.toml"),
          crate_manifest("ct-derive", "serde.workspace = true\nserde_json.workspace = true\n"
                                      "schemars.workspace = true\n"))
    write(os.path.join(root, "derive/src/lib.rs"),
          header + mods + "\n"
          "/// One tool: its name, description, decode-and-call and schema functions.\n"
          "pub struct Tool {\n"
          "    pub name: &'static str,\n"
          "    pub description: &'static str,\n"
          "    pub invoke: fn(&str) -> Result<String, String>,\n"
          "    pub schema: fn() -> schemars::Schema,\n"
          "}\n\n"
          "/// Every tool, module by module.\n"
          "pub static TOOLS: &[&[Tool]] = &["
          + ", ".join(f"&{m}::TOOLS" for m in mod_names) + "];\n")
    for m, chunk in zip(mod_names, modules):
        table = "\n".join(
            f"    crate::Tool {{ name: {json.dumps(t['name'])}, "
            f"description: {json.dumps(t['doc'][0])}, "
            f"invoke: {t['name']}_invoke, schema: {t['name']}_schema }},"
            for t in chunk)
        write(os.path.join(root, f"derive/src/{m}.rs"),
              "\n\n".join(derive_items(t) for t in chunk)
              + f"\n\npub static TOOLS: [crate::Tool; {len(chunk)}] = [\n{table}\n];\n")
    write(os.path.join(root, "derive/src/main.rs"),
          "fn main() {\n"
          "    let count: usize = ct_derive::TOOLS.iter().map(|m| m.len()).sum();\n"
          "    println!(\"table: {count} tools\");\n"
          "    let first = &ct_derive::TOOLS[0][0];\n"
          "    let _schema = (first.schema)();\n"
          f"    let out = (first.invoke)({json.dumps(sample_args(first))}).expect(\"the first tool runs\");\n"
          "    println!(\"{} -> {}\", first.name, out);\n"
          "}\n")
    return distinct_params


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="where to write the workspace")
    parser.add_argument("--repo", required=True, help="the rustchain repository root")
    parser.add_argument("--n", type=int, required=True, help="tools per crate")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--signatures", type=int, default=40,
                        help="distinct (parameter types, return type) shapes (default 40)")
    parser.add_argument("--macro-opt", choices=["0", "1", "2", "3", "s", "z"],
                        help="[profile.dev.build-override] opt-level (default: not set)")
    args = parser.parse_args()
    if args.n < 1:
        parser.error("--n must be at least 1")
    macro_opt = args.macro_opt
    if macro_opt in ("s", "z"):
        macro_opt = f'"{macro_opt}"'
    distinct = generate(args.root, args.repo, args.n, args.seed, args.signatures, macro_opt)
    print(distinct)


if __name__ == "__main__":
    main()
