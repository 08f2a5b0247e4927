//! Pure types and rules of Balcão. Nothing in this crate does IO: every rule takes plain values
//! (including "now") and returns plain values, so it is tested without a database or a network.

pub mod br;
pub mod ids;
pub mod outbound;
pub mod pacing;
pub mod status;
pub mod wa_id;
pub mod webhook;
pub mod window;

pub use ids::*;
pub use wa_id::WaId;

/// Unix time in milliseconds, the one time representation that crosses the storage boundary.
pub type Millis = i64;

/// Current wall-clock time as [`Millis`]. The only clock read in this crate; rules take `now` as an
/// argument instead of calling this.
pub fn now_millis() -> Millis {
    jiff::Timestamp::now().as_millisecond()
}
