fn main() {
    let t = std::time::Instant::now();
    let d = balcao_erp_fake::DataSet::generate(
        100_000,
        42,
        jiff::civil::Date::new(2026, 11, 16).unwrap(),
    );
    let n: usize = d.subscribers.iter().map(|s| s.invoices.len()).sum();
    println!(
        "{} subs {} invoices in {:?}",
        d.subscribers.len(),
        n,
        t.elapsed()
    );
}
