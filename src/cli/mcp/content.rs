//! A finished run as an MCP tool result: one text block a model reads
//! (exit code, stdout, stderr), the same facts as structured content for
//! programs, then each file the program left under `$SBX_OUT`: images as
//! image content (so the model sees the plot it made), text as text, any
//! other bytes as an embedded resource.

use crate::client::RunOutput;
use crate::model::units::format_size;
use crate::protocol::OutFile;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde::Serialize;

/// Most bytes of `$SBX_OUT` files one result carries; files past it are
/// named in the result but not sent (a model's context is finite, and a
/// client's message limit too).
pub const MAX_FILES_BYTES: usize = 16 * 1024 * 1024;

/// The files a run wrote, assembled from the agent's chunks.
#[derive(Default)]
pub struct OutFiles {
    files: Vec<(String, Vec<u8>)>,
    bytes: usize,
    /// Paths left out because of [`MAX_FILES_BYTES`].
    omitted: Vec<String>,
}

impl OutFiles {
    pub fn chunk(&mut self, f: OutFile) {
        if !f.append {
            if self.bytes + f.data.len() > MAX_FILES_BYTES {
                self.omitted.push(f.path);
                return;
            }
            self.bytes += f.data.len();
            self.files.push((f.path, f.data));
            return;
        }
        if self.omitted.last() == Some(&f.path) {
            return;
        }
        match self.files.last_mut() {
            Some((path, data)) if *path == f.path => {
                if self.bytes + f.data.len() > MAX_FILES_BYTES {
                    let (path, data) = self.files.pop().expect("just matched");
                    self.bytes -= data.len();
                    self.omitted.push(path);
                } else {
                    self.bytes += f.data.len();
                    data.extend_from_slice(&f.data);
                }
            }
            _ => {}
        }
    }
}

/// What a file's bytes are, for the content block that carries them.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Image(&'static str),
    Text,
    Binary,
}

fn kind_of(path: &str, data: &[u8]) -> Kind {
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Kind::Image("image/png");
    }
    if data.starts_with(b"\xff\xd8\xff") {
        return Kind::Image("image/jpeg");
    }
    if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        return Kind::Image("image/gif");
    }
    if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        return Kind::Image("image/webp");
    }
    let text = std::str::from_utf8(data).ok().filter(|t| !t.contains('\0'));
    match text {
        Some(t) if path.to_ascii_lowercase().ends_with(".svg") && t.contains("<svg") => {
            Kind::Image("image/svg+xml")
        }
        Some(_) => Kind::Text,
        None => Kind::Binary,
    }
}

/// A well-known media type for a binary file's name, else the generic one.
fn binary_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("pdf") => "application/pdf",
        Some("zip") => "application/zip",
        Some("gz") => "application/gzip",
        Some("wav") => "audio/wav",
        Some("mp3") => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

/// The structured content of a `run_code` result.
#[derive(Serialize)]
struct Structured<'a> {
    language: &'a str,
    exit_code: i32,
    timed_out: bool,
    build_failed: bool,
    oom_killed: bool,
    /// `"stdout"` or `"stderr"`: the stream whose output limit stopped the
    /// run; `null` otherwise.
    output_limit: Option<&'a str>,
    stdout: &'a str,
    stderr: &'a str,
    stdout_truncated: bool,
    stderr_truncated: bool,
    duration_ms: u64,
    /// Every file written under `$SBX_OUT`, sent or not.
    files: Vec<FileEntry<'a>>,
}

#[derive(Serialize)]
struct FileEntry<'a> {
    path: &'a str,
    bytes: Option<usize>,
    /// `image/png`, `text/plain`, ...; `null` for a file left out.
    mime_type: Option<&'a str>,
    /// Left out of the result: the files together exceed the limit.
    omitted: bool,
}

