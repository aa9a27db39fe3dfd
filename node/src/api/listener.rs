//! The HTTP listener: a bound on open connections, a deadline on every stalled read or
//! write, and a deadline on each request as a whole, so that clients that open connections and
//! send nothing (or trickle partial headers, or never read the answer) cannot hold the node's
//! file descriptors or delay its shutdown.

use std::{
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
    time::{Sleep, sleep},
};

/// A TCP listener that admits at most `max` connections at once and closes a connection
/// whose read or write makes no progress for `stall`.
pub struct BoundedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    stall: Duration,
    request_deadline: Option<Duration>,
}

impl BoundedListener {
    /// Wraps a bound listener.
    pub fn new(inner: TcpListener, max: usize, stall: Duration) -> Self {
        BoundedListener {
            inner,
            permits: Arc::new(Semaphore::new(max.max(1))),
            stall,
            request_deadline: None,
        }
    }

    /// Also closes a connection that keeps sending (each byte within the stall deadline) but
    /// is not answered within `deadline` of the first byte of its request: headers trickled a
    /// byte at a time never reach the router, whose own timeout therefore cannot end them.
    /// Make `deadline` longer than the router's timeout, so that a slow body gets its 408.
    pub fn with_request_deadline(mut self, deadline: Duration) -> Self {
        self.request_deadline = Some(deadline);
        self
    }
}

impl axum::serve::Listener for BoundedListener {
    type Io = GuardedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // At the limit, wait for a connection to close before accepting another: new clients
        // queue in the kernel's backlog instead of taking file descriptors.
        let permit = match self.permits.clone().acquire_owned().await {
            Ok(p) => p,
            Err(_) => std::future::pending().await, // the semaphore is never closed
        };
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (
                        GuardedStream {
                            inner: stream,
                            _permit: permit,
                            stall: self.stall,
                            read_timer: None,
                            write_timer: None,
                            request_deadline: self.request_deadline,
                            request_started: None,
                        },
                        addr,
                    );
                }
                Err(e) => {
                    // EMFILE and friends: say so, back off, try again.
                    tracing::warn!(cause = %e, "cannot accept an HTTP connection");
                    sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// An accepted connection: holds its slot until dropped; stalled reads and writes time out,
/// and so does a request not answered within the request deadline of its first byte.
pub struct GuardedStream {
    inner: TcpStream,
    _permit: OwnedSemaphorePermit,
    stall: Duration,
    read_timer: Option<Pin<Box<Sleep>>>,
    write_timer: Option<Pin<Box<Sleep>>>,
    request_deadline: Option<Duration>,
    /// When the first byte not yet answered arrived (cleared by every write of an answer).
    request_started: Option<Instant>,
}

fn stalled(timer: &mut Option<Pin<Box<Sleep>>>, stall: Duration, cx: &mut Context<'_>) -> bool {
    let t = timer.get_or_insert_with(|| Box::pin(sleep(stall)));
    t.as_mut().poll(cx).is_ready()
}

impl AsyncRead for GuardedStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.read_timer = None;
                if r.is_ok()
                    && buf.filled().len() > before
                    && let Some(deadline) = this.request_deadline
                {
                    let started = *this.request_started.get_or_insert_with(Instant::now);
                    if started.elapsed() > deadline {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "the client took too long to send its request",
                        )));
                    }
                }
                Poll::Ready(r)
            }
            Poll::Pending if stalled(&mut this.read_timer, this.stall, cx) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client sent nothing for too long",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.write_timer = None;
                if matches!(r, Ok(n) if n > 0) {
                    this.request_started = None;
                }
                Poll::Ready(r)
            }
            Poll::Pending if stalled(&mut this.write_timer, this.stall, cx) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client read nothing for too long",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
