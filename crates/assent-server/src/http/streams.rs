//! Streaming replies and thread events: draft PATCH/complete, status steps, text deltas,
//! and lifecycle events reported to the thread stream.

use super::extract::{AgentAuth, JsonBody};
use super::{Ctx, Reply, created, ok};
use crate::app::streams::DeltaInput;
use crate::wire;
use assent_proto as p;
use axum::extract::{Path, State};
use serde_json::json;

pub(super) async fn patch(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(stream_id): Path<String>,
    JsonBody(b): JsonBody<p::UpdateStream>,
) -> Reply {
    let m = c
        .app
        .update_stream(
            &a,
            &stream_id,
            b.channel_id,
            b.text,
            b.complete,
            b.stream_state,
        )
        .await?;
    Ok(ok(&wire::message(&m, None)))
}

pub(super) async fn status(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(stream_id): Path<String>,
    JsonBody(b): JsonBody<p::StreamStatus>,
) -> Reply {
    let step = c
        .app
        .stream_status(&a, &stream_id, b.channel_id, b.text, b.tool_hint)
        .await?;
    Ok(created(&wire::step(&step)))
}

pub(super) async fn delta(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(stream_id): Path<String>,
    JsonBody(b): JsonBody<p::StreamDelta>,
) -> Reply {
    let input = DeltaInput {
        channel_id: b.channel_id,
        stream_id: Some(stream_id),
        delta: b.delta,
        end: b.stream_end,
    };
    c.app.stream_delta(&a, input).await?;
    Ok(ok(&json!({"ok": true})))
}

pub(super) async fn thread_event(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(thread_id): Path<String>,
    JsonBody(b): JsonBody<serde_json::Value>,
) -> Reply {
    let seq = c.app.report_thread_event(&a, &thread_id, b).await?;
    Ok(created(&json!({"ok": true, "seq": seq})))
}