/// The tool result of a finished run. `code` is the exit code as the CLI
/// reports it (124 for a timeout, 123 for the output limit).
pub fn run_result(
    language: &str,
    code: i32,
    out: &RunOutput,
    files: &OutFiles,
    timeout_ms: u64,
    max_output: u64,
) -> CallToolResult {
    let o = &out.exit.outcome;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);

    let mut text = format!("exit code: {code}");
    if o.timed_out {
        text += &format!(
            " (timed out: killed after {})",
            crate::model::units::format_duration(std::time::Duration::from_millis(timeout_ms))
        );
    } else if o.build_failed {
        text += " (the build step failed; the compiler's output is below)";
    } else if o.oom_killed {
        text += " (killed: the run exceeded its memory limit)";
    } else if let Some(stream) = &o.output_limit {
        text += &format!(
            " (stopped: its {stream} exceeded the {} output limit)",
            format_size(max_output)
        );
    }
    text.push('\n');
    for (name, body, truncated) in [
        ("stdout", &stdout, o.stdout_truncated),
        ("stderr", &stderr, o.stderr_truncated),
    ] {
        if body.is_empty() && !truncated {
            text += &format!("{name}: (empty)\n");
            continue;
        }
        text += &format!("--- {name} ---\n{body}");
        if !body.is_empty() && !body.ends_with('\n') {
            text.push('\n');
        }
        if truncated {
            text += &format!(
                "[sbx: {name} truncated here: the program wrote more than the {} limit]\n",
                format_size(max_output)
            );
        }
    }

    let mut content = vec![ContentBlock::text(text)];
    let mut entries = Vec::new();
    for (path, data) in &files.files {
        let kind = kind_of(path, data);
        let mime = match kind {
            Kind::Image(mime) => {
                content.push(ContentBlock::text(format!("$SBX_OUT/{path} ({mime}):")));
                content.push(ContentBlock::image(STANDARD.encode(data), mime));
                mime
            }
            Kind::Text => {
                let t = std::str::from_utf8(data).expect("checked by kind_of");
                content.push(ContentBlock::text(format!("--- $SBX_OUT/{path} ---\n{t}")));
                "text/plain"
            }
            Kind::Binary => {
                let mime = binary_type(path);
                content.push(ContentBlock::resource(
                    ResourceContents::BlobResourceContents {
                        uri: format!("sbx://out/{path}"),
                        mime_type: Some(mime.into()),
                        blob: STANDARD.encode(data),
                        meta: None,
                    },
                ));
                mime
            }
        };
        entries.push(FileEntry {
            path,
            bytes: Some(data.len()),
            mime_type: Some(mime),
            omitted: false,
        });
    }
    if !files.omitted.is_empty() {
        content.push(ContentBlock::text(format!(
            "[sbx: left out of this result, past the {} of files one result carries: {}]",
            format_size(MAX_FILES_BYTES as u64),
            files.omitted.join(", ")
        )));
        entries.extend(files.omitted.iter().map(|path| FileEntry {
            path,
            bytes: None,
            mime_type: None,
            omitted: true,
        }));
    }

    let structured = Structured {
        language,
        exit_code: code,
        timed_out: o.timed_out,
        build_failed: o.build_failed,
        oom_killed: o.oom_killed,
        output_limit: o.output_limit.as_deref(),
        stdout: &stdout,
        stderr: &stderr,
        stdout_truncated: o.stdout_truncated,
        stderr_truncated: o.stderr_truncated,
        duration_ms: out.exit.duration_ms,
        files: entries,
    };
    let mut result = CallToolResult::success(content);
    result.structured_content =
        Some(serde_json::to_value(structured).expect("results always serialize"));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(path: &str, data: &[u8], append: bool) -> OutFile {
        OutFile {
            path: path.into(),
            mode: 0o644,
            data: data.to_vec(),
            append,
        }
    }

    #[test]
    fn files_are_told_apart_by_their_bytes_not_only_their_names() {
        assert_eq!(
            kind_of("plot", b"\x89PNG\r\n\x1a\n...."),
            Kind::Image("image/png")
        );
        assert_eq!(
            kind_of("a.txt", b"\xff\xd8\xff\xe0.."),
            Kind::Image("image/jpeg")
        );
        assert_eq!(
            kind_of("c.svg", b"<?xml version=\"1.0\"?><svg/>"),
            Kind::Image("image/svg+xml")
        );
        assert_eq!(kind_of("c.svg.txt", b"<svg/>"), Kind::Text);
        assert_eq!(kind_of("notes.md", "héllo\n".as_bytes()), Kind::Text);
        assert_eq!(kind_of("data.bin", b"a\0b"), Kind::Binary);
        assert_eq!(kind_of("data.bin", b"\xff\xfe"), Kind::Binary);
    }

    #[test]
    fn the_summary_gives_the_exit_code_then_each_stream_and_marks_a_cut() {
        use crate::model::run::RunOutcome;
        use crate::protocol::RunExit;
        let out = RunOutput {
            exit: RunExit {
                outcome: RunOutcome {
                    code: 123,
                    stdout_truncated: true,
                    output_limit: Some("stdout".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
            stdout: b"xxxx".to_vec(),
            stderr: Vec::new(),
            stdout_closed: false,
        };
        let r = run_result("python", 123, &out, &OutFiles::default(), 60_000, 4);
        assert_eq!(r.is_error, Some(false));
        assert_eq!(
            r.content[0].as_text().unwrap().text,
            "exit code: 123 (stopped: its stdout exceeded the 4B output limit)\n\
             --- stdout ---\nxxxx\n\
             [sbx: stdout truncated here: the program wrote more than the 4B limit]\n\
             stderr: (empty)\n"
        );
        let s = r.structured_content.unwrap();
        assert_eq!(s["exit_code"], 123);
        assert_eq!(s["stdout_truncated"], true);
    }

    #[test]
    fn chunks_of_a_file_are_joined_and_files_past_the_limit_are_named_not_sent() {
        let mut f = OutFiles::default();
        f.chunk(chunk("a.txt", b"hello ", false));
        f.chunk(chunk("a.txt", b"world", true));
        let big = vec![b'x'; MAX_FILES_BYTES - 11];
        f.chunk(chunk("big", &big[..10], false));
        f.chunk(chunk("big", &big[10..], true));
        f.chunk(chunk("big", b"!", true));
        f.chunk(chunk("after", b"ok", false));
        assert_eq!(f.files[0], ("a.txt".to_string(), b"hello world".to_vec()));
        assert_eq!(f.files.len(), 2, "big was dropped, after kept");
        assert_eq!(f.files[1].0, "after");
        assert_eq!(f.omitted, ["big"]);
    }
}
