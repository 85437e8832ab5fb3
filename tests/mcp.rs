//! `sbx mcp` driven by a real MCP client nobody here wrote: the official
//! Python SDK (PyPI `mcp`), which scripts/test.sh installs into the tests'
//! virtual environment (SBX_TEST_PYTHON). tests/fixtures/mcp_client.py
//! performs each scenario and prints what it saw; the assertions are here.
//! The one thing the SDK cannot do, send a line that is not JSON, is done
//! by hand.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

fn python() -> String {
    std::env::var("SBX_TEST_PYTHON").expect(
        "SBX_TEST_PYTHON is not set: run the tests with `bash scripts/test.sh`, which makes a Python with the MCP SDK in target/test-venv",
    )
}

/// Run the client's `scenario` against `sbx mcp` of this test's agent,
/// with `input` (tool calls) on its stdin; returns what it printed.
fn client(sbx: &Sbx, scenario: &str, input: Value) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mcp_client.py");
    // The client hands its whole environment to the server it starts.
    let mut c = sbx.program(python());
    c.args([script, env!("CARGO_BIN_EXE_sbx"), scenario]);
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("SBX_TEST_PYTHON={} does not run: {e}", python()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the MCP client failed ({:?}): {}\n{}",
        out.status,
        stderr(&out),
        stdout(&out)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("the client printed no JSON ({e}): {}", stdout(&out)))
}

fn run_code(args: Value) -> Value {
    json!({"name": "run_code", "arguments": args})
}

/// The results of `calls`, made one after another in one session.
fn calls(sbx: &Sbx, calls: Vec<Value>) -> Vec<Value> {
    client(sbx, "calls", Value::Array(calls))
        .as_array()
        .unwrap()
        .clone()
}

fn is_error(result: &Value) -> bool {
    result["isError"].as_bool().unwrap_or(false)
}

/// The first content block's text: the summary a model reads.
fn summary(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap()
}

#[test]
fn the_server_lists_its_tools_with_valid_input_schemas() {
    let sbx = Sbx::new("mcp-tools");
    let out = client(&sbx, "tools", Value::Null);
    assert_eq!(out["server"]["name"], "sbx");
    assert!(out["capabilities"]["tools"].is_object(), "{out}");
    let tools = out["tools"].as_array().unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "list_languages",
            "list_sessions",
            "run_code",
            "start_session",
            "stop_session"
        ]
    );
    for t in tools {
        assert_eq!(t["schema_error"], Value::Null, "{}: {t}", t["name"]);
        assert!(
            t["description"].as_str().unwrap().len() > 80,
            "a model needs a real description: {t}"
        );
    }
    let run = tools.iter().find(|t| t["name"] == "run_code").unwrap();
    let schema = &run["inputSchema"];
    assert_eq!(schema["required"], json!(["language", "code"]));
    for field in [
        "language", "code", "args", "stdin", "env", "files", "timeout", "session",
    ] {
        assert!(
            schema["properties"][field]["description"].is_string(),
            "{field} is described: {schema}"
        );
    }
}

#[test]
fn python_and_javascript_programs_run_with_arguments_stdin_and_environment() {
    let sbx = Sbx::new("mcp-run");
    let results = calls(
        &sbx,
        vec![
            run_code(json!({
                "language": "python",
                "code": "import os, sys\nprint(sys.argv[1:], os.environ['GREETING'], sys.stdin.read())",
                "args": ["a b", "c"],
                "stdin": "from stdin",
                "env": {"GREETING": "hi"},
            })),
            run_code(json!({
                "language": "javascript",
                "code": "console.log(6 * 7); console.error('to stderr')",
            })),
        ],
    );
    let py = &results[0];
    assert!(!is_error(py), "{py}");
    let s = &py["structuredContent"];
    assert_eq!(s["exit_code"], 0, "{py}");
    assert_eq!(s["language"], "python");
    assert_eq!(s["stdout"], "['a b', 'c'] hi from stdin\n");
    assert_eq!(s["stderr"], "");
    assert!(
        summary(py).contains("exit code: 0") && summary(py).contains("['a b', 'c'] hi from stdin"),
        "{}",
        summary(py)
    );

    let js = &results[1];
    assert!(!is_error(js), "{js}");
    assert_eq!(js["structuredContent"]["stdout"], "42\n");
    assert_eq!(js["structuredContent"]["stderr"], "to stderr\n");
    assert!(summary(js).contains("--- stderr ---\nto stderr"), "{js}");
}

