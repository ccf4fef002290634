//! Domain events: every observable change, as appended to a channel's event log.
//! The log stores them serialised (serde) and the edges render them to wire payloads.

use crate::ids::{ChannelId, MessageId};
use crate::model::{AgentStatus, DeliveryStatus, Message};
use crate::time::Millis;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DomainEvent {
    MessageCreated {
        message: Box<Message>,
        agent_name: Option<String>,
    },
    MessageDeleted {
        message_id: MessageId,
        channel_id: ChannelId,
    },
    MessageDelivery {
        message_id: MessageId,
        delivery_status: DeliveryStatus,
    },
    /// A message row changed (streamed draft text, completion, abort); whole row.
    MessageUpdated {
        message: Box<Message>,
        agent_name: Option<String>,
    },
    /// A status step of a streamed reply.
    MessageStatus { step: StatusStep },
    /// A lifecycle event reported by the agent for the thread stream (seed 003):
    /// `tool_call_*`, `escalation_created`, `conversation_*`. `fields` are validated.
    ThreadEvent {
        event_type: String,
        fields: serde_json::Map<String, serde_json::Value>,
    },
    /// A human read the channel up to its head (unread count back to zero on every device).
    ChannelRead { user_id: crate::ids::UserId },
    /// A human answered a review; carries the whole message as answered.
    ReviewResponded { message: Box<Message> },
    /// A review reached its deadline unanswered.
    ReviewExpired {
        message_id: MessageId,
        review_type: String,
    },
    AgentStatus {
        agent_id: ChannelId,
        status: AgentStatus,
        status_message: Option<String>,
        status_since: Option<Millis>,
    },
}

/// A persisted status step of a streamed reply (Placet's `MessageStatusEvent`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusStep {
    pub id: String,
    pub channel_id: ChannelId,
    pub stream_id: String,
    pub index: i64,
    pub text: String,
    pub tool_hint: bool,
    pub created_at: Millis,
}

/// Who sees an event besides the sockets subscribed to its channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Only sockets subscribed to the channel.
    Channel,
    /// Subscribers of the channel and every dashboard of the channel's owner.
    ChannelAndOwner,
    /// Only the owner's dashboards (never agents), e.g. heartbeats.
    OwnerDashboards,
}

impl DomainEvent {
    /// The Socket.IO event name (Placet's).
    pub fn name(&self) -> &'static str {
        match self {
            DomainEvent::MessageCreated { .. } => "message:created",
            DomainEvent::MessageDeleted { .. } => "message:deleted",
            DomainEvent::MessageDelivery { .. } => "message:delivery",
            DomainEvent::AgentStatus { .. } => "agent:status",
            DomainEvent::ReviewResponded { .. } => "review:responded",
            DomainEvent::MessageUpdated { .. } => "message:updated",
            DomainEvent::MessageStatus { .. } => "message:status",
            DomainEvent::ThreadEvent { .. } => "thread:event",
            DomainEvent::ChannelRead { .. } => "channel:read",
            DomainEvent::ReviewExpired { .. } => "review:expired",
        }
    }

    /// Placet's rooms: `message:created` goes to channel + user, `agent:status` to the user
    /// only, delivery ticks to the channel only.
    pub fn audience(&self) -> Audience {
        match self {
            // Placet sends review events to the channel only; Assent also tells the owner's
            // dashboards (their inboxes must update live), once per dashboard.
            DomainEvent::MessageCreated { .. }
            | DomainEvent::MessageDeleted { .. }
            | DomainEvent::ReviewResponded { .. }
            | DomainEvent::ReviewExpired { .. } => Audience::ChannelAndOwner,
            DomainEvent::MessageDelivery { .. } | DomainEvent::ThreadEvent { .. } => {
                Audience::Channel
            }
            // Placet: channel + user rooms.
            DomainEvent::MessageUpdated { .. } | DomainEvent::MessageStatus { .. } => {
                Audience::ChannelAndOwner
            }
            DomainEvent::AgentStatus { .. } | DomainEvent::ChannelRead { .. } => {
                Audience::OwnerDashboards
            }
        }
    }
}

/// What an event causes besides its fan-out to sockets, decided once, here: the store's
/// outbox writes the webhook delivery, the webhook renderer renders exactly those events, and
/// `App::on_committed` wakes what is listed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Effects<'a> {
    /// A webhook delivery about this message.
    pub webhook: Option<WebhookCause<'a>>,
    /// Long-polls parked on this message are answered.
    pub wakes_waiters: Option<&'a MessageId>,
    /// A review deadline appeared, possibly earlier than the expiry job's next wake-up.
    pub schedules_expiry: bool,
}

/// Why a webhook is sent, and where its route may come from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WebhookCause<'a> {
    pub message_id: &'a MessageId,
    /// The message's `deliveryStatus` follows the delivery (sent → delivered / failed).
    pub tracks_status: bool,
    /// Where the message-level routes (`metadata.webhookUrl`, the review's `callback`) are.
    pub routes: RouteSource<'a>,
}

/// Placet resolves a delivery's URL as: the message's own URL, then the agent's, then the
/// review's legacy callback. This says which message holds the first and the last.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RouteSource<'a> {
    /// Only the agent's URL applies (a human's message has no routes of its own).
    AgentOnly,
    /// The event carries the message.
    Message(&'a Message),
    /// The event names the message; the outbox reads it from the messages table.
    Stored,
}

