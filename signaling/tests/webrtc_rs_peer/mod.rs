//! A class member built on webrtc-rs (a Pion port, a WebRTC stack that shares nothing with
//! str0m), written the way an outside integrator would: from `docs/PROTOCOL.md` only. It takes a
//! class link, derives the room, the token and the socket URL from it, joins, makes one
//! `RTCPeerConnection` for both directions, offers what it publishes (synthetic Opus and VP8
//! samples, or nothing for an observer), answers every server offer, and counts the RTP it
//! receives per publisher.
//!
//! Compiled into one test binary only: webrtc-rs is heavy, and the other tests need none of it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use webrtc::api::interceptor_registry::register_default_interceptors;
use webrtc::api::media_engine::{MediaEngine, MIME_TYPE_OPUS, MIME_TYPE_VP8};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::APIBuilder;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::interceptor::registry::Registry;
use webrtc::media::Sample;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use webrtc::rtp_transceiver::rtp_codec::{RTCRtpCodecCapability, RTPCodecType};
use webrtc::rtp_transceiver::rtp_transceiver_direction::RTCRtpTransceiverDirection;
use webrtc::rtp_transceiver::RTCRtpTransceiverInit;
use webrtc::track::track_local::track_local_static_sample::TrackLocalStaticSample;
use webrtc::track::track_local::TrackLocal;
use webrtc::track::track_remote::TrackRemote;

const AUDIO_EVERY: Duration = Duration::from_millis(20);
const VIDEO_EVERY: Duration = Duration::from_millis(33);
/// A keyframe this often even without a PLI (the server also asks for one when someone joins).
const KEYFRAME_EVERY_FRAMES: u64 = 30;

/// What a class link says, as `docs/PROTOCOL.md` maps it: `<scheme>://<host>/class/<room>?token=…`
/// joins `room` with `token` over `ws[s]://<host>/ws`.
#[derive(Debug, Clone)]
pub struct Link {
    pub room: String,
    pub token: String,
    pub socket_url: String,
}

impl Link {
    pub fn parse(url: &str) -> Link {
        let (scheme, rest) = url.split_once("://").expect("a link has a scheme");
        let (host, path) = rest.split_once('/').expect("a link has a path");
        let (path, query) = path.split_once('?').expect("a link has a query");
        let room = path.strip_prefix("class/").expect("/class/<room>");
        let token = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("token="))
            .expect("token=…");
        let socket_scheme = if scheme == "https" { "wss" } else { "ws" };
        Link {
            room: room.to_owned(),
            token: token.to_owned(),
            socket_url: format!("{socket_scheme}://{host}/ws"),
        }
    }
}

/// What the peer sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publish {
    /// A microphone and a camera.
    AudioAndVideo,
    /// Nothing: receive-only m-lines (an observer).
    Nothing,
}

/// What arrived from one publisher.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub audio_packets: u64,
    pub video_packets: u64,
    /// Video packets with the marker bit: the last packet of a frame.
    pub video_frames: u64,
}

/// Everything the tasks of one peer observe.
#[derive(Debug, Default)]
pub struct Seen {
    /// By publisher id (from `track_added`, checked against the track's msid).
    pub received: HashMap<String, Received>,
    /// mid → publisher id, from `track_added`.
    pub mid_owner: HashMap<String, String>,
    /// Tracks whose msid stream id was not the publisher `track_added` named.
    pub msid_mismatches: Vec<(String, String)>,
    /// Every `error` and `bye` the server sent.
    pub errors: Vec<Value>,
    pub byes: Vec<Value>,
    pub pli_received: u64,
    pub offers_answered: u64,
}

pub struct OtherStackPeer {
    pub id: String,
    pub seen: Arc<Mutex<Seen>>,
    pub connected: Arc<AtomicBool>,
    pc: Arc<RTCPeerConnection>,
    to_server: mpsc::UnboundedSender<Value>,
    tasks: Vec<JoinHandle<()>>,
}

fn lock(seen: &Mutex<Seen>) -> std::sync::MutexGuard<'_, Seen> {
    seen.lock().unwrap_or_else(PoisonError::into_inner)
}

impl OtherStackPeer {
    /// Joins the class of `link` as `name` and sends the first offer.
    pub async fn join(link: &Link, name: &str, publish: Publish) -> OtherStackPeer {
        let (mut ws, _) = tokio_tungstenite::connect_async(link.socket_url.as_str())
            .await
            .expect("the socket URL of the link connects");
        let join = json!({
            "type": "join", "version": 1, "room": link.room, "token": link.token, "name": name
        });
        ws.send(Message::Text(join.to_string().into()))
            .await
            .expect("send join");
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            panic!("the socket closed before the welcome");
        };
        let welcome: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(welcome["type"], "welcome", "joined: {welcome}");
        let id = welcome["you"]["id"].as_str().expect("you.id").to_owned();

