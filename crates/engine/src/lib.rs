//! Application services of Balcão, between the HTTP edge and the store:
//! - [`ingest::Ingestor`]: durable webhook ingestion with group commit;
//! - [`outbox::Outbox`]: the one way to queue an outbound message (content validation and the
//!   24-hour window rule happen here);
//! - [`sender`]: one paced sender loop per WhatsApp number, with retry classification and crash
//!   reconciliation;
//! - [`bus::EventBus`]: in-process notifications after commit (SSE and later issues subscribe).
//! - [`desk::DeskRunner`]: moves conversations through the service desk (menu, queues, round
//!   robin, hours, fallbacks, close and survey); [`desk::Desk`]: the agent actions.

pub mod bot;
pub mod bus;
pub mod clock;
pub mod desk;
pub mod erp;
pub mod ingest;
pub mod ladder;
pub mod ladder_settings;
pub mod outbox;
pub mod payments;
pub mod secrets;
pub mod sender;

use balcao_domain::Millis;
use std::sync::Arc;

pub use clock::OffsetClock;

/// The clock, injectable so tests and the demo can move time (later issues use it for ladders).
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Millis;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        balcao_domain::now_millis()
    }
}

pub type SharedClock = Arc<dyn Clock>;
