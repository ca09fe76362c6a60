use rustchain::tool;

/// Says hello.
#[tool]
fn hello() -> String
where
    String: Clone,
{
    "hello".to_owned()
}

fn main() {}
