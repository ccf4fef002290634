//! assent-core owns the domain: ids and validated newtypes, the message/agent/user model,
//! permission rules and the `DomainEvent`s that go into the per-channel event log.
//!
//! It is pure and synchronous: no IO, no clock (`now` is always passed in), no wire types.
//! Anything that parses untrusted input into a domain value lives here so that it is done once.

pub mod attachment;
pub mod event;
pub mod ids;
pub mod model;
pub mod plugin;
pub mod review;
pub mod secret;
pub mod thread;
pub mod time;
pub mod validate;

pub use event::{
    Audience, DomainEvent, Effects, LoggedEvent, RouteSource, StatusStep, WebhookCause,
};
pub use ids::{AttachmentId, ChannelId, MessageId, UserId, new_id};
pub use time::Millis;
pub use validate::{FieldError, ValidationError};
