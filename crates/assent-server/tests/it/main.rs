//! Integration tests through the front door: a real server on 127.0.0.1:0 with a temporary
//! SQLite database, driven over HTTP and Socket.IO with the real SDK client.

mod agents;
mod auth;
mod blobs;
mod cluster;
mod cluster_failover;
mod cluster_pg;
mod common;
mod files;
mod gateway;
mod limits;
mod messages;
mod order;
mod placet;
mod plugins;
mod reviews;
mod streams;
mod system;
mod tidy;
mod webhooks;
