//! Request bodies that stall or crawl are cut off, so a client cannot hold
//! a connection, a request and an upload's lock for as long as it likes by
//! sending nothing, or one byte a second. It owns only the body wrapper and
//! its layer; the connection-level header timeout is set where the server
//! is built (`lib.rs`).
//!
//! Two limits, checked only while the handler waits for the client (time
//! the server itself spends, e.g. writing to disk, is never counted
//! against it):
//! - idle: no byte for `idle` (nginx's `client_body_timeout`, 60 s);
//! - rate: from the body's first read, `received` bytes must have arrived
//!   by `idle + received / min_rate` (Apache `mod_reqtimeout`'s
//!   `body=…,MinRate=500`): each byte buys a little more time, so a
//!   large upload at any sane speed never meets it, and 1 byte/s does
//!   after about `idle`.
//!
//! The handler then sees its body fail (an `io::ErrorKind::TimedOut`
//! error): an upload keeps what arrived before (the session stays
//! resumable at the size it reports) and answers 400; hyper closes the
//! connection, since the rest of the body was not read.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::body::Body;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The limits of every request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTimeouts {
    /// The longest wait for the next byte.
    pub idle: Duration,
    /// The least average rate in bytes per second once `idle` has passed;
    /// 0 turns the rate check off.
    pub min_rate: u64,
}

/// A layer that wraps every request body in [`Paced`].
pub fn layer(
    timeouts: BodyTimeouts,
) -> tower::util::MapRequestLayer<impl Fn(axum::extract::Request) -> axum::extract::Request + Clone> {
    tower::util::MapRequestLayer::new(move |request: axum::extract::Request| {
        request.map(|body| Body::new(Paced::new(body, timeouts)))
    })
}

/// A request body that fails once the client stalls or crawls
/// ([`BodyTimeouts`]). Only time spent waiting for the client counts: a
/// wait starts when the inner body has nothing (`Pending`) and ends at the
/// next poll.
pub struct Paced {
    inner: Body,
    timeouts: BodyTimeouts,
    received: u64,
    /// All waiting so far, and the waiting since the last byte.
    waited: Duration,
    waited_since_byte: Duration,
    /// When the current wait began.
    waiting_since: Option<Instant>,
    /// Armed while waiting; it may fire before the current deadline
    /// (progress moves the deadline later without resetting it) and is then
    /// reset, which costs less than a reset for every frame.
    timer: Option<Pin<Box<Sleep>>>,
    failed: bool,
}

impl Paced {
    pub fn new(inner: Body, timeouts: BodyTimeouts) -> Self {
        Self {
            inner,
            timeouts,
            received: 0,
            waited: Duration::ZERO,
            waited_since_byte: Duration::ZERO,
            waiting_since: None,
            timer: None,
            failed: false,
        }
    }

    /// How much more waiting the client is allowed, and what it is told
    /// when that runs out.
    fn allowance(&self) -> (Duration, Stall) {
        let idle = self.timeouts.idle.saturating_sub(self.waited_since_byte);
        if self.timeouts.min_rate == 0 {
            return (idle, Stall::Idle);
        }
        let earned = Duration::from_secs_f64(self.received as f64 / self.timeouts.min_rate as f64);
        let rate = (self.timeouts.idle + earned).saturating_sub(self.waited);
        if rate < idle {
            (rate, Stall::Slow)
        } else {
            (idle, Stall::Idle)
        }
    }

    fn stalled(&mut self, why: Stall) -> axum::Error {
        self.failed = true;
        let message = match why {
            Stall::Idle => {
                format!("the request body stalled: no byte for {} s", self.timeouts.idle.as_secs())
            }
            Stall::Slow => format!(
                "the request body is too slow: {} bytes in {} s, below the minimum of {} bytes/s",
                self.received,
                self.waited.as_secs(),
                self.timeouts.min_rate
            ),
        };
        tracing::info!(received = self.received, "{message}");
        axum::Error::new(std::io::Error::new(std::io::ErrorKind::TimedOut, message))
    }
}

#[derive(Debug, Clone, Copy)]
enum Stall {
    Idle,
    Slow,
}

