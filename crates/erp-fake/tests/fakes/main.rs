//! The six fakes over real HTTP: auth, lookups, invoice shapes, unlocks, tickets, payment windows,
//! pagination and every fault kind.

mod common;
mod control;
mod faults;
mod hubsoft;
mod ixc;
mod mkauth;
mod radiusnet;
mod sgp;
mod voalle;
