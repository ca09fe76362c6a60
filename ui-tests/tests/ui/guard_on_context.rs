use rustchain::{ToolContext, tool};

/// Says hello.
#[tool]
fn hello(#[net] ctx: &ToolContext) -> String {
    ctx.call_id().to_owned()
}

fn main() {}