#[test]
fn a_non_zero_exit_is_a_normal_result_not_a_tool_error() {
    let sbx = Sbx::new("mcp-exit");
    let results = calls(
        &sbx,
        vec![run_code(json!({
            "language": "python",
            "code": "import sys\nprint('partial')\nsys.exit('it went wrong')",
        }))],
    );
    let r = &results[0];
    assert!(!is_error(r), "{r}");
    assert_eq!(r["structuredContent"]["exit_code"], 1);
    assert_eq!(r["structuredContent"]["stdout"], "partial\n");
    assert_eq!(r["structuredContent"]["stderr"], "it went wrong\n");
    assert!(summary(r).starts_with("exit code: 1"), "{r}");
}

#[test]
fn a_program_past_its_timeout_is_killed_and_reported_as_timed_out() {
    let sbx = Sbx::new("mcp-timeout");
    let results = calls(
        &sbx,
        vec![run_code(json!({
            "language": "python",
            "code": "print('started', flush=True)\nwhile True: pass",
            "timeout": 1,
        }))],
    );
    let r = &results[0];
    assert!(!is_error(r), "{r}");
    let s = &r["structuredContent"];
    assert_eq!(s["timed_out"], true, "{r}");
    assert_eq!(s["exit_code"], 124);
    assert_eq!(s["stdout"], "started\n");
    assert!(s["duration_ms"].as_u64().unwrap() < 30_000, "{r}");
    assert!(summary(r).contains("timed out"), "{r}");
}

#[test]
fn files_given_as_text_or_base64_are_placed_next_to_the_program() {
    let sbx = Sbx::new("mcp-files");
    let bytes: Vec<u8> = (0..=255u8).collect();
    let results = calls(
        &sbx,
        vec![run_code(json!({
            "language": "python",
            "code": "data = open('in/data.csv').read()\nblob = open('blob.bin', 'rb').read()\nprint(repr(data), list(blob) == list(range(256)))",
            "files": {
                "in/data.csv": "a,b\n1,2\n",
                "blob.bin": {"base64": STANDARD.encode(&bytes)},
            },
        }))],
    );
    let r = &results[0];
    assert!(!is_error(r), "{r}");
    assert_eq!(r["structuredContent"]["stdout"], "'a,b\\n1,2\\n' True\n");
}

#[test]
fn bad_file_paths_and_base64_are_tool_errors_that_say_what_is_wrong() {
    let sbx = Sbx::new("mcp-bad-files");
    let results = calls(
        &sbx,
        vec![
            run_code(json!({"language": "python", "code": "pass", "files": {"../x": "no"}})),
            run_code(
                json!({"language": "python", "code": "pass", "files": {"x": {"base64": "!!"}}}),
            ),
        ],
    );
    assert!(is_error(&results[0]), "{}", results[0]);
    assert!(summary(&results[0]).contains("\"../x\" must be a relative path"));
    assert!(is_error(&results[1]), "{}", results[1]);
    assert!(summary(&results[1]).contains("not valid base64"));
}

/// A 2x2 PNG made with the standard library only, written to $SBX_OUT
/// beside a text file and a binary one; the program prints the PNG as
/// base64 so the test knows the bytes it must get back.
const PLOT: &str = r#"
import base64, os, struct, zlib
def chunk(kind, data):
    body = kind + data
    return struct.pack('>I', len(data)) + body + struct.pack('>I', zlib.crc32(body))
