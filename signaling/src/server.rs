//! The HTTP side: routes, the class-creation API, metrics, and starting/stopping a node.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde::Serialize;
use sfu::{MediaConfig, MediaPlane};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::assets;
use crate::auth::Auth;
use crate::config::Config;
use crate::limits::per_address::AddressBuckets;
use crate::limits::{refusal, refuse_cross_site, refuse_foreign_origin};
use crate::rooms::Rooms;
use crate::session;
use crate::tokens::secret_eq;

/// How often expired, empty classes are removed.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// How long shutdown waits for sessions to say goodbye: each lingers at most a second for the
/// client's close reply, so this is only reached by a client that stopped reading.
const SESSIONS_END_WITHIN: Duration = Duration::from_secs(3);

/// Shared by every request.
#[derive(Debug)]
pub struct AppState {
    pub config: Config,
    pub rooms: Rooms,
    pub media: MediaPlane,
    /// Flips to true when the node shuts down; sessions say goodbye.
    pub shutdown: watch::Receiver<bool>,
    /// WebSocket sessions still running. Upgraded connections are not HTTP connections any
    /// more, so axum's graceful shutdown does not wait for them: shutdown waits on this.
    pub live_sessions: session::LiveSessions,
    /// Classes created per source address (`POST /api/rooms`), a token bucket each.
    pub room_creations: std::sync::Mutex<AddressBuckets>,
}

/// Resolves once the node is shutting down: at once if it already is (a task started after the
/// flip must still see it), or if the node is gone.
pub async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    // The borrowed value is dropped here, not held by the caller across its own awaits.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// A running node.
#[derive(Debug)]
pub struct Server {
    pub http_addr: SocketAddr,
    pub state: Arc<AppState>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Binds HTTP and the media sockets and starts serving.
    pub async fn start(config: Config) -> anyhow::Result<Server> {
        // Keys first: a bad key set must stop the start before any port is taken.
        let auth = Auth::from_config(&config.auth)?;
        let media = MediaPlane::start(&MediaConfig {
            shards: config.shard_count(),
            bind_ip: config.media.bind_ip,
            public_ip: config.media.public_ip,
            port_base: config.media.udp_port_base,
        })
        .map_err(|e| anyhow::anyhow!("cannot bind the media ports: {e}"))?;
        let listener = TcpListener::bind(config.http)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.http))?;
        let http_addr = listener.local_addr()?;
        let (stop, shutdown) = watch::channel(false);
        let rooms = Rooms::new(
            media.shards().len(),
            Duration::from_secs(config.token_ttl_secs),
            config.class_config(),
        )
        .with_auth(Arc::new(auth))
        .with_max_rooms(config.limits.max_rooms);
        let room_creations = std::sync::Mutex::new(AddressBuckets::new(
            config.limits.room_creations_per_minute,
            config.limits.room_creation_burst,
        ));
        let state = Arc::new(AppState {
            room_creations,
            config,
            rooms,
            media,
            shutdown: shutdown.clone(),
            live_sessions: session::LiveSessions::default(),
        });
        tokio::spawn(sweep_rooms(state.clone(), shutdown.clone()));
        let app = router(state.clone());
        // Signalling is many small messages each way: Nagle's algorithm would hold each one
        // back waiting for the peer's delayed ACK (tens of milliseconds per exchange).
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let mut until = shutdown;
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move { stopping(&mut until).await })
            .await
        });
        Ok(Server {
            http_addr,
            state,
            stop,
            task,
        })
    }

    /// UDP address of each shard's socket.
    pub fn media_addrs(&self) -> Vec<SocketAddr> {
        self.state
            .media
            .shards()
            .iter()
            .map(|s| s.local_addr())
            .collect()
    }

    /// Tells every session goodbye, stops serving, and waits for HTTP to finish and for the
    /// sessions to have sent their goodbye (bounded: a client that never reads cannot hold the
    /// node up).
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.task.await??;
        if !self
            .state
            .live_sessions
            .all_ended_within(SESSIONS_END_WITHIN)
            .await
        {
            tracing::warn!(
                sessions = self.state.live_sessions.count(),
                "sessions still open at shutdown; closing them unannounced"
            );
        }
        Ok(())
    }
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(|| async { assets::serve("index.html") }))
        .route(
            "/class/{room}",
            get(|| async { assets::serve("class.html") }),
        )
        .route("/api/rooms", post(create_room))
        .route("/ws", get(websocket))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(get(|uri: axum::http::Uri| async move {
            assets::serve(uri.path().trim_start_matches('/'))
        }))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Headers on every response: the page may load nothing from another host, and links carrying
