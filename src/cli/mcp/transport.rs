//! The stdio transport: newline-delimited JSON-RPC on stdin/stdout, as the
//! SDK's own, except that a line that is not JSON at all is answered.
//!
//! The SDK drops such a line silently; JSON-RPC 2.0 answers it with a
//! Parse error (-32700), and a client that sent garbage learns so instead
//! of waiting for a reply that never comes. Lines are screened before the
//! SDK reads them: a line that parses as JSON goes on to the SDK's
//! transport through a pipe, unchanged; any other line is answered through
//! that same transport, so replies are never interleaved on stdout.

use rmcp::RoleServer;
use rmcp::model::ErrorData;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::transport::async_rw::AsyncRwTransport;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::mpsc;

/// Longest line passed on; the SDK's own limit.
const MAX_LINE: usize = rmcp::transport::async_rw::DEFAULT_MAX_LINE_LENGTH;

pub struct Screened {
    inner: AsyncRwTransport<RoleServer, DuplexStream, tokio::io::Stdout>,
    /// Why each unparsable line was refused.
    refused: mpsc::UnboundedReceiver<String>,
}

/// The server's transport on this process's stdin and stdout.
pub fn stdio() -> Screened {
    let (to_sdk, from_screen) = tokio::io::duplex(1 << 20);
    let (refuse, refused) = mpsc::unbounded_channel();
    tokio::spawn(screen(tokio::io::stdin(), to_sdk, refuse));
    Screened {
        inner: AsyncRwTransport::new_server(from_screen, tokio::io::stdout()),
        refused,
    }
}

/// Pass each line of `input` that is JSON on to `to_sdk`; report the others
/// on `refuse`. Ends (closing the pipe, which ends the session) at EOF.
async fn screen(
    input: impl tokio::io::AsyncRead + Unpin,
    mut to_sdk: DuplexStream,
    refuse: mpsc::UnboundedSender<String>,
) {
    let mut input = BufReader::new(input);
    let mut line = Vec::new();
    loop {
        line.clear();
        // Bounded, so that a peer that never sends a newline cannot make
        // this buffer grow without end.
        match (&mut input)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if !line.ends_with(b"\n") && line.len() == MAX_LINE {
            let _ = refuse.send(format!(
                "Parse error: the message is longer than {MAX_LINE} bytes"
            ));
            // The rest of that line is dropped.
            loop {
                line.clear();
                match (&mut input)
                    .take(MAX_LINE as u64)
                    .read_until(b'\n', &mut line)
                    .await
                {
                    Ok(0) | Err(_) => return,
                    Ok(_) if line.ends_with(b"\n") => break,
                    Ok(_) => {}
                }
            }
            continue;
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(text) {
            crate::verbose!("MCP: refused a line that is not JSON ({e})");
            let _ = refuse.send(format!("Parse error: the message is not JSON ({e})"));
            continue;
        }
        let mut pass = text.to_vec();
        pass.push(b'\n');
        if to_sdk.write_all(&pass).await.is_err() {
            return;
        }
    }
}

impl Transport<RoleServer> for Screened {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            tokio::select! {
                msg = self.inner.receive() => return msg,
                Some(why) = self.refused.recv() => {
                    // No id can be read from a line that is not JSON, so the
                    // error carries none (JSON-RPC 2.0, 5.1).
                    let error = TxJsonRpcMessage::<RoleServer>::error(ErrorData::parse_error(why, None), None);
                    if self.inner.send(error).await.is_err() {
                        return None;
                    }
                }
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.inner.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_that_are_not_json_are_refused_and_the_others_pass_unchanged() {
        let input: &[u8] =
            b"{\"a\":1}\r\nnot json\n\n[1, 2]\n{\"cut\":\n\xEF\xBB\xBF{\"bom\":true}\n{\"last\":0}";
        let (to_sdk, mut from_screen) = tokio::io::duplex(1 << 16);
        let (refuse, mut refused) = mpsc::unbounded_channel();
        screen(input, to_sdk, refuse).await;
        let mut passed = String::new();
        from_screen.read_to_string(&mut passed).await.unwrap();
        assert_eq!(passed, "{\"a\":1}\n[1, 2]\n{\"bom\":true}\n{\"last\":0}\n");
        let mut why = Vec::new();
        while let Ok(w) = refused.try_recv() {
            why.push(w);
        }
        assert_eq!(why.len(), 2, "{why:?}");
        assert!(
            why.iter().all(|w| w.starts_with("Parse error: ")),
            "{why:?}"
        );
    }
}