        let pc = Arc::new(peer_connection().await);
        let seen = Arc::new(Mutex::new(Seen::default()));
        let connected = Arc::new(AtomicBool::new(false));
        let flag = connected.clone();
        pc.on_peer_connection_state_change(Box::new(move |state| {
            if state == RTCPeerConnectionState::Connected {
                flag.store(true, Ordering::Relaxed);
            }
            Box::pin(async {})
        }));
        let counts = seen.clone();
        pc.on_track(Box::new(move |track, _receiver, transceiver| {
            let counts = counts.clone();
            Box::pin(async move {
                let mid = transceiver.mid().map(|m| m.to_string()).unwrap_or_default();
                tokio::spawn(count_rtp(track, mid, counts));
            })
        }));

        let mut tasks = Vec::new();
        let keyframe_wanted = Arc::new(AtomicBool::new(true));
        match publish {
            Publish::AudioAndVideo => {
                let audio = sample_track(MIME_TYPE_OPUS, "audio", &id);
                let video = sample_track(MIME_TYPE_VP8, "video", &id);
                for track in [&audio, &video] {
                    let track = Arc::clone(track) as Arc<dyn TrackLocal + Send + Sync>;
                    let sender = pc.add_track(track).await.expect("add track");
                    tasks.push(tokio::spawn(read_rtcp(
                        sender,
                        keyframe_wanted.clone(),
                        seen.clone(),
                    )));
                }
                tasks.push(tokio::spawn(send_samples(
                    audio,
                    video,
                    connected.clone(),
                    keyframe_wanted,
                )));
            }
            Publish::Nothing => {
                for kind in [RTPCodecType::Audio, RTPCodecType::Video] {
                    let init = RTCRtpTransceiverInit {
                        direction: RTCRtpTransceiverDirection::Recvonly,
                        send_encodings: Vec::new(),
                    };
                    pc.add_transceiver_from_kind(kind, Some(init))
                        .await
                        .expect("receive-only transceiver");
                }
            }
        }

        // No trickle: the offer goes as it is, gathering or not (the server is ICE-lite and
        // learns this peer's address from its connectivity checks).
        let offer = pc.create_offer(None).await.expect("offer");
        pc.set_local_description(offer).await.expect("local offer");
        let sdp = pc.local_description().await.expect("local description").sdp;
        let (to_server, outgoing) = mpsc::unbounded_channel();
        to_server
            .send(json!({"type": "offer", "sdp": sdp}))
            .expect("queue the offer");
        tasks.push(tokio::spawn(signal(ws, outgoing, pc.clone(), seen.clone())));
        OtherStackPeer {
            id,
            seen,
            connected,
            pc,
            to_server,
            tasks,
        }
    }

    /// What arrived from `publisher` so far.
    pub fn from(&self, publisher: &str) -> Received {
        lock(&self.seen)
            .received
            .get(publisher)
            .copied()
            .unwrap_or_default()
    }

    /// Leaves the class and closes everything.
    pub async fn leave(self) {
        let _ = self.to_server.send(json!({"type": "leave"}));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = self.pc.close().await;
        for task in self.tasks {
            task.abort();
        }
    }
}

/// A peer connection on loopback only (tests touch no other network), with no mDNS.
async fn peer_connection() -> RTCPeerConnection {
    // webrtc-rs's DTLS goes through rustls, which finds two providers in this build (ring from
    // webrtc-rs, aws-lc-rs from the server) and will not guess: use the server's.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut media = MediaEngine::default();
    media.register_default_codecs().expect("codecs");
    let registry =
        register_default_interceptors(Registry::new(), &mut media).expect("interceptors");
    let mut settings = SettingEngine::default();
    settings.set_network_types(vec![NetworkType::Udp4]);
    settings.set_include_loopback_candidate(true);
    settings.set_interface_filter(Box::new(|name: &str| name == "lo"));
    settings.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    let api = APIBuilder::new()
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_setting_engine(settings)
        .build();
    // No ICE servers: the server's own candidates are all this peer needs.
    api.new_peer_connection(RTCConfiguration::default())
        .await
        .expect("peer connection")
}

fn sample_track(mime: &str, id: &str, stream: &str) -> Arc<TrackLocalStaticSample> {
    let codec = RTCRtpCodecCapability {
        mime_type: mime.to_owned(),
        ..Default::default()
    };
    Arc::new(TrackLocalStaticSample::new(
        codec,
        id.to_owned(),
        stream.to_owned(),
    ))
}