/// tokens are never leaked through `Referer`.
async fn security_headers(request: axum::extract::Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; media-src 'self' blob: mediastream:; \
         object-src 'none'; base-uri 'none'; form-action 'self'",
    );
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(
        headers,
        header::HeaderName::from_static("permissions-policy"),
        "camera=(self), microphone=(self), display-capture=(self)",
    );
    response
}

#[derive(Debug, Serialize)]
struct CreatedRoom {
    room: String,
    teacher_url: String,
    pupil_url: String,
    observer_url: String,
}

async fn create_room(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let config = &state.config;
    // Cross-site first: a page elsewhere on the web must not create classes through a teacher's
    // browser (a text/plain POST needs no CORS preflight).
    if let Some(refused) = refuse_cross_site(config.public_url.as_deref(), &headers) {
        tracing::debug!("class creation refused: cross-site request");
        return refused;
    }
    if let Some(refused) = refuse_creator(config, &headers) {
        return refused;
    }
    let allowed = state
        .room_creations
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .try_take(peer.ip(), Instant::now());
    if !allowed {
        tracing::debug!("class creation refused: rate per address");
        return refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_creations",
            &format!(
                "too many classes created from your address (at most {} a minute, {} at once); \
                 wait a minute and try again",
                config.limits.room_creations_per_minute, config.limits.room_creation_burst
            ),
        );
    }
    let base = match base_url(config, &headers) {
        Ok(base) => base,
        Err(message) => return refusal(StatusCode::BAD_REQUEST, "bad_host", message),
    };
    let Some(room) = state.rooms.try_create(Instant::now()) else {
        tracing::warn!(
            max_rooms = config.limits.max_rooms,
            "class refused: node full"
        );
        return refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_rooms",
            "this server holds as many classes as it is allowed to; try again later or use another server",
        );
    };
    tracing::info!(shard = room.shard, "class created");
    let link = |token: &str| format!("{base}/class/{}?token={token}", room.id);
    let body = CreatedRoom {
        room: room.id.clone(),
        teacher_url: link(&room.teacher_token),
        pupil_url: link(&room.pupil_token),
        observer_url: link(&room.observer_token),
    };
    (StatusCode::CREATED, Json(body)).into_response()
}

/// The refusal when this request may not create a class: with the admin key when one is set; without one
/// only on a server nobody beyond this machine can reach. The TCP peer alone cannot say that:
/// behind a reverse proxy on the same host every request comes from loopback. So keyless
/// creation needs HTTP bound to loopback, no `public_url`, and no proxy header on the request.
fn refuse_creator(config: &Config, headers: &HeaderMap) -> Option<Response> {
    const NEEDS_KEY: &str = "admin_key_required";
    if let Some(key) = &config.admin_key {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        return match given {
            Some(given) if secret_eq(given.trim(), key) => None,
            Some(_) => Some(refusal(
                StatusCode::UNAUTHORIZED,
                "bad_admin_key",
                "this admin key is not the server's; check it with whoever runs the server",
            )),
            None => Some(refusal(
                StatusCode::UNAUTHORIZED,
                NEEDS_KEY,
                "creating a class on this server needs its admin key \
                 (Authorization: Bearer <key>); ask whoever runs the server",
            )),
        };
    }
    let reachable = if !config.http.ip().is_loopback() {
        Some("it listens beyond this machine")
    } else if config.public_url.is_some() {
        Some("it has a public_url")
    } else if PROXY_HEADERS.iter().any(|h| headers.contains_key(*h)) {
        Some("this request came through a proxy")
    } else {
        None
    };
    reachable.map(|why| {
        refusal(
            StatusCode::FORBIDDEN,
            NEEDS_KEY,
            &format!(
                "this server can be reached from other machines ({why}), so creating a class \
                 needs an admin key: whoever runs the server sets admin_key \
                 (or CLASSROOM_ADMIN_KEY) and gives it to the teachers"
            ),
        )
    })
}

/// Headers a reverse proxy adds: their presence means the request did not start on this machine.
const PROXY_HEADERS: [&str; 4] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-real-ip",
];

