//! The HTTP side: routes, the class-creation API, metrics, and starting/stopping a node.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Extension, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use sfu::{MediaConfig, MediaPlane};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::assets;
use crate::auth::Auth;
use crate::check::ProbeBudget;
use crate::config::Config;
use crate::limits::connections::{
    fit_under_file_limit, open_file_limit, ConnectionGate, ConnectionSlot,
};
use crate::limits::counters::LimitCounters;
use crate::limits::per_address::AddressBuckets;
use crate::limits::{refusal, refuse_cross_site, refuse_foreign_origin};
use crate::rooms::Rooms;
use crate::tls::{redirect_router, Handshaker, Tls};
use crate::tokens::secret_eq;
use crate::turn::TurnCredentials;
use crate::{listener, session};

/// Longest the sweeper sleeps. It wakes at the next deadline it knows of (a grace period's end,
/// an empty class's time) and whenever a session ends; this only bounds how late it notices a
/// deadline that appeared some other way (a lobby guest denied by the last teacher...).
const SWEEP_AT_LEAST_EVERY: Duration = Duration::from_secs(30);

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
    /// What the limits dropped, refused and closed (for `/metrics`).
    pub limit_counters: Arc<LimitCounters>,
    /// Classes created per source address (`POST /api/rooms`), a token bucket each.
    pub room_creations: std::sync::Mutex<AddressBuckets>,
    /// The network self-test's probes held now, per network and in all.
    pub probes: Arc<ProbeBudget>,
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
    /// HTTPS of the node (`None`: plain HTTP). `http_addr` then speaks TLS only.
    pub tls: Option<Tls>,
    /// The plain-HTTP listener that redirects to HTTPS (`[tls] redirect_http`).
    pub redirect_addr: Option<SocketAddr>,
    /// The separate `/metrics` listener (`[metrics] bind`).
    pub metrics_addr: Option<SocketAddr>,
    pub state: Arc<AppState>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The redirect and metrics listeners, stopped with the rest.
    side_tasks: Vec<ServeTask>,
}

