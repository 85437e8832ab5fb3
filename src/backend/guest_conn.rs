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

    /// A round trip through the guest runner: it answers a `Ping` only if
    /// its main loop is alive. Only for an idle guest (no run in flight).
    pub async fn ping(&mut self, limit: Duration) -> Result<(), String> {
        let round_trip = async {
            self.send(&ToGuest::Ping)
                .await
                .map_err(|e| format!("cannot write to the guest: {e}"))?;
            loop {
                match self.next().await {
                    GuestEvent::Msg(FromGuest::Pong) => return Ok(()),
                    GuestEvent::Closed(why) => return Err(why),
                    _ => {}
                }
            }
        };
        tokio::time::timeout(limit, round_trip)
            .await
            .unwrap_or_else(|_| Err(format!("no answer to a ping within {limit:?}")))
    }

    /// False once the stream from the guest has ended (the container died
    /// or was killed). Never waits; discards anything an idle guest said.
    pub fn is_alive(&mut self) -> bool {
        use tokio::sync::mpsc::error::TryRecvError;
        loop {
            match self.events.try_recv() {
                Ok(GuestEvent::Closed(_)) | Err(TryRecvError::Disconnected) => return false,
                Ok(_) => {}
                Err(TryRecvError::Empty) => return true,
            }
        }
    }

    /// Wait for the guest's `Ready`, discarding stray output. Returns whether
    /// the guest reports itself clean.
    pub async fn wait_ready(&mut self, limit: Duration) -> Result<bool, String> {
        self.wait_ready_sized(limit).await.map(|(clean, _)| clean)
    }

    /// The guest's first `Ready`, with the limits it found itself under.
    pub async fn wait_first_ready(
        &mut self,
        limit: Duration,
    ) -> Result<Option<crate::guest::wire::SeenLimits>, String> {
        let wait = async {
            loop {
                match self.next().await {
                    GuestEvent::Msg(FromGuest::Ready { limits, .. }) => return Ok(limits),
                    GuestEvent::Closed(why) => return Err(why),
                    _ => {}
                }
            }
        };
        tokio::time::timeout(limit, wait)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {limit:?}")))
    }

    /// As [`GuestConn::wait_ready`], with the bytes a session's scratch
    /// locations hold after its run.
    pub async fn wait_ready_sized(&mut self, limit: Duration) -> Result<(bool, u64), String> {
        let wait = async {
            loop {
                match self.next().await {
                    GuestEvent::Msg(FromGuest::Ready {
                        clean,
                        scratch_bytes,
                        ..
                    }) => return Ok((clean, scratch_bytes)),
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
