//! Rules of the service desk, as pure functions over plain values: nothing here reads a clock, a
//! database or the network, so every rule is tested with literals and the engine's runner
//! (`crates/engine/src/desk.rs`) only moves data in and out.
//!
//! - [`hours`]: weekly business hours with several intervals a day (lunch breaks), holidays and
//!   the provider's time zone; is it open, when does it open or close.
//! - [`routing`]: who may receive a conversation and who gets the next one (round robin or
//!   fewest open chats).
//! - [`menu`]: the numbered queue menu (text and interactive list) and reading the subscriber's
//!   choice.
//! - [`messages`]: the editable automatic messages, their defaults and `{{variable}}` rendering.
//! - [`quick`]: quick replies for the agent's `/shortcut` picker.
//! - [`csat`]: the 1–5 satisfaction rating: the list to send and reading the answer.
//! - [`timers`]: when a conversation falls back to another queue, when to send the out-of-hours
//!   notice, and agent presence.

pub mod csat;
pub mod hours;
pub mod menu;
pub mod messages;
pub mod quick;
pub mod routing;
mod text;
pub mod timers;

pub use hours::{BusinessHours, HoursError, Interval, WeeklyHours, both_open};
pub use menu::{Choice, QueueOption};
pub use messages::{AutoMessage, AutoMessages, Vars, render};
pub use quick::QuickReply;
pub use routing::Candidate;
pub use timers::OohDecision;
