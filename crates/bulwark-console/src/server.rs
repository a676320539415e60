//! `bulwark console start`: settings, secrets and certificate, the listener, the one-time setup
//! link when unconfigured, then HTTPS (hyper over tokio-rustls) serving the console's router.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::app::{self, AppState};
use crate::code::VerificationCode;
use crate::session::Sealer;
use crate::{ConsoleError, ConsoleHome, TokenDecoder};

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long request headers may take.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// What `start` needs.
pub struct StartOptions {
    /// The console's home.
    pub home: ConsoleHome,
    /// `-E key=value` overrides.
    pub overrides: Vec<String>,
    /// The enrollment token codec.
    pub decoder: TokenDecoder,
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, ConsoleError> {
    bulwark_settings::network::resolve_host(host, port)
        .ok_or_else(|| ConsoleError::Config(format!("[server.host]: cannot resolve [{host}]")))
}

/// Runs the console until the process is stopped (Ctrl-C or SIGTERM).
pub async fn start(opts: StartOptions) -> Result<(), ConsoleError> {
    let home = opts.home;
    home.create_dirs()?;
    let settings = crate::load_settings(&home, &opts.overrides)?;
    let sealer = Sealer::new(&home.encryption_key()?)?;
    let tls = crate::tls::server_config(&home, &settings)?;
    let link = AppState::link(&home, &settings)?;
    let addr = resolve(&settings.host, settings.port)?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ConsoleError::Bind { addr: addr.to_string(), source })?;
    let bound =
        listener.local_addr().map_err(|source| ConsoleError::Bind { addr: addr.to_string(), source })?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    if tls.is_none() {
        tracing::warn!(
            "[server.ssl.enabled] is false: the console serves plain HTTP; sessions and passwords cross the network in clear"
        );
    }
    let base = settings.public_base_url.clone().unwrap_or_else(|| {
        let host = if settings.host == "0.0.0.0" || settings.host == "::" {
            "localhost".to_owned()
        } else {
            settings.host.clone()
        };
        format!("{scheme}://{host}:{}", bound.port())
    });
    let code = if link.is_none() && settings.interactive_setup {
        let code = VerificationCode::generate(&home.code_file())?;
        println!(
            "\nThe console is not connected to a cluster yet. Go to {base}/setup?code={} to connect it\n\
             (or run `bulwark console setup --enrollment-token <token>`).\n",
            code.code()
        );
        Some(code)
    } else {
        let _ = std::fs::remove_file(home.code_file());
        if link.is_none() {
            println!(
                "\nThe console is not connected to a cluster and [interactiveSetup.enabled] is false: run `bulwark console setup --enrollment-token <token>`.\n"
            );
        }
        None
    };
    if settings.portsfile {
        let ports = home.ports_file();
        bulwark_pki::write_atomic(&ports, format!("{bound}\n").as_bytes(), 0o644)
            .map_err(|e| ConsoleError::Config(format!("cannot write the ports file: {e}")))?;
    }
    tracing::info!(address = %bound, scheme, "the console is listening");
    println!("Console listening on {base}");
    let state = Arc::new(AppState::new(
        home.clone(),
        opts.overrides,
        settings,
        sealer,
        link,
        code,
        opts.decoder,
        tls.is_some(),
    ));
    crate::monitor::spawn(Arc::clone(&state));
    let router = app::router(state);
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (tcp, _peer) = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                router.clone().oneshot(req.map(axum::body::Body::new))
            });
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder.http1().timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
            let builder = builder.http1_only();
            match acceptor {
                Some(acceptor) => {
                    let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                }
                None => {
                    let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                }
            }
        });
    }
    let _ = std::fs::remove_file(home.ports_file());
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
