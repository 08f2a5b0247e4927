//! The billing ladder ("régua de cobrança") as pure rules: which reminder each open invoice gets
//! today, through which template, when it may go out and why — or why not. No IO, no clock, no
//! async: the engine gathers [`InvoiceFacts`], asks [`Planner::plan`] and queues the
//! [`PlannedSend`]s through the outbox with [`PlannedSend::idempotency_key`].
//!
//! - [`ladder`]: steps, templates, parameters and buttons; the default ladders; legal validation
//!   (CDC art. 42-A, Anatel RGC arts. 70–71).
//! - [`segment`]: invoice facts, segments (timing × payment behaviour), segment rules, paused
//!   regions.
//! - [`legal`]: legal hours (weekly intervals, holidays, time zones).
//! - [`mod@plan`]: the planner (current step, skips, one per subscriber per day, catch-up, A/B).
//! - [`report`]: conversion per step and arm, A/B winner.

pub mod ladder;
pub mod legal;
pub mod plan;
pub mod report;
pub mod segment;

pub use ladder::{
    Button, ButtonAction, Ladder, LadderError, Param, Step, StepKind, TemplateRef, Variant,
};
pub use legal::{ClockTime, LegalHours, LegalHoursError, LegalWindow, WeeklyInterval, Zone};
pub use plan::{
    ConfigError, Plan, PlanConfig, PlannedSend, Planner, Reason, Skip, SkipReason, plan,
};
pub use segment::{
    Behaviour, CentsRange, InvoiceFacts, PausedRegions, Segment, SegmentFilter, SegmentRule, Timing,
};
