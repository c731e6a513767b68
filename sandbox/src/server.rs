//! The TLS accept loop shared by the main clinic listener and the alternate (bad-certificate)
//! listeners the control API opens.
//!
//! Each accepted socket gets `TCP_NODELAY` (see performance.md: header and body written in two
//! segments with Nagle on cost ~35 ms per page) and is wrapped in [`FaultIo`], which lets a fault
//! rule cut or stall the connection after a given number of response bytes.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::time::Sleep;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use crate::state::{AppState, ConnEvent};

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// What happens once the byte budget of an armed connection is spent.
#[derive(Clone, Copy, Debug)]
pub enum AfterBudget {
    /// Close the connection (the client sees a truncated response / EOF).
    Drop,
    /// Stop writing and hold the connection open for this long, then close it.
    Stall(Duration),
}

/// Per-connection handle, put into every request's extensions so the fault middleware can arm
/// the connection and the request log can say which listener/connection a request came on.
#[derive(Debug)]
pub struct ConnCtl {
    /// Listener name: `main`, `expired`, `wrong_host`, ...
    pub listener: String,
    /// Connection number, unique per process.
    pub id: u64,
    plan: Mutex<Option<(usize, AfterBudget)>>,
}

impl ConnCtl {
    /// Allow `budget` more response bytes, then apply `then`.
    pub fn arm(&self, budget: usize, then: AfterBudget) {
        *self.plan.lock().expect("conn plan lock") = Some((budget, then));
    }
}

/// IO wrapper that enforces [`ConnCtl::arm`] on the plaintext (HTTP) bytes.
struct FaultIo<T> {
    inner: T,
    ctl: Arc<ConnCtl>,
    stall: Option<Pin<Box<Sleep>>>,
}

impl<T: AsyncWrite + Unpin> FaultIo<T> {
    /// Called when the budget is spent: flush what was allowed, then drop or stall.
    fn exhausted(&mut self, cx: &mut Context<'_>, then: AfterBudget) -> Poll<io::Result<usize>> {
        ready!(Pin::new(&mut self.inner).poll_flush(cx))?;
        if let AfterBudget::Stall(d) = then {
            let sleep = self
                .stall
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(d)));
            ready!(sleep.as_mut().poll(cx));
        }
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "sandbox fault: connection cut",
        )))
    }
}

use std::future::Future;

impl<T: AsyncRead + Unpin> AsyncRead for FaultIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for FaultIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let plan = *self.ctl.plan.lock().expect("conn plan lock");
        match plan {
            None => Pin::new(&mut self.inner).poll_write(cx, buf),
            Some((0, then)) => self.exhausted(cx, then),
            Some((budget, then)) => {
                let n = budget.min(buf.len());
                let written = ready!(Pin::new(&mut self.inner).poll_write(cx, &buf[..n]))?;
                *self.ctl.plan.lock().expect("conn plan lock") = Some((budget - written, then));
                Poll::Ready(Ok(written))
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Accepts TLS connections on `listener` forever and serves `app` on each (HTTP/1.1).
pub async fn serve_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    state: Arc<AppState>,
    name: String,
) {
    loop {
        let (tcp, _peer) = match listener.accept().await {
            Ok(x) => x,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
        state.log_conn(ConnEvent::new(&name, id, "tcp_accepted", None));
        let acceptor = acceptor.clone();
        let app = app.clone();
        let state = state.clone();
        let name = name.clone();
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(t) => t,
                Err(e) => {
                    state.log_conn(ConnEvent::new(&name, id, "tls_failed", Some(e.to_string())));
                    return;
                }
            };
            state.log_conn(ConnEvent::new(&name, id, "tls_established", None));
            let ctl = Arc::new(ConnCtl {
                listener: name.clone(),
                id,
                plan: Mutex::new(None),
            });
            let io = FaultIo {
                inner: tls,
                ctl: ctl.clone(),
                stall: None,
            };
            let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ctl.clone());
                let mut app = app.clone();
                async move { app.call(req).await }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(io), svc);
            let _ = conn.await;
        });
    }
}