impl Server {
    /// Binds HTTP and the media sockets and starts serving.
    pub async fn start(mut config: Config) -> anyhow::Result<Server> {
        // Keys first: a bad key set must stop the start before any port is taken.
        let auth = Auth::from_config(&config.auth)?;
        config.metrics.resolve_token()?;
        let turn = config
            .turn
            .as_ref()
            .map(TurnCredentials::from_section)
            .transpose()?
            .map(Arc::new);
        let tls = Tls::from_config(&config.tls)?;
        let media = MediaPlane::start(&MediaConfig {
            shards: config.shard_count(),
            bind_ip: config.media.bind_ip,
            public_ips: config.media.public_ip.clone(),
            port_base: config.media.udp_port_base,
            tcp_port_base: config.tcp_port_base(),
            tcp_limits: config.media.tcp.limits(),
            connect_timeout: Duration::from_secs(config.media.connect_timeout_secs),
            downlink_estimation: config.media.downlink_estimation,
        })
        .map_err(|e| anyhow::anyhow!("cannot bind the media ports: {e}"))?;
        let listener = TcpListener::bind(config.http)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.http))?;
        let http_addr = listener.local_addr()?;
        let side_listeners = SideListeners::bind(&config).await?;
        let (stop, shutdown) = watch::channel(false);
        let rooms = Rooms::new(
            media.shards().len(),
            Duration::from_secs(config.token_ttl_secs),
            config.class_config(),
        )
        .with_auth(Arc::new(auth))
        .with_turn(turn)
        .with_max_rooms(config.limits.max_rooms)
        .with_empty_class_linger(Duration::from_secs(config.empty_class_linger_secs));
        let limit_counters = Arc::new(LimitCounters::default());
        let gate = connection_gate(&config, limit_counters.clone());
        let header_timeout = config.limits.http_header_timeout();
        let room_creations = std::sync::Mutex::new(AddressBuckets::new(
            config.limits.room_creations_per_minute,
            config.limits.room_creation_burst,
        ));
        let probes = Arc::new(ProbeBudget::new(&config.check));
        let state = Arc::new(AppState {
            room_creations,
            probes,
            config,
            rooms,
            media,
            shutdown: shutdown.clone(),
            live_sessions: session::LiveSessions::default(),
            limit_counters,
        });
        tokio::spawn(sweep_rooms(state.clone(), shutdown.clone()));
        let app = router(state.clone(), tls.is_some());
        let handshaker = tls.as_ref().map(|tls| {
            let every = Duration::from_secs(state.config.tls.reload_check_secs);
            tokio::spawn(tls.cert.clone().watch(every, shutdown.clone()));
            tls.handshaker()
        });
        let serving = Serving {
            gate,
            header_timeout,
            shutdown: shutdown.clone(),
        };
        let task = serving.serve(listener, app, handshaker);
        let (redirect_addr, metrics_addr, side_tasks) =
            side_listeners.serve(&state, &serving, http_addr.port())?;
        Ok(Server {
            http_addr,
            tls,
            redirect_addr,
            metrics_addr,
            state,
            stop,
            task,
            side_tasks,
        })
    }

    /// ICE-TCP address of each shard's listener.
    pub fn media_tcp_addrs(&self) -> Vec<SocketAddr> {
        self.state
            .media
            .shards()
            .iter()
            .map(|s| s.tcp_addr())
            .collect()
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
        for task in self.side_tasks {
            task.await??;
        }
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

/// The connection caps of `config`, the global one lowered to fit under the open file limit (a
/// node out of file descriptors cannot even answer `/healthz`).
fn connection_gate(config: &Config, counters: Arc<LimitCounters>) -> Arc<ConnectionGate> {
    let limits = &config.limits;
    let file_limit = open_file_limit();
    let max_total = fit_under_file_limit(limits.max_connections, file_limit);
    if max_total < limits.max_connections {
        tracing::warn!(
            configured = limits.max_connections,
            max_connections = max_total,
            ?file_limit,
            "max_connections lowered to fit under the open file limit"
        );
    }
    Arc::new(ConnectionGate::new(
        limits.max_connections_per_address,
        max_total,
        counters,
    ))
}

/// What every listener of the node shares: the connection caps (one count per address over all
/// of them) and the header timeout. The redirect and metrics listeners meet the same limits as
/// the main one: a plain-HTTP port on the open network is as open to slowloris as any.
struct Serving {
    gate: Arc<ConnectionGate>,
    header_timeout: Duration,
    shutdown: watch::Receiver<bool>,
}

impl Serving {
    /// Serves `app` on `listener` (TLS first when `handshaker` is given) until the node stops.
    fn serve(
        &self,
        listener: TcpListener,
        app: Router,
        handshaker: Option<Handshaker>,
    ) -> ServeTask {
        tokio::spawn(listener::serve(
            listener,
            app,
            handshaker,
            self.gate.clone(),
            self.header_timeout,
            self.shutdown.clone(),
        ))
    }
}

type ServeTask = tokio::task::JoinHandle<std::io::Result<()>>;

/// The optional listeners beside the main one, bound before anything starts so that a taken
/// port stops the start with a clear message.
struct SideListeners {
    redirect: Option<TcpListener>,
    metrics: Option<TcpListener>,
}

impl SideListeners {
    async fn bind(config: &Config) -> anyhow::Result<SideListeners> {
        async fn bind(addr: Option<SocketAddr>, what: &str) -> anyhow::Result<Option<TcpListener>> {
            let Some(addr) = addr else { return Ok(None) };
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {addr} ({what}): {e}"))?;
            Ok(Some(listener))
        }
        Ok(SideListeners {
            redirect: bind(config.tls.redirect_http, "tls.redirect_http").await?,
            metrics: bind(config.metrics.bind, "metrics.bind").await?,
        })
    }

    /// Starts serving; returns the redirect and metrics addresses and their tasks.
    fn serve(
        self,
        state: &Arc<AppState>,
        serving: &Serving,
        https_port: u16,
    ) -> std::io::Result<(Option<SocketAddr>, Option<SocketAddr>, Vec<ServeTask>)> {
        let mut tasks = Vec::new();
        let redirect_addr = match self.redirect {
            Some(listener) => {
                let addr = listener.local_addr()?;
                let public_url = state.config.public_url.clone();
                let app = redirect_router(https_port, public_url);
                tasks.push(serving.serve(listener, app, None));
                Some(addr)
            }
            None => None,
        };
        let metrics_addr = match self.metrics {
            Some(listener) => {
                let addr = listener.local_addr()?;
                let app = Router::new()
                    .route("/metrics", get(metrics))
                    .with_state(state.clone());
                tasks.push(serving.serve(listener, app, None));
                Some(addr)
            }
            None => None,
        };
        Ok((redirect_addr, metrics_addr, tasks))
    }
}

fn router(state: Arc<AppState>, https: bool) -> Router {
    let headers = Arc::new(SecurityHeaders::new(&state.config, https));
    let separate_metrics = state.config.metrics.bind.is_some();
    let router = Router::new()
        .route("/", get(|| async { assets::serve("index.html") }))
        .route(
            "/class/{room}",
            get(|| async { assets::serve("class.html") }),
        )
        .route("/check", get(|| async { assets::serve("check.html") }))
        .route("/api/rooms", post(create_room))
        .route("/ws", get(websocket))
        .route("/healthz", get(|| async { "ok" }));
    // With its own address, `/metrics` is not served beside the class pages at all.
    let router = if separate_metrics {
        router
    } else {
        router.route("/metrics", get(metrics))
    };
    router
        .fallback(get(|uri: axum::http::Uri| async move {
            assets::serve(uri.path().trim_start_matches('/'))
        }))
        .layer(middleware::from_fn_with_state(headers, security_headers))
        .with_state(state)
}

/// The headers that depend on the configuration, built once.
#[derive(Debug)]
struct SecurityHeaders {
    csp: HeaderValue,
    hsts: Option<HeaderValue>,
}

impl SecurityHeaders {
    fn new(config: &Config, https: bool) -> SecurityHeaders {
        // Only this server's pages and the LMS origins the operator named may frame a class:
        // any other site could show a class link (with `?prejoin=0`) inside its own page.
        let mut ancestors = String::from("'self'");
        for origin in &config.allowed_origins {
            ancestors.push(' ');
            ancestors.push_str(origin.trim_end_matches('/'));
        }
        let csp = format!(
            "default-src 'self'; img-src 'self' data:; media-src 'self' blob: mediastream:; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
        );
        SecurityHeaders {
            // Origins are checked at config load to be `scheme://authority`: always a valid value.
            csp: HeaderValue::from_str(&csp).unwrap_or_else(|_| {
                HeaderValue::from_static("default-src 'self'; frame-ancestors 'self'")
            }),
            hsts: https
                .then(|| config.tls.hsts())
                .flatten()
                .and_then(|v| HeaderValue::from_str(&v).ok()),
        }
    }
}

/// Headers on every response: the page may load nothing from another host, may be framed only by
/// the origins allowed, is only ever fetched over HTTPS once seen over it (HSTS), and links
/// carrying tokens are never leaked through `Referer`.
async fn security_headers(
    State(config): State<Arc<SecurityHeaders>>,
    request: axum::extract::Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    headers.insert(header::CONTENT_SECURITY_POLICY, config.csp.clone());
    if let Some(hsts) = &config.hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
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
    let base = match base_url(config, &headers, config.tls.files().is_some()) {
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
fn base_url(config: &Config, headers: &HeaderMap, https: bool) -> Result<String, &'static str> {
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
    let scheme = if https { "https" } else { "http" };
    Ok(format!("{scheme}://{host}"))
}

async fn websocket(
    State(state): State<Arc<AppState>>,
    slot: Option<Extension<ConnectionSlot>>,
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
    // The session keeps the connection counted against its address once HTTP has let it go.
    let slot = slot.map(|Extension(slot)| slot);
    upgrade
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| session::run(socket, state, live, slot, peer.ip()))
}

/// One per-shard metric: name, Prometheus type, and how to read it from a shard's stats.
type MetricSeries = (&'static str, &'static str, fn(&sfu::StatsSnapshot) -> u64);

/// Prometheus text format: what each shard holds and has done.
async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| secret_eq(g, &token.0)) {
            let mut refused = refusal(
                StatusCode::UNAUTHORIZED,
                "metrics_token_required",
                "reading /metrics needs the metrics token: Authorization: Bearer <token>",
            );
            refused.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"metrics\""),
            );
            return refused;
        }
    }
    let mut text = String::new();
    let _ = writeln!(text, "# TYPE classroom_classes gauge");
    let _ = writeln!(text, "classroom_classes {}", state.rooms.len());
    let _ = writeln!(text, "# TYPE classroom_participants gauge");
    let _ = writeln!(
        text,
        "classroom_participants {}",
        state.rooms.participant_count()
    );
    let _ = writeln!(text, "# TYPE classroom_log_suppressed_total counter");
    let _ = writeln!(
        text,
        "classroom_log_suppressed_total {}",
        crate::log_limit::suppressed_total()
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
        ("classroom_shard_keyframe_requests_total", "counter", |s| {
            s.keyframe_requests_sent
        }),
        ("classroom_shard_datagrams_in_total", "counter", |s| {
            s.datagrams_in
        }),
        ("classroom_shard_datagrams_out_total", "counter", |s| {
            s.datagrams_out
        }),
        (
            "classroom_shard_media_never_connected_total",
            "counter",
            |s| s.never_connected,
        ),
    ];
    for (name, kind, read) in series {
        let _ = writeln!(text, "# TYPE {name} {kind}");
        for (shard, snapshot) in stats.iter().enumerate() {
            let _ = writeln!(text, "{name}{{shard=\"{shard}\"}} {}", read(snapshot));
        }
    }
    write_drops(&mut text, &stats);
    write_hold_histograms(&mut text, &stats);
    write_tcp_metrics(&mut text, &stats);
    write_downlink_metrics(&mut text, &stats);
    state.limit_counters.write_prometheus(&mut text);
    state.probes.write_prometheus(&mut text);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// `classroom_dropped_packets_total`: each shard's packets not forwarded, by reason
