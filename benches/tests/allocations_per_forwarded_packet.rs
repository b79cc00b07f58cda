//! How many heap allocations one forwarded packet costs, counted by a global allocator around
//! exactly the work the `fan_out` benchmark times: the shard core's handling of a publisher's
//! datagrams in RTP mode (SRTP decrypt, then per subscriber the rewrite, `write_rtp` and SRTP
//! encrypt) in a class of 30, after a warm-up that lets every queue reach its steady size.
//!
//! Goal: no allocation per forwarded packet in our code. This test reports the numbers (and
//! checks only that the measurement works); what remains is inside str0m, see
//! `docs/BENCHMARKS.md`. `ALLOC_SITES=1` also prints where the
//! allocations come from (a backtrace of each, grouped by the first frame outside std):
//!
//! ```text
//! ALLOC_SITES=1 cargo test --release -p benches --test allocations_per_forwarded_packet -- --nocapture
//! ```

// A global allocator is `unsafe impl GlobalAlloc` by definition; it only forwards to `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::backtrace::Backtrace;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use benches::{Frame, Room};

const SUBSCRIBERS: usize = 30;
const WARM_UP_FRAMES: usize = 300;
const MEASURED_FRAMES: usize = 500;
/// Frames whose allocations are traced with `ALLOC_SITES` (a backtrace each is slow).
const TRACED_FRAMES: usize = 20;

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static TRACING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static TRACES: Mutex<Vec<(Backtrace, usize)>> = Mutex::new(Vec::new());

thread_local! {
    /// Set while the allocator records a backtrace, whose own allocations are not counted.
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

fn record(bytes: usize) {
    if !COUNTING.load(Relaxed) || IN_HOOK.with(Cell::get) {
        return;
    }
    ALLOCATIONS.fetch_add(1, Relaxed);
    BYTES.fetch_add(bytes as u64, Relaxed);
    if TRACING.load(Relaxed) {
        IN_HOOK.with(|h| h.set(true));
        let trace = Backtrace::force_capture();
        if let Ok(mut traces) = TRACES.lock() {
            traces.push((trace, bytes));
        }
        IN_HOOK.with(|h| h.set(false));
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations and bytes counted while `f` runs.
fn counted<R>(f: impl FnOnce() -> R) -> (R, u64, u64) {
    let (allocations, bytes) = (ALLOCATIONS.load(Relaxed), BYTES.load(Relaxed));
    COUNTING.store(true, Relaxed);
    let result = f();
    COUNTING.store(false, Relaxed);
    let allocations = ALLOCATIONS.load(Relaxed) - allocations;
    (result, allocations, BYTES.load(Relaxed) - bytes)
}

/// What forwarding `frames` frames of one kind cost: (datagrams in, datagrams out, allocations,
/// bytes allocated).
fn measure(room: &mut Room, frame: Frame, frames: usize) -> (u64, u64, u64, u64) {
    let (mut packets_in, mut packets_out, mut allocations, mut bytes) = (0, 0, 0, 0);
    for _ in 0..frames {
        let packets = room.prepare(frame);
        let (sent, a, b) = counted(|| room.forward(&packets));
        packets_in += packets.len() as u64;
        packets_out += sent as u64;
        allocations += a;
        bytes += b;
    }
    (packets_in, packets_out, allocations, bytes)
}

#[test]
fn allocations_per_forwarded_packet() {
    let (_, allocations, _) = counted(|| std::hint::black_box(Box::new(7u64)));
    assert_eq!(allocations, 1, "the counting allocator counts");

    let mut room = Room::new(SUBSCRIBERS);
    println!("heap allocations while the core forwards, {SUBSCRIBERS} subscribers:");
    let shapes = [
        ("video, 1 datagram a frame", Frame::VIDEO_ONE_PACKET),
        ("video, 4 datagrams a frame", Frame::VIDEO_FOUR_PACKETS),
        ("audio", Frame::AUDIO),
    ];
    for (name, frame) in shapes {
        measure(&mut room, frame, WARM_UP_FRAMES);
        let (packets_in, packets_out, allocations, bytes) =
            measure(&mut room, frame, MEASURED_FRAMES);
        assert!(packets_out > 0, "{name}: nothing was forwarded");
        let per = |n: u64, d: u64| n as f64 / d as f64;
        println!(
            "  {name}: {:.1} allocations ({:.0} B) per frame; per datagram in {:.1} ({:.0} B); \
             per datagram out {:.2} ({:.0} B)",
            per(allocations, MEASURED_FRAMES as u64),
            per(bytes, MEASURED_FRAMES as u64),
            per(allocations, packets_in),
            per(bytes, packets_in),
            per(allocations, packets_out),
            per(bytes, packets_out),
        );
    }
    if std::env::var_os("ALLOC_SITES").is_some() {
        print_sites(&mut room);
    }
}

/// Traces the allocations of a few one-datagram video frames and prints them by origin: the
/// first frame outside the allocator and std, and the first frame of the shard core above it.
fn print_sites(room: &mut Room) {
    TRACING.store(true, Relaxed);
    let (_, packets_out, _, _) = measure(room, Frame::VIDEO_ONE_PACKET, TRACED_FRAMES);
    TRACING.store(false, Relaxed);
    let traces = std::mem::take(&mut *TRACES.lock().expect("traces"));
    let mut sites: HashMap<(String, String), (u64, u64)> = HashMap::new();
    for (trace, bytes) in &traces {
        let frames = frames(&trace.to_string());
        let origin = frames.iter().find(|f| !is_plumbing(f));
        let core = frames.iter().find(|f| f.contains("sfu/src/"));
        let name = |f: Option<&String>| f.map_or("-".to_string(), Clone::clone);
        let entry = sites.entry((name(origin), name(core))).or_default();
        entry.0 += 1;
        entry.1 += *bytes as u64;
    }
    let mut sites: Vec<_> = sites.into_iter().collect();
    sites.sort_by_key(|(_, (count, _))| std::cmp::Reverse(*count));
    println!("allocations by origin [and the shard core's frame it was called from]:");
    println!("  per frame | per datagram out (bytes)");
    let (frames, out) = (TRACED_FRAMES as f64, packets_out as f64);
    for ((origin, core), (count, bytes)) in sites {
        let (count, bytes) = (count as f64, bytes as f64);
        println!(
            "  {:9.2} | {:5.3} ({:4.0} B)  {origin}  [{core}]",
            count / frames,
            count / out,
            bytes / out
        );
    }
}

/// The frames of a printed backtrace as "function @ crate/src/file.rs:line".
fn frames(text: &str) -> Vec<String> {
    let mut frames = Vec::new();
    let mut function = "?";
    for line in text.lines().map(str::trim_start) {
        if let Some(location) = line.strip_prefix("at ") {
            // Keep the crate's folder and the path in it, without the column.
            let start = location
                .rfind("/src/")
                .map_or(0, |i| location[..i].rfind('/').map_or(0, |j| j + 1));
            let location = location[start..]
                .rsplit_once(':')
                .map_or(location, |(l, _)| l);
            let std = if line.contains("/rustc/") { "std:" } else { "" };
            frames.push(format!("{function} @ {std}{location}"));
        } else if let Some((_, f)) = line.split_once(": ") {
            function = f;
        }
    }
    frames
}

/// Frames of std (the allocator, collections) and of this file: not where an allocation is
/// decided.
fn is_plumbing(frame: &str) -> bool {
    frame.contains("@ std:")
        || frame.contains("allocations_per_forwarded_packet.rs")
        || frame.contains("hashbrown")
}