impl http_body::Body for Paced {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        let now = Instant::now();
        if let Some(since) = this.waiting_since.take() {
            let waited = now.saturating_duration_since(since);
            this.waited += waited;
            this.waited_since_byte += waited;
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref().filter(|data| !data.is_empty()) {
                    this.received += data.len() as u64;
                    this.waited_since_byte = Duration::ZERO;
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(other) => return Poll::Ready(other),
            Poll::Pending => {}
        }
        // Waiting for the client: has it used up its allowance?
        let (allowance, why) = this.allowance();
        if allowance.is_zero() {
            return Poll::Ready(Some(Err(this.stalled(why))));
        }
        this.waiting_since = Some(now);
        let deadline = now + allowance;
        let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() > deadline {
            timer.as_mut().reset(deadline);
        }
        while timer.as_mut().poll(cx).is_ready() {
            if Instant::now() >= deadline {
                // Out of time: the next poll (at once) says so.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            timer.as_mut().reset(deadline);
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    //! In real time, scaled down (tokio's paused clock needs its
    //! `test-util` feature, which the workspace does not build with).

    use super::*;
    use http_body_util::BodyExt;

    const MS: Duration = Duration::from_millis(1);
    /// 300 ms without a byte; 100 bytes/s after that allowance.
    const LIMITS: BodyTimeouts = BodyTimeouts { idle: Duration::from_millis(300), min_rate: 100 };

    /// A body the test feeds through a channel, wrapped in `Paced`.
    fn paced(limits: BodyTimeouts) -> (tokio::sync::mpsc::Sender<Bytes>, Paced) {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Bytes>(4);
        let stream = futures::stream::poll_fn(move |cx| {
            receiver.poll_recv(cx).map(|b| b.map(Ok::<_, std::io::Error>))
        });
        (sender, Paced::new(Body::from_stream(stream), limits))
    }

    /// Sends `count` chunks of `size` bytes, one every `every`.
    fn feed(sender: tokio::sync::mpsc::Sender<Bytes>, count: usize, size: usize, every: Duration) {
        tokio::spawn(async move {
            for _ in 0..count {
                tokio::time::sleep(every).await;
                if sender.send(Bytes::from(vec![b'x'; size])).await.is_err() {
                    break;
                }
            }
        });
    }

    async fn next(body: &mut Paced) -> Option<Result<Bytes, String>> {
        body.frame().await.map(|frame| {
            frame.map(|frame| frame.into_data().unwrap_or_default()).map_err(|error| error.to_string())
        })
    }

    /// Reads to the end: the bytes received, and the error that ended it.
    async fn drain(body: &mut Paced) -> (usize, Option<String>) {
        let mut received = 0;
        while let Some(chunk) = next(body).await {
            match chunk {
                Ok(chunk) => received += chunk.len(),
                Err(error) => return (received, Some(error)),
            }
        }
        (received, None)
    }

    #[tokio::test]
    async fn a_steady_body_passes_whole() {
        let (sender, mut body) = paced(LIMITS);
        // 50 ms gaps, 2,000 bytes/s: within both limits.
        feed(sender, 20, 100, 50 * MS);
        assert_eq!(drain(&mut body).await, (2000, None));
    }

    #[tokio::test]
    async fn a_stalled_body_fails_after_the_idle_timeout() {
        let (sender, mut body) = paced(LIMITS);
        sender.send(Bytes::from_static(b"some")).await.unwrap();
        assert_eq!(next(&mut body).await.unwrap().unwrap(), "some");
        let waited = Instant::now();
        let error = next(&mut body).await.unwrap().unwrap_err();
        let elapsed = waited.elapsed();
        assert!(elapsed >= 300 * MS && elapsed < 2000 * MS, "{elapsed:?}");
        assert!(error.contains("stalled: no byte for"), "{error}");
        assert!(next(&mut body).await.is_none(), "nothing after the error");
        drop(sender);
    }

    #[tokio::test]
    async fn a_crawling_body_fails_at_the_minimum_rate() {
        let (sender, mut body) = paced(LIMITS);
        // A byte every 100 ms never waits 300 ms, but 10 bytes/s is below
        // 100: out of allowance at about 0.3 s + n/100 = n/10, n = 3 or 4.
        let started = Instant::now();
        feed(sender, 100, 1, 100 * MS);
        let (received, error) = drain(&mut body).await;
        let elapsed = started.elapsed();
        assert!(elapsed >= 300 * MS && elapsed < 2000 * MS, "{elapsed:?}");
        assert!((2..=10).contains(&received), "{received}");
        assert!(error.unwrap().contains("too slow"));
    }

    #[tokio::test]
    async fn without_a_minimum_rate_only_idleness_counts() {
        let (sender, mut body) = paced(BodyTimeouts { idle: 1000 * MS, min_rate: 0 });
        // 2 bytes/s would be too slow for any rate; 300 ms gaps are not idle.
        feed(sender, 5, 1, 300 * MS);
        assert_eq!(drain(&mut body).await, (5, None));
    }

    #[tokio::test]
    async fn time_the_handler_spends_elsewhere_is_not_counted() {
        let (sender, mut body) = paced(LIMITS);
        sender.send(Bytes::from_static(b"a")).await.unwrap();
        assert_eq!(next(&mut body).await.unwrap().unwrap(), "a");
        // Waiting, then the client sends while the handler is busy for far
        // longer than the idle timeout.
        let waiting = tokio::time::timeout(100 * MS, next(&mut body)).await;
        assert!(waiting.is_err(), "nothing to read yet");
        sender.send(Bytes::from_static(b"b")).await.unwrap();
        tokio::time::sleep(700 * MS).await;
        assert_eq!(next(&mut body).await.unwrap().unwrap(), "b");
        drop(sender);
        assert!(next(&mut body).await.is_none());
    }
}
