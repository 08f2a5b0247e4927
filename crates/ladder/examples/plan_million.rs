//! Plans a daily run over 1,000,000 synthetic open invoices and prints the time it took.
//!
//! cargo run --release -p balcao-ladder --example plan_million [-- <invoices>]
//!
//! Two runs: the first ever (empty history: every invoice catches up, earlier steps obsolete),
//! then the next day's with the first run's sends and obsolete steps recorded (the steady state).

use balcao_domain::br::DocumentKind;
use balcao_ladder::{InvoiceFacts, PlanConfig, Planner};
use jiff::civil::{Date, date};
use jiff::{Timestamp, ToSpan};
use std::collections::HashSet;
use std::time::Instant;

/// A small deterministic generator (xorshift64*): the data set is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const CITIES: [&str; 6] = [
    "Fortaleza",
    "Sobral",
    "Juazeiro do Norte",
    "Manaus",
    "São Paulo",
    "Crato",
];

fn synthetic(count: usize, today: Date) -> Vec<InvoiceFacts> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // About 1.25 open invoices per subscriber.
    let customers = (count as u64 * 4 / 5).max(1);
    (0..count)
        .map(|i| {
            let customer = rng.below(customers);
            let city = CITIES[(customer % CITIES.len() as u64) as usize];
            let due_offset = rng.below(51) as i64 - 30; // due between 30 days ago and in 20 days
            InvoiceFacts {
                invoice_id: format!("fat-{i:07}"),
                customer_id: format!("cli-{customer:07}"),
                contract_id: Some(format!("ctr-{customer:07}")),
                due: today.checked_sub(due_offset.days()).unwrap(),
                amount_cents: 5_990 + rng.below(30_000) as i64,
                person: if rng.chance(8) {
                    DocumentKind::Cnpj
                } else {
                    DocumentKind::Cpf
                },
                plan_value_cents: Some(5_990 + rng.below(30_000) as i64),
                city: Some(city.to_owned()),
                region: None,
                late_payments_last_12m: [0, 0, 0, 1, 1, 2, 3, 5][rng.below(8) as usize],
                paid: rng.chance(3),
                suspended: rng.chance(4),
                opted_out: rng.chance(2),
                has_wa_id: rng.chance(95),
                time_zone: (city == "Manaus").then(|| "America/Manaus".to_owned()),
            }
        })
        .collect()
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("invoice count"))
        .unwrap_or(1_000_000);
    let monday: Timestamp = "2026-11-23T13:00:00Z".parse().unwrap(); // 10:00 in São Paulo
    let tuesday: Timestamp = "2026-11-24T13:00:00Z".parse().unwrap();

    let started = Instant::now();
    let invoices = synthetic(count, date(2026, 11, 23));
    println!(
        "generated {count} invoices in {:.2?} (not part of the figure)",
        started.elapsed()
    );

    let config = PlanConfig::default();
    let planner = Planner::new(&config).expect("default config is valid");

    // First run ever: nothing handled.
    let nothing_sent = |_: &str, _: &str| false;
    let nobody_messaged = |_: &str, _: Date| false;
    let mut skipped = 0usize;
    let mut obsolete: Vec<(&str, &str)> = Vec::new();
    let started = Instant::now();
    let sends = planner.plan_with(monday, &invoices, &nothing_sent, &nobody_messaged, |skip| {
        skipped += 1;
        if skip.reason.is_final() {
            obsolete.push((skip.invoice_id(), skip.step_key()));
        }
    });
    let first = started.elapsed();
    println!(
        "first run (catch-up): {} invoices planned in {first:.2?}: {} sends, {skipped} skips ({} obsolete)",
        invoices.len(),
        sends.len(),
        obsolete.len()
    );

    // The next day, with the first run recorded as the engine would.
    let mut handled: HashSet<(&str, &str)> = HashSet::with_capacity(sends.len() + obsolete.len());
    handled.extend(sends.iter().map(|s| (s.invoice_id(), s.step_key())));
    handled.extend(obsolete.iter().copied());
    let messaged: HashSet<(&str, Date)> = sends
        .iter()
        .map(|s| (s.customer_id(), s.local_date))
        .collect();
    let already_sent = |i: &str, s: &str| handled.contains(&(i, s));
    let sent_today = |c: &str, d: Date| messaged.contains(&(c, d));
    let mut skipped = 0usize;
    let started = Instant::now();
    let next = planner.plan_with(tuesday, &invoices, &already_sent, &sent_today, |_| {
        skipped += 1
    });
    let second = started.elapsed();
    println!(
        "next day (steady state): {} invoices planned in {second:.2?}: {} sends, {skipped} skips",
        invoices.len(),
        next.len()
    );
    if let Some(mb) = peak_rss_mb() {
        println!("peak resident memory (whole process, data set included): {mb:.0} MB");
    }
}
