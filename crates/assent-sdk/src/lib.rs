//! assent-sdk: the Rust client for Assent. It depends on `assent-proto` only (never on the
//! server's crates), so it is exactly as capable as any third-party client.
//!
//! This version ships the realtime half: [`sio::SocketIoClient`], a small, protocol-faithful
//! Socket.IO v5 / Engine.IO v4 client over WebSocket used by the tests and the benchmark.

#![warn(missing_docs)]

pub mod sio;

pub use assent_proto as proto;
