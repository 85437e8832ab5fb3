//! The agent's end of the stream to one container's guest runner.

use crate::guest::wire::{FromGuest, ToGuest};
use crate::protocol::{Frame, FrameDecoder, Kind};
use std::pin::Pin;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

#[derive(Debug)]
pub enum GuestEvent {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    Msg(FromGuest),
    /// The stream ended or carried garbage; the container is unusable.
    Closed(String),
}

pub struct GuestConn {
    writer: Pin<Box<dyn AsyncWrite + Send>>,
    events: mpsc::Receiver<GuestEvent>,
}

impl GuestConn {
    pub fn new(
        writer: Pin<Box<dyn AsyncWrite + Send>>,
        events: mpsc::Receiver<GuestEvent>,
    ) -> GuestConn {
        GuestConn { writer, events }
    }

    async fn write(&mut self, frame: &Frame) -> std::io::Result<()> {
        self.writer.write_all(&frame.encode()).await?;
        self.writer.flush().await
    }

    pub async fn send(&mut self, msg: &ToGuest) -> std::io::Result<()> {
        self.write(&Frame::control(msg)).await
    }

    pub async fn send_stdin(&mut self, data: Vec<u8>) -> std::io::Result<()> {
        self.write(&Frame::data(Kind::Stdin, data)).await
    }

    pub async fn next(&mut self) -> GuestEvent {
        self.events
            .recv()
            .await
            .unwrap_or_else(|| GuestEvent::Closed("guest stream ended".into()))
    }

    /// Whether the container is already known to be gone (its stream
    /// ended, e.g. the engine restarted or someone removed it), without
    /// waiting. Only meaningful between runs, when nothing else is expected
    /// from the guest: any buffered event is consumed.
    pub fn is_lost(&mut self) -> bool {
        loop {
            match self.events.try_recv() {
                Ok(GuestEvent::Closed(_)) => return true,
                Ok(_) => continue,
                Err(mpsc::error::TryRecvError::Empty) => return false,
                Err(mpsc::error::TryRecvError::Disconnected) => return true,
            }
        }
    }

    /// Wait for the guest's `Ready`, discarding stray output. Returns whether
    /// the guest reports itself clean.
    pub async fn wait_ready(&mut self, limit: Duration) -> Result<bool, String> {
        let wait = async {
            loop {
                match self.next().await {
                    GuestEvent::Msg(FromGuest::Ready { clean, .. }) => return Ok(clean),
                    GuestEvent::Closed(why) => return Err(why),
                    _ => {}
                }
            }
        };
        tokio::time::timeout(limit, wait)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {limit:?}")))
    }
}

/// Capacity of the channel between a container's stream and the run that
/// consumes it. Bounded so that a program writing faster than its client
/// reads is slowed down (the pipe back-pressure reaches the program) instead
/// of filling the agent's memory.
pub const EVENT_BUFFER: usize = 64;

/// Decode the frames completed by `bytes` into events. After an event that
/// makes the stream unusable (`Closed`), the caller must stop reading.
pub fn decode_events(decoder: &mut FrameDecoder, bytes: &[u8]) -> Vec<GuestEvent> {
    decoder.push(bytes);
    let mut events = Vec::new();
    loop {
        match decoder.next_frame() {
            Ok(None) => return events,
            Ok(Some(frame)) => {
                let ev = match frame.kind {
                    Kind::Stdout => GuestEvent::Stdout(frame.payload),
                    Kind::Stderr => GuestEvent::Stderr(frame.payload),
                    Kind::Control => match frame.parse::<FromGuest>() {
                        Ok(m) => GuestEvent::Msg(m),
                        Err(e) => GuestEvent::Closed(format!("bad message from guest: {e}")),
                    },
                    Kind::Stdin => GuestEvent::Closed("guest sent a stdin frame".into()),
                };
                let fatal = matches!(ev, GuestEvent::Closed(_));
                events.push(ev);
                if fatal {
                    return events;
                }
            }
            Err(e) => {
                events.push(GuestEvent::Closed(format!("bad frame from guest: {e}")));
                return events;
            }
        }
    }
}