raw = b''.join(b'\x00' + bytes([255, 0, 0] * 2) for _ in range(2))
png = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 2, 2, 8, 2, 0, 0, 0))
       + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
out = os.environ['SBX_OUT']
open(os.path.join(out, 'plot.png'), 'wb').write(png)
open(os.path.join(out, 'notes.txt'), 'w').write('the mean is 4.2\n')
open(os.path.join(out, 'data.bin'), 'wb').write(bytes([0, 159, 146, 150]))
print(base64.b64encode(png).decode())
"#;

#[test]
fn a_png_written_to_sbx_out_comes_back_as_image_content() {
    let sbx = Sbx::new("mcp-png");
    let results = calls(
        &sbx,
        vec![run_code(json!({"language": "python", "code": PLOT}))],
    );
    let r = &results[0];
    assert!(!is_error(r), "{r}");
    let png = r["structuredContent"]["stdout"].as_str().unwrap().trim();
    let content = r["content"].as_array().unwrap();
    let images: Vec<&Value> = content.iter().filter(|c| c["type"] == "image").collect();
    assert_eq!(images.len(), 1, "{r}");
    assert_eq!(images[0]["mimeType"], "image/png");
    assert_eq!(images[0]["data"], png, "the image is the program's bytes");

    let texts: Vec<&str> = content
        .iter()
        .filter(|c| c["type"] == "text")
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("notes.txt") && t.ends_with("the mean is 4.2\n")),
        "a text file comes back as text: {r}"
    );
    let blobs: Vec<&Value> = content.iter().filter(|c| c["type"] == "resource").collect();
    assert_eq!(blobs.len(), 1, "{r}");
    assert_eq!(blobs[0]["resource"]["uri"], "sbx://out/data.bin");
    assert_eq!(
        STANDARD
            .decode(blobs[0]["resource"]["blob"].as_str().unwrap())
            .unwrap(),
        [0, 159, 146, 150]
    );
    let mut files: Vec<&str> = r["structuredContent"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["data.bin", "notes.txt", "plot.png"]);
}

#[test]
fn an_unknown_language_is_a_tool_error_with_the_one_line_message() {
    let sbx = Sbx::new("mcp-unknown");
    let results = calls(
        &sbx,
        vec![run_code(
            json!({"language": "cobol", "code": "DISPLAY 'HI'."}),
        )],
    );
    let r = &results[0];
    assert!(is_error(r), "{r}");
    let text = summary(r);
    assert!(
        text.starts_with("unknown language `cobol`; supported: "),
        "{text}"
    );
    assert!(!text.trim_end().contains('\n'), "one line: {text}");
}

#[test]
fn output_past_the_limit_is_cut_off_with_a_marker() {
    let sbx = Sbx::with_config("mcp-limit", "[run]\nmax_output = \"1KiB\"");
    let results = calls(
        &sbx,
        vec![run_code(
            json!({"language": "python", "code": "print('x' * 5000)"}),
        )],
    );
    let r = &results[0];
    assert!(!is_error(r), "{r}");
    let s = &r["structuredContent"];
    assert_eq!(s["stdout_truncated"], true, "{r}");
    assert_eq!(s["output_limit"], "stdout");
    assert_eq!(s["exit_code"], 123);
    assert!(s["stdout"].as_str().unwrap().len() <= 1024, "{r}");
    assert!(
        summary(r)
            .contains("[sbx: stdout truncated here: the program wrote more than the 1KiB limit]"),
        "{}",
        summary(r)
    );
}

