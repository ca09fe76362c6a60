use rustchain::tool;

/// Reports the call's id.
#[tool]
fn call_id(ctx: &mut rustchain::ToolContext) -> String {
    let _ = ctx;
    String::new()
}

fn main() {}