/// The signalling loop: sends what is queued, answers the server's offers, applies its answers.
async fn signal(
    mut ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    mut outgoing: mpsc::UnboundedReceiver<Value>,
    pc: Arc<RTCPeerConnection>,
    seen: Arc<Mutex<Seen>>,
) {
    loop {
        tokio::select! {
            message = outgoing.recv() => {
                let Some(message) = message else { return };
                if ws.send(Message::Text(message.to_string().into())).await.is_err() {
                    return;
                }
            }
            frame = ws.next() => {
                let Some(Ok(frame)) = frame else { return };
                let Message::Text(text) = frame else { continue };
                let message: Value = serde_json::from_str(&text).expect("JSON");
                if let Some(reply) = on_message(&pc, &seen, message).await {
                    if ws.send(Message::Text(reply.to_string().into())).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// Acts on one server message; returns the reply, if any.
async fn on_message(pc: &RTCPeerConnection, seen: &Mutex<Seen>, message: Value) -> Option<Value> {
    let sdp = || message["sdp"].as_str().expect("sdp").to_owned();
    match message["type"].as_str() {
        Some("answer") => {
            let answer = RTCSessionDescription::answer(sdp()).expect("answer");
            pc.set_remote_description(answer)
                .await
                .expect("webrtc-rs takes the server's answer");
            None
        }
        Some("offer") => {
            let offer = RTCSessionDescription::offer(sdp()).expect("offer");
            pc.set_remote_description(offer)
                .await
                .expect("webrtc-rs takes the server's offer");
            let answer = pc.create_answer(None).await.expect("answer");
            pc.set_local_description(answer)
                .await
                .expect("local answer");
            let sdp = pc.local_description().await.expect("local description").sdp;
            lock(seen).offers_answered += 1;
            Some(json!({"type": "answer", "sdp": sdp}))
        }
        Some("track_added") => {
            let mid = message["mid"].as_str().expect("mid").to_owned();
            let publisher = message["participant"].as_str().expect("participant");
            lock(seen).mid_owner.insert(mid, publisher.to_owned());
            None
        }
        Some("error") => {
            lock(seen).errors.push(message);
            None
        }
        Some("bye") => {
            lock(seen).byes.push(message);
            None
        }
        _ => None,
    }
}

/// Counts one received track's RTP under its publisher, until the track ends.
async fn count_rtp(track: Arc<TrackRemote>, mid: String, seen: Arc<Mutex<Seen>>) {
    let kind = track.kind();
    let stream = track.stream_id();
    while let Ok((packet, _)) = track.read_rtp().await {
        let mut seen = lock(&seen);
        // `track_added` came before the offer that carries the track.
        let publisher = seen
            .mid_owner
            .get(&mid)
            .cloned()
            .unwrap_or_else(|| "unknown".into());
        if publisher != stream
            && !seen
                .msid_mismatches
                .contains(&(publisher.clone(), stream.clone()))
        {
            seen.msid_mismatches
                .push((publisher.clone(), stream.clone()));
        }
        let received = seen.received.entry(publisher).or_default();
        match kind {
            RTPCodecType::Audio => received.audio_packets += 1,
            _ => {
                received.video_packets += 1;
                if packet.header.marker {
                    received.video_frames += 1;
                }
            }
        }
    }
}

/// Reads the server's RTCP for one sender; a PLI asks the camera for a keyframe.
async fn read_rtcp(
    sender: Arc<webrtc::rtp_transceiver::rtp_sender::RTCRtpSender>,
    keyframe_wanted: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
) {
    while let Ok((packets, _)) = sender.read_rtcp().await {
        for packet in packets {
            if packet
                .as_any()
                .downcast_ref::<PictureLossIndication>()
                .is_some()
            {
                keyframe_wanted.store(true, Ordering::Relaxed);
                lock(&seen).pli_received += 1;
            }
        }
    }
}

/// Opus-sized audio samples every 20 ms and VP8-shaped frames at 30 fps, once connected. The
/// first VP8 byte's low bit is the frame type (0: keyframe), which is all the server and the
/// str0m peer look at.
async fn send_samples(
    audio: Arc<TrackLocalStaticSample>,
    video: Arc<TrackLocalStaticSample>,
    connected: Arc<AtomicBool>,
    keyframe_wanted: Arc<AtomicBool>,
) {
    let mut audio_tick = tokio::time::interval(AUDIO_EVERY);
    let mut video_tick = tokio::time::interval(VIDEO_EVERY);
    let mut frames: u64 = 0;
    loop {
        tokio::select! {
            _ = audio_tick.tick() => {
                if !connected.load(Ordering::Relaxed) {
                    continue;
                }
                let sample = Sample { data: vec![0xF8; 80].into(), duration: AUDIO_EVERY, ..Default::default() };
                let _ = audio.write_sample(&sample).await;
            }
            _ = video_tick.tick() => {
                if !connected.load(Ordering::Relaxed) {
                    continue;
                }
                let keyframe = keyframe_wanted.swap(false, Ordering::Relaxed)
                    || frames % KEYFRAME_EVERY_FRAMES == 0;
                frames += 1;
                let mut frame = vec![0x55u8; 1200];
                frame[0] = if keyframe { 0x10 } else { 0x11 };
                let sample = Sample { data: frame.into(), duration: VIDEO_EVERY, ..Default::default() };
                let _ = video.write_sample(&sample).await;
            }
        }
    }
}
