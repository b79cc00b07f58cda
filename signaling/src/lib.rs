//! Control plane of the classroom server: configuration, the JSON protocol, rooms and tokens, the
//! HTTP/WebSocket server, and the embedded web client. The `classroom` binary is `main.rs`.

pub mod assets;
pub mod auth;
pub mod check;
pub mod class;
pub mod config;
pub mod limits;
pub mod listener;
pub mod log_limit;
pub mod media_link;
pub mod names;
pub mod offer_check;
pub mod protocol;
pub mod rooms;
pub mod server;
pub mod session;
pub mod tls;
pub mod tokens;
pub mod turn;
pub mod vacancy;
pub mod visible_text;

pub use config::{Config, Flags};
pub use server::Server;