#[test]
fn list_languages_names_every_language_with_its_image() {
    let sbx = Sbx::new("mcp-languages");
    let results = calls(
        &sbx,
        vec![json!({"name": "list_languages", "arguments": {}})],
    );
    let r = &results[0];
    assert!(!is_error(r), "{r}");
    let cli: Value = serde_json::from_str(&stdout(&sbx.run(&["languages", "--json"], ""))).unwrap();
    assert_eq!(r["structuredContent"]["languages"], cli);
    let python = cli
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "python")
        .unwrap();
    assert_eq!(python["image"], test_image());
    assert_eq!(python["present"], true);
    let line = summary(r)
        .lines()
        .find(|l| l.starts_with("python "))
        .unwrap();
    assert!(
        line.ends_with(&format!(": image {} (present)", test_image())),
        "{}",
        summary(r)
    );
}

#[test]
fn eight_concurrent_calls_run_at_once_and_never_mix_their_outputs() {
    let sbx = Sbx::new("mcp-concurrent");
    let up = sbx.run(&["pool", "up", "--lang", "python", "--warm", "8"], "");
    assert!(up.status.success(), "{}", stderr(&up));
    // Each program writes its own token in many small writes on both
    // streams, around a pause long enough that all eight are running at
    // once; it reports when it ran (the containers share the host's clock).
    let code = |i: usize| {
        format!(
            "import sys, time\nstart = time.time()\nfor n in range(500):\n    print('call-{i}', n, flush=True)\n    print('err-{i}', file=sys.stderr, flush=True)\ntime.sleep(4)\nfor n in range(500, 1000):\n    print('call-{i}', n, flush=True)\nprint('SPAN', start, time.time())"
        )
    };
    let todo: Vec<Value> = (0..8)
        .map(|i| run_code(json!({"language": "python", "code": code(i)})))
        .collect();
    let out = client(&sbx, "concurrent", Value::Array(todo));
    let results = out["results"].as_array().unwrap();
    let mut spans = Vec::new();
    for (i, r) in results.iter().enumerate() {
        assert!(!is_error(r), "call {i}: {r}");
        let s = &r["structuredContent"];
        assert_eq!(s["exit_code"], 0, "call {i}: {r}");
        let stdout = s["stdout"].as_str().unwrap();
        let mut lines: Vec<&str> = stdout.lines().collect();
        let span = lines.pop().unwrap();
        let expected: Vec<String> = (0..1000).map(|n| format!("call-{i} {n}")).collect();
        assert_eq!(lines, expected, "call {i} got exactly its own output");
        assert_eq!(
            s["stderr"].as_str().unwrap(),
            format!("err-{i}\n").repeat(500),
            "call {i}"
        );
        let times: Vec<f64> = span
            .split(' ')
            .skip(1)
            .map(|t| t.parse().unwrap())
            .collect();
        spans.push((times[0], times[1]));
    }
    let last_start = spans.iter().map(|s| s.0).fold(f64::MIN, f64::max);
    let first_end = spans.iter().map(|s| s.1).fold(f64::MAX, f64::min);
    assert!(
        last_start < first_end,
        "all eight programs were running at the same moment: {spans:?}"
    );
}

#[test]
fn a_call_that_asks_for_progress_hears_about_its_run_while_it_lasts() {
    let sbx = Sbx::new("mcp-progress");
    let out = client(
        &sbx,
        "progress",
        json!([run_code(
            json!({"language": "python", "code": "import time\ntime.sleep(3.5)\nprint('done')"})
        )]),
    );
    assert_eq!(
        out["result"]["structuredContent"]["stdout"], "done\n",
        "{out}"
    );
    let seen = out["progress"].as_array().unwrap();
    assert!(seen.len() >= 3, "one a second: {out}");
    let values: Vec<f64> = seen
        .iter()
        .map(|p| p["progress"].as_f64().unwrap())
        .collect();
    assert!(
        values.windows(2).all(|w| w[0] < w[1]),
        "progress only grows: {values:?}"
    );
    assert!(
        seen.iter().all(|p| p["message"]
            .as_str()
            .unwrap()
            .starts_with("python run in progress")),
        "{out}"
    );
}

