//! What a step needs besides the state and the input: language understanding, texts, the clock,
//! the provider's time zone and name, and the limits that keep people from being trapped.

use crate::texts::Texts;
use balcao_intent::Matcher;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// Limits of the conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Consecutive messages the bot did not understand before it hands off to a person.
    pub max_invalid_inputs: u32,
    /// Invalid or unknown CPF/CNPJ before a person takes over.
    pub max_document_attempts: u32,
    /// Wrong answers to the identity confirmation (LGPD) before a person takes over.
    pub max_confirmation_attempts: u32,
    /// Silence before the "are you still there?" reminder.
    pub inactivity_reminder_after: SignedDuration,
    /// Silence after the reminder before the polite close.
    pub inactivity_close_after: SignedDuration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_invalid_inputs: 3,
            max_document_attempts: 3,
            max_confirmation_attempts: 3,
            inactivity_reminder_after: SignedDuration::from_mins(10),
            inactivity_close_after: SignedDuration::from_mins(10),
        }
    }
}

/// Everything a step reads besides the state and the input. Built by the engine per step.
#[derive(Clone, Debug)]
pub struct BotContext<'a> {
    pub matcher: &'a Matcher,
    pub texts: &'a Texts,
    /// The engine's clock at this step; inactivity deadlines count from it.
    pub now: Timestamp,
    /// The provider's time zone: protocol date/time and "is this invoice overdue" use it.
    pub time_zone: TimeZone,
    /// Shown to subscribers as `{{empresa}}`.
    pub business_name: &'a str,
    pub limits: Limits,
}

impl<'a> BotContext<'a> {
    /// A context with the default [`Limits`].
    pub fn new(
        matcher: &'a Matcher,
        texts: &'a Texts,
        now: Timestamp,
        time_zone: TimeZone,
        business_name: &'a str,
    ) -> Self {
        BotContext {
            matcher,
            texts,
            now,
            time_zone,
            business_name,
            limits: Limits::default(),
        }
    }
}