/// (`sfu::DropReason`; per-subscriber reasons count once per subscriber not reached).
fn write_drops(text: &mut String, stats: &[sfu::StatsSnapshot]) {
    let name = "classroom_dropped_packets_total";
    write_labelled(text, name, "counter", "reason", stats, |s| {
        s.dropped.by_reason().map(|(r, n)| (r.label(), n)).collect()
    });
}

/// One per-shard series with one more label: `name{shard="…",label="…"} value` for each of
/// `read`'s (label value, value) pairs.
fn write_labelled(
    text: &mut String,
    name: &str,
    kind: &str,
    label: &str,
    stats: &[sfu::StatsSnapshot],
    read: impl Fn(&sfu::StatsSnapshot) -> Vec<(&'static str, u64)>,
) {
    let _ = writeln!(text, "# TYPE {name} {kind}");
    for (shard, snapshot) in stats.iter().enumerate() {
        for (value_of_label, value) in read(snapshot) {
            let _ = writeln!(
                text,
                "{name}{{shard=\"{shard}\",{label}=\"{value_of_label}\"}} {value}"
            );
        }
    }
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

/// What subscribers' downlinks allow: media sessions by downlink estimate (cumulative buckets of
/// the current estimates, no participant named), videos paused now by reason, pauses and layer
/// switches since the start.
fn write_downlink_metrics(text: &mut String, stats: &[sfu::StatsSnapshot]) {
    let name = "classroom_shard_downlink_estimates";
    let _ = writeln!(text, "# TYPE {name} gauge");
    for (shard, snapshot) in stats.iter().enumerate() {
        let mut cumulative = 0;
        let bounds = sfu::core::DOWNLINK_BUCKETS_BPS
            .iter()
            .map(|b| b.to_string());
        for (le, count) in bounds
            .chain(std::iter::once("+Inf".to_owned()))
            .zip(snapshot.downlinks)
        {
            cumulative += count;
            let _ = writeln!(text, "{name}{{shard=\"{shard}\",le=\"{le}\"}} {cumulative}");
        }
    }
    write_labelled(
        text,
        "classroom_shard_videos_paused",
        "gauge",
        "reason",
        stats,
        |s| {
            let paused = sfu::PauseReason::ALL.iter().zip(s.videos_paused_now);
            paused.map(|(r, count)| (r.label(), count)).collect()
        },
    );
    write_labelled(
        text,
        "classroom_shard_layer_switches_total",
        "counter",
        "direction",
        stats,
        |s| vec![("down", s.layer_switches[0]), ("up", s.layer_switches[1])],
    );
    let name = "classroom_shard_video_pauses_total";
    let _ = writeln!(text, "# TYPE {name} counter");
    for (shard, snapshot) in stats.iter().enumerate() {
        let _ = writeln!(
            text,
            "{name}{{shard=\"{shard}\"}} {}",
            snapshot.videos_paused
        );
    }
}

/// The ICE-TCP connections of each shard: open now, closed by reason, frames and drops.
fn write_tcp_metrics(text: &mut String, stats: &[sfu::StatsSnapshot]) {
    let series: [MetricSeries; 7] = [
        ("classroom_shard_tcp_connections", "gauge", |s| s.tcp.open),
        (
            "classroom_shard_tcp_unauthenticated_connections",
            "gauge",
            |s| s.tcp.unauthenticated,
        ),
        ("classroom_shard_tcp_queued_bytes", "gauge", |s| {
            s.tcp.queued_bytes
        }),
        ("classroom_shard_tcp_accepted_total", "counter", |s| {
            s.tcp.accepted
        }),
        ("classroom_shard_tcp_frames_in_total", "counter", |s| {
            s.tcp.frames_in
        }),
        ("classroom_shard_tcp_frames_out_total", "counter", |s| {
            s.tcp.frames_out
        }),
        ("classroom_shard_tcp_frames_dropped_total", "counter", |s| {
            s.tcp.dropped_buffer_full + s.tcp.dropped_no_connection
        }),
    ];
    for (name, kind, read) in series {
        let _ = writeln!(text, "# TYPE {name} {kind}");
        for (shard, snapshot) in stats.iter().enumerate() {
            let _ = writeln!(text, "{name}{{shard=\"{shard}\"}} {}", read(snapshot));
        }
    }
    write_labelled(
        text,
        "classroom_shard_tcp_closed_total",
        "counter",
        "reason",
        stats,
        |s| {
            let closed = sfu::CloseReason::ALL.iter();
            closed.map(|r| (r.label(), s.tcp.closed_for(*r))).collect()
        },
    );
}

/// Ends grace periods and frees classes, each at its own time: one timer for the node, re-armed
/// after every sweep at the next deadline (`Rooms::sweep` says which).
async fn sweep_rooms(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let now = Instant::now();
        let swept = state.rooms.sweep(&state.media, now);
        if swept.expired > 0 || swept.removed > 0 {
            tracing::info!(
                expired = swept.expired,
                removed = swept.removed,
                "grace periods ended, classes freed"
            );
        }
        let latest = now + SWEEP_AT_LEAST_EVERY;
        let wake = swept.next.map_or(latest, |next| next.min(latest));
        tokio::select! {
            () = tokio::time::sleep_until(wake.into()) => {}
            () = state.rooms.sweep_wanted() => {}
            () = stopping(&mut shutdown) => return,
        }
    }
}
