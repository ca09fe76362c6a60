//! `rustchain audit tail`: a trail's last records, one line each, and with
//! `--follow` every record appended after (until interrupted).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::super::{Exit, Session};
use super::TailArgs;

/// How often `--follow` looks for new records.
const POLL: Duration = Duration::from_millis(200);

pub(crate) fn tail(session: &mut Session<'_>, args: &TailArgs) -> Exit {
    let Some(path) = super::trail_path(session, args.file.clone()) else {
        return Exit::Usage;
    };
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(err) => {
            session.err = format!("error: cannot read {}: {err}\n", path.display());
            return Exit::Usage;
        }
    };
    let mut reader = BufReader::new(file);
    let mut last: VecDeque<String> = VecDeque::with_capacity(args.lines.min(10_000));
    let mut line = String::new();
    // Only whole lines count: a line still being written is read on the next poll.
    let mut offset = 0u64;
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(n) if line.ends_with('\n') => {
                offset += n as u64;
                if args.lines > 0 {
                    if last.len() == args.lines {
                        last.pop_front();
                    }
                    last.push_back(line.trim_end().to_owned());
                }
            }
            Ok(_) => break,
            Err(err) => {
                session.err = format!("error: cannot read {}: {err}\n", path.display());
                return Exit::Usage;
            }
        }
    }
    for record in &last {
        session.out.push_str(&shown(record, session.json));
        session.out.push('\n');
    }
    if args.follow {
        return follow(session, &path, offset);
    }
    Exit::Success
}

/// Prints what is appended after `offset`, as it comes; returns only when
/// the output is gone or the trail cannot be read.
fn follow(session: &mut Session<'_>, path: &Path, mut offset: u64) -> Exit {
    let mut stdout = std::io::stdout();
    if stdout.write_all(session.out.as_bytes()).is_err() || stdout.flush().is_err() {
        return Exit::Output;
    }
    session.out.clear();
    let mut pending = String::new();
    loop {
        std::thread::sleep(POLL);
        let read = std::fs::File::open(path).and_then(|mut file| {
            let len = file.metadata()?.len();
            if len < offset {
                // Cut back (a torn tail recovered): start again from its end.
                offset = len;
                pending.clear();
            }
            file.seek(SeekFrom::Start(offset))?;
            let mut reader = BufReader::new(file);
            let mut lines = Vec::new();
            loop {
                let mut line = String::new();
                let n = reader.read_line(&mut line)?;
                if n == 0 {
                    break;
                }
                offset += n as u64;
                pending.push_str(&line);
                if pending.ends_with('\n') {
                    lines.push(std::mem::take(&mut pending));
                }
            }
            Ok(lines)
        });
        let lines = match read {
            Ok(lines) => lines,
            Err(err) => {
                session.err = format!("error: cannot read {}: {err}\n", path.display());
                return Exit::Usage;
            }
        };
        for line in lines {
            let text = format!("{}\n", shown(line.trim_end(), session.json));
            if stdout.write_all(text.as_bytes()).is_err() || stdout.flush().is_err() {
                // The reader went away (`| head`): done, as `tail -f` is.
                return Exit::Success;
            }
        }
    }
}

/// A record as printed: itself with `--json`, else one line for people.
fn shown(line: &str, json: bool) -> String {
    if json {
        return line.to_owned();
    }
    let Ok(Value::Object(record)) = serde_json::from_str::<Value>(line) else {
        return format!("(not a record: {})", rustchain_tools::shown(line));
    };
    let text = |key: &str| record.get(key).and_then(Value::as_str).unwrap_or("-");
    let seq = record
        .get("seq")
        .and_then(Value::as_u64)
        .map_or_else(|| "-".to_owned(), |seq| seq.to_string());
    let detail = match text("kind") {
        "decision" => {
            let mut detail = text("decision").to_owned();
            if let Some(rule) = record.get("decision.rule").and_then(Value::as_str) {
                detail.push_str(&format!(" by {rule}"));
            }
            detail
        }
        "result" => {
            let took = record
                .get("duration_us")
                .and_then(Value::as_f64)
                .map_or_else(String::new, |us| format!(" in {:.2}ms", us / 1000.0));
            match record.get("error.type").and_then(Value::as_str) {
                Some(kind) => format!("error[{kind}]{took}"),
                None => format!("{}{took}", text("outcome")),
            }
        }
        _ => String::new(),
    };
    format!(
        "{}  #{seq}  {:<10}  {}  {}  {detail}",
        text("ts"),
        text("kind"),
        text("gen_ai.tool.name"),
        text("gen_ai.tool.call.id"),
    )
    .trim_end()
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_as_one_line_each() {
        let decision = r#"{"seq":3,"ts":"2026-12-02T00:00:00.000Z","kind":"decision","gen_ai.tool.name":"fs_read","gen_ai.tool.call.id":"c1","decision":"deny","decision.rule":"fs.deny \"secrets/**\" (rustchain.toml:9)"}"#;
        assert_eq!(
            shown(decision, false),
            "2026-12-02T00:00:00.000Z  #3  decision    fs_read  c1  deny by fs.deny \"secrets/**\" (rustchain.toml:9)"
        );
        let result = r#"{"seq":4,"ts":"2026-12-02T00:00:01.000Z","kind":"result","gen_ai.tool.name":"add","gen_ai.tool.call.id":"c2","outcome":"error","error.type":"timeout","duration_us":1500}"#;
        assert!(shown(result, false).ends_with("add  c2  error[timeout] in 1.50ms"));
        assert_eq!(shown(result, true), result);
        assert!(shown("{torn", false).starts_with("(not a record"));
    }
}
