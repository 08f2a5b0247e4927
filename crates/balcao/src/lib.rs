//! The `balcao` binary's library half: configuration, wiring, the demo and the benchmarks, shared
//! by `main.rs` and the end-to-end tests so both run the same code.

pub mod app;
pub mod bench;
pub mod bench_bot;
pub mod bench_desk;
pub mod bench_erp;
pub mod bench_ladder;
pub mod bus_bridge;
pub mod config;
pub mod demo;
pub mod demo_clock;
pub mod erp_cli;
pub mod ladder_cli;
pub mod user_cli;