/// The origin for invitation links: the configured public URL, else the host the request came to.
fn base_url(config: &Config, headers: &HeaderMap) -> Result<String, &'static str> {
    if let Some(url) = &config.public_url {
        return Ok(url.trim_end_matches('/').to_owned());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or("the request has no Host header")?;
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
    if !valid {
        return Err("the Host header is not a host name");
    }
    Ok(format!("http://{host}"))
}

async fn websocket(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let config = &state.config;
    if let Some(refused) = refuse_foreign_origin(
        &config.allowed_origins,
        config.public_url.as_deref(),
        &headers,
    ) {
        tracing::debug!("websocket refused: origin not allowed");
        return refused;
    }
    let max = config.limits.max_message_bytes;
    // Counted from here, while the HTTP connection is still one axum waits for, so a shutdown
    // racing the upgrade still waits for this session's goodbye.
    let live = state.live_sessions.enter();
    upgrade
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| session::run(socket, state, live, peer.ip()))
}

/// One per-shard metric: name, Prometheus type, and how to read it from a shard's stats.
type MetricSeries = (&'static str, &'static str, fn(&sfu::StatsSnapshot) -> u64);

/// Prometheus text format: what each shard holds and has done.
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut text = String::new();
    let _ = writeln!(text, "# TYPE classroom_classes gauge");
    let _ = writeln!(text, "classroom_classes {}", state.rooms.len());
    let _ = writeln!(text, "# TYPE classroom_participants gauge");
    let _ = writeln!(
        text,
        "classroom_participants {}",
        state.rooms.participant_count()
    );
    let stats = state.media.stats();
    let series: [MetricSeries; 10] = [
        ("classroom_shard_rooms", "gauge", |s| s.rooms),
        ("classroom_shard_media_sessions", "gauge", |s| {
            s.participants
        }),
        ("classroom_shard_published_tracks", "gauge", |s| {
            s.published_tracks
        }),
        ("classroom_shard_subscriptions", "gauge", |s| {
            s.subscriptions
        }),
        ("classroom_shard_demux_entries", "gauge", |s| {
            s.demux_entries
        }),
        ("classroom_shard_forwarded_total", "counter", |s| {
            s.forwarded
        }),
        ("classroom_shard_dropped_total", "counter", |s| s.dropped),
        ("classroom_shard_keyframe_requests_total", "counter", |s| {
            s.keyframe_requests_sent
        }),
        ("classroom_shard_datagrams_in_total", "counter", |s| {
            s.datagrams_in
        }),
        ("classroom_shard_datagrams_out_total", "counter", |s| {
            s.datagrams_out
        }),
    ];
    for (name, kind, read) in series {
        let _ = writeln!(text, "# TYPE {name} {kind}");
        for (shard, snapshot) in stats.iter().enumerate() {
            let _ = writeln!(text, "{name}{{shard=\"{shard}\"}} {}", read(snapshot));
        }
    }
    write_hold_histograms(&mut text, &stats);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// `classroom_shard_hold_seconds`: how long each shard held datagrams, from their arrival at its
/// socket until what they caused was sent (`sfu::hold_time`), as a Prometheus histogram.
fn write_hold_histograms(text: &mut String, stats: &[sfu::StatsSnapshot]) {
    let name = "classroom_shard_hold_seconds";
    let _ = writeln!(text, "# TYPE {name} histogram");
    for (shard, snapshot) in stats.iter().enumerate() {
        let hold = &snapshot.hold;
        let mut cumulative = 0;
        for (bound_us, count) in sfu::hold_time::BUCKET_BOUNDS_US.iter().zip(hold.counts) {
            cumulative += count;
            let le = *bound_us as f64 / 1e6;
            let _ = writeln!(
                text,
                "{name}_bucket{{shard=\"{shard}\",le=\"{le}\"}} {cumulative}"
            );
        }
        let total = hold.count();
        let _ = writeln!(
            text,
            "{name}_bucket{{shard=\"{shard}\",le=\"+Inf\"}} {total}"
        );
        let sum = hold.sum_us as f64 / 1e6;
        let _ = writeln!(text, "{name}_sum{{shard=\"{shard}\"}} {sum}");
        let _ = writeln!(text, "{name}_count{{shard=\"{shard}\"}} {total}");
    }
}

async fn sweep_rooms(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {
                let removed = state.rooms.sweep(Instant::now());
                if removed > 0 {
                    tracing::info!(removed, "expired classes removed");
                }
            }
            () = stopping(&mut shutdown) => return,
        }
    }
}