#[test]
fn cancelling_a_call_kills_its_run_and_frees_its_container() {
    let sbx = Sbx::new("mcp-cancel");
    sbx.limit_pool_to_one_container();
    let out = client(
        &sbx,
        "cancel",
        json!([
            run_code(
                json!({"language": "python", "code": "import time\ntime.sleep(300)", "timeout": 600})
            ),
            run_code(json!({"language": "python", "code": "print('next')"})),
        ]),
    );
    assert_eq!(out["cancelled"], true, "{out}");
    assert!(
        out.get("result").is_none(),
        "no result for a cancelled call: {out}"
    );
    let freed = out["seconds_until_no_run_busy"].as_f64().unwrap();
    assert!(
        freed < 30.0,
        "the 300 s program was killed, not waited for ({freed} s): {out}"
    );
    // The one container of the pool serves the next call.
    assert_eq!(
        out["after"]["structuredContent"]["stdout"], "next\n",
        "{out}"
    );
    assert!(
        sbx.agent_log()
            .contains("went away mid-run; cancelling its run"),
        "{}",
        sbx.agent_log()
    );
}

/// Lines `sbx -v mcp` writes on stdout, read on a thread of their own.
fn read_lines(out: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

#[test]
fn a_line_that_is_not_json_gets_a_parse_error_and_the_server_keeps_serving() {
    let sbx = Sbx::new("mcp-malformed");
    // -v: sbx's own messages must still keep off stdout.
    let mut child = sbx
        .cmd()
        .args(["-v", "mcp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let lines = read_lines(child.stdout.take().unwrap());
    let mut send = |msg: &str| {
        stdin.write_all(msg.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    };
    let next = || -> Value {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the server answers");
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout carries only JSON-RPC ({e}): {line}"))
    };
    send(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"hand","version":"1"}}}"#,
    );
    assert_eq!(next()["id"], 1);
    send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);

    send(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"run_code","#);
    let error = next();
    assert_eq!(error["error"]["code"], -32700, "{error}");
    assert!(error.get("result").is_none());

    send(
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"run_code","arguments":{"language":"python","code":"print('still here')"}}}"#,
    );
    let reply = next();
    assert_eq!(reply["id"], 3, "{reply}");
    assert_eq!(
        reply["result"]["structuredContent"]["stdout"], "still here\n",
        "{reply}"
    );
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "the server ends cleanly at EOF: {status:?}"
    );
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("sbx:"), "-v messages go to stderr: {err}");
}