impl DomainEvent {
    /// See [`Effects`].
    pub fn effects(&self) -> Effects<'_> {
        use crate::model::SenderType;
        let none = Effects {
            webhook: None,
            wakes_waiters: None,
            schedules_expiry: false,
        };
        match self {
            DomainEvent::MessageCreated { message, .. } => Effects {
                // A human writing to the agent is the agent's to hear about.
                webhook: (message.sender_type == SenderType::User).then_some(WebhookCause {
                    message_id: &message.id,
                    tracks_status: true,
                    routes: RouteSource::AgentOnly,
                }),
                schedules_expiry: message.review.is_some(),
                ..none
            },
            DomainEvent::ReviewResponded { message } => Effects {
                webhook: Some(WebhookCause {
                    message_id: &message.id,
                    tracks_status: true,
                    routes: RouteSource::Message(message),
                }),
                wakes_waiters: Some(&message.id),
                ..none
            },
            DomainEvent::ReviewExpired { message_id, .. } => Effects {
                webhook: Some(WebhookCause {
                    message_id,
                    tracks_status: false,
                    routes: RouteSource::Stored,
                }),
                wakes_waiters: Some(message_id),
                ..none
            },
            DomainEvent::MessageDeleted { .. }
            | DomainEvent::MessageDelivery { .. }
            | DomainEvent::MessageUpdated { .. }
            | DomainEvent::MessageStatus { .. }
            | DomainEvent::ThreadEvent { .. }
            | DomainEvent::ChannelRead { .. }
            | DomainEvent::AgentStatus { .. } => none,
        }
    }
}

/// An event as it sits in the log: its channel, its position and when it happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoggedEvent {
    pub channel_id: ChannelId,
    pub seq: i64,
    pub at: Millis,
    pub event: DomainEvent,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DeliveryStatus, SenderType};

    fn message(sender: SenderType, review: bool) -> Message {
        Message {
            id: MessageId::from_trusted("m1".into()),
            channel_id: ChannelId::from_trusted("c1".into()),
            seq: 1,
            sender_type: sender,
            sender_id: "x".into(),
            text: Some("hi".into()),
            status: None,
            review: review.then(|| {
                let r = serde_json::json!({"type": "approval"});
                crate::review::Review::create(&r, Millis(0), Default::default()).unwrap()
            }),
            metadata: None,
            client_id: None,
            stream_id: None,
            stream_state: None,
            delivery_status: DeliveryStatus::Sent,
            iteration_group_id: None,
            iteration: None,
            created_at: Millis(0),
            updated_at: Millis(0),
            attachments: Vec::new(),
        }
    }

    #[test]
    fn effects_say_what_each_event_causes() {
        let id = MessageId::from_trusted("m1".into());
        let from_human = DomainEvent::MessageCreated {
            message: Box::new(message(SenderType::User, false)),
            agent_name: None,
        };
        let fx = from_human.effects();
        let cause = fx.webhook.expect("the agent hears about a human's message");
        assert_eq!(
            (cause.tracks_status, cause.routes),
            (true, RouteSource::AgentOnly)
        );
        assert!(fx.wakes_waiters.is_none() && !fx.schedules_expiry);

        let review = DomainEvent::MessageCreated {
            message: Box::new(message(SenderType::Agent, true)),
            agent_name: None,
        };
        let fx = review.effects();
        assert!(
            fx.webhook.is_none(),
            "an agent's own message causes no webhook"
        );
        assert!(
            fx.schedules_expiry,
            "a new review may be the next to expire"
        );

        let answered = message(SenderType::Agent, true);
        let responded = DomainEvent::ReviewResponded {
            message: Box::new(answered.clone()),
        };
        let fx = responded.effects();
        assert_eq!(fx.wakes_waiters, Some(&id));
        let cause = fx.webhook.unwrap();
        assert!(cause.tracks_status);
        assert_eq!(cause.routes, RouteSource::Message(&answered));

        let expired = DomainEvent::ReviewExpired {
            message_id: id.clone(),
            review_type: "approval".into(),
        };
        let fx = expired.effects();
        assert_eq!(fx.wakes_waiters, Some(&id));
        let cause = fx.webhook.unwrap();
        assert_eq!(
            (cause.tracks_status, cause.routes),
            (false, RouteSource::Stored)
        );

        for quiet in [
            DomainEvent::MessageDeleted {
                message_id: id.clone(),
                channel_id: ChannelId::from_trusted("c1".into()),
            },
            DomainEvent::MessageDelivery {
                message_id: id.clone(),
                delivery_status: DeliveryStatus::WebhookDelivered,
            },
            DomainEvent::MessageUpdated {
                message: Box::new(message(SenderType::User, false)),
                agent_name: None,
            },
            DomainEvent::ChannelRead {
                user_id: crate::ids::UserId::from_trusted("u".into()),
            },
        ] {
            let fx = quiet.effects();
            assert!(
                fx.webhook.is_none() && fx.wakes_waiters.is_none() && !fx.schedules_expiry,
                "{quiet:?}"
            );
        }
    }
}
