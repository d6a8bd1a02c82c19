//! A bound on open connections: each costs TLS and HTTP buffers whether or not it is busy, so
//! past the bound a new connection waits, accepted but before its TLS handshake (a socket
//! and a small task, no buffers), until another closes. Clients see a slow handshake, as
//! with a full accept backlog; nothing is refused, so every request still gets its answer.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The inner acceptor of the TLS acceptor: waits for a connection slot.
#[derive(Debug, Clone)]
pub struct ConnectionLimit {
    slots: Arc<Semaphore>,
}

impl ConnectionLimit {
    /// At most `max` connections at once (at least one).
    pub fn new(max: usize) -> ConnectionLimit {
        ConnectionLimit {
            slots: Arc::new(Semaphore::new(max.max(1))),
        }
    }

    /// Slots free now (tests and metrics).
    pub fn available(&self) -> usize {
        self.slots.available_permits()
    }
}

impl<I, S> Accept<I, S> for ConnectionLimit
where
    I: Send + 'static,
    S: Send + 'static,
{
    type Stream = Slotted<I>;
    type Service = S;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Slotted<I>, S)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let slots = self.slots.clone();
        Box::pin(async move {
            let slot = slots
                .acquire_owned()
                .await
                .map_err(|_| io::Error::other("the server is shutting down"))?;
            Ok((
                Slotted {
                    inner: stream,
                    _slot: slot,
                },
                service,
            ))
        })
    }
}

/// A connection holding its slot until it is dropped.
#[derive(Debug)]
pub struct Slotted<I> {
    inner: I,
    _slot: OwnedSemaphorePermit,
}

impl<I: AsyncRead + Unpin> AsyncRead for Slotted<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Slotted<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