#[test]
fn over_http_a_client_with_the_token_runs_code_and_requests_without_it_are_refused() {
    let mut sbx = Sbx::new("mcp-http");
    let mut server = sbx
        .cmd()
        .args(["mcp", "--http", "127.0.0.1:0"])
        .env("SBX_MCP_TOKEN", "test-token-1234")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kept open to the end: the server's stderr must not become a broken pipe.
    let mut log = BufReader::new(server.stderr.take().unwrap());
    let server = KillOnDrop(server);
    let mut first = String::new();
    log.read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("sbx: serving MCP at ")
        .unwrap_or_else(|| panic!("the server says where it listens: {first}"))
        .to_string();

    // A request without the token gets 401, before any MCP processing.
    let authority = url.trim_start_matches("http://").trim_end_matches("/mcp");
    let mut conn = std::net::TcpStream::connect(authority).unwrap();
    write!(
        conn,
        "POST /mcp HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    )
    .unwrap();
    let mut status = String::new();
    BufReader::new(conn).read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 401"), "{status}");

    sbx.env("SBX_MCP_URL", &url);
    sbx.env("SBX_MCP_TOKEN", "test-token-1234");
    let results = calls(
        &sbx,
        vec![run_code(
            json!({"language": "python", "code": "print('over http')"}),
        )],
    );
    assert_eq!(
        results[0]["structuredContent"]["stdout"], "over http\n",
        "{}",
        results[0]
    );
    drop(server);
    drop(log);
}

#[test]
fn http_on_an_address_other_than_loopback_is_refused_unless_asked_for() {
    let sbx = Sbx::new("mcp-http-remote");
    let out = sbx.run(&["mcp", "--http", "0.0.0.0:0"], "");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not a loopback address") && stderr(&out).contains("--allow-remote"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

/// Kills the child when dropped, so a failed assertion leaves no server.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_profile_chosen_for_the_server_applies_to_every_call() {
    let mut sbx = Sbx::with_config(
        "mcp-profile",
        "[profiles.agentic]\nlang = \"python\"\nenv = { FROM_PROFILE = \"yes\" }",
    );
    // What `sbx --profile agentic mcp` sets, as an MCP client's "env" would.
    sbx.env("SBX_PROFILE", "agentic");
    let results = calls(
        &sbx,
        vec![
            run_code(
                json!({"language": "python", "code": "import os\nprint(os.environ['FROM_PROFILE'])"}),
            ),
            run_code(json!({"language": "javascript", "code": "console.log(1)"})),
        ],
    );
    assert!(!is_error(&results[0]), "{}", results[0]);
    assert_eq!(results[0]["structuredContent"]["stdout"], "yes\n");
    assert!(is_error(&results[1]), "{}", results[1]);
    assert!(
        summary(&results[1]).contains("agentic"),
        "the refusal names the profile: {}",
        results[1]
    );
}

#[test]
fn a_keep_state_session_keeps_variables_and_files_between_calls_until_stopped() {
    let sbx = Sbx::new("mcp-session");
    let tool = |name: &str, args: Value| json!({"name": name, "arguments": args});
    let results = calls(
        &sbx,
        vec![
            tool(
                "start_session",
                json!({"language": "python", "name": "nb", "keep_state": true}),
            ),
            run_code(json!({"language": "python", "session": "nb",
                "code": "x = 41\nopen('notes.txt', 'w').write('kept')"})),
            run_code(json!({"language": "python", "session": "nb",
                "code": "print(x + 1, open('notes.txt').read())"})),
            run_code(json!({"language": "python", "session": "nb", "code": "x * 2"})),
            tool("list_sessions", json!({})),
            run_code(json!({"language": "python", "code": "print('x' in globals())"})),
            tool("stop_session", json!({"session": "nb"})),
            run_code(json!({"language": "python", "session": "nb", "code": "print(x)"})),
            tool(
                "start_session",
                json!({"language": "bash", "keep_state": true}),
            ),
        ],
    );
    assert!(!is_error(&results[0]), "{}", results[0]);
    assert_eq!(results[0]["structuredContent"]["name"], "nb");
    assert!(
        summary(&results[0]).contains("\"session\": \"nb\""),
        "{}",
        results[0]
    );
    assert_eq!(
        results[2]["structuredContent"]["stdout"], "42 kept\n",
        "{}",
        results[2]
    );
    assert_eq!(
        results[3]["structuredContent"]["stdout"], "82\n",
        "a final expression's value is printed: {}",
        results[3]
    );
    let listed = &results[4]["structuredContent"]["sessions"];
    assert_eq!(listed[0]["name"], "nb", "{listed}");
    assert_eq!(listed[0]["runs"], 3, "{listed}");
    assert_eq!(
        results[5]["structuredContent"]["stdout"], "False\n",
        "a call without a session starts clean"
    );
    assert!(!is_error(&results[6]), "{}", results[6]);
    assert!(is_error(&results[7]), "a stopped session is a tool error");
    assert!(summary(&results[7]).contains("has ended"), "{}", results[7]);
    assert!(is_error(&results[8]));
    assert!(
        summary(&results[8]).contains("python and javascript"),
        "{}",
        results[8]
    );
}
