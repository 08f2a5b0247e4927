//! TEMPORARY (helper B): measures the ladder report query over 1M sends. Deleted after use.
use balcao_store::*;
use balcao_store_sqlite::SqliteStore;
fn date(y: i16, m: i8, d: i8) -> LadderDate { LadderDate::new(y, m, d).unwrap() }
use sqlx::Connection;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn measure_ladder_facts_over_a_million_sends() {
    let path = std::path::PathBuf::from("/tmp/bench_b/ladder.db");
    let fresh = !path.exists();
    let store = SqliteStore::open(&path).await.unwrap();
    store.migrate().await.unwrap();
    let ws = if fresh {
        let ws = store.create_workspace(NewWorkspace { slug: "b".into(), name: "B".into(), time_zone: "America/Sao_Paulo".into() }).await.unwrap().id;
        store.create_number(ws, NewNumber { phone_number_id: "1".into(), display_phone_number: "1".into(), waba_id: "w".into(), throughput_mps: 80 }).await.unwrap();
        let mut c = sqlx::SqliteConnection::connect("sqlite:///tmp/bench_b/ladder.db").await.unwrap();
        let t = std::time::Instant::now();
        for sql in [
            "PRAGMA foreign_keys = OFF",
            "BEGIN",
            // 250k customers: contact, conversation, invoice (due spread over 30 days).
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 250000)
             INSERT INTO contacts (id, workspace_id, wa_id, match_key, created_at, updated_at)
             SELECT i, 1, '55119' || printf('%08d', i), '5511' || printf('%08d', i), 0, 0 FROM n",
            "INSERT INTO conversations (id, workspace_id, number_id, contact_id, status, opened_at, last_message_at)
             SELECT id, 1, 1, id, 'open', 0, 0 FROM contacts",
            "INSERT INTO ladder_receivables (workspace_id, invoice_id, customer_id, customer_name, due_date,
                amount_cents, late_payments, suspended, wa_id, wa_key, synced_at, updated_at, paid, paid_at)
             SELECT 1, 'inv-' || id, 'c-' || id, 'Cliente', date('2026-11-01', '+' || (id % 30) || ' days'),
                9990, id % 5, 0, wa_id, match_key, 0, 0, (id % 3 = 0), CASE WHEN id % 3 = 0 THEN 1795435200000 + (id % 200) * 3600000 END
             FROM contacts",
            // 4 steps per invoice = 1M sends, each with its outbound message.
            "WITH steps(k, off) AS (VALUES ('d-5', -5), ('d-2', -2), ('d0', 0), ('d+3', 3))
             INSERT INTO messages (workspace_id, number_id, conversation_id, contact_id, direction, wamid,
                message_type, payload, status, pricing_category, billable, error_code, error_title, created_at, updated_at)
             SELECT 1, 1, c.id, c.id, 'out', 'w-' || c.id || k, 'template', '{}',
                CASE WHEN c.id % 50 = 0 THEN 'failed' WHEN c.id % 2 = 0 THEN 'read' ELSE 'delivered' END,
                'utility', 1, CASE WHEN c.id % 50 = 0 THEN 131026 END, CASE WHEN c.id % 50 = 0 THEN 'Message undeliverable' END,
                1795435200000 + off * 86400000, 0
             FROM contacts c CROSS JOIN steps",
            "INSERT INTO ladder_sends (workspace_id, invoice_id, step_key, customer_id, status, variant, local_date,
                message_id, created_at, updated_at)
             SELECT 1, 'inv-' || m.contact_id, substr(m.wamid, length('w-' || m.contact_id) + 1), 'c-' || m.contact_id,
                'sent', CASE WHEN m.id % 2 = 0 THEN 'a' ELSE 'b' END,
                date('2026-11-01', '+' || (m.id % 30) || ' days'), m.id, m.created_at, 0
             FROM messages m WHERE m.direction = 'out'",
            // Inbound: one reply per customer, 200k more messages.
            "INSERT INTO messages (workspace_id, number_id, conversation_id, contact_id, direction, wamid,
                message_type, payload, created_at, updated_at)
             SELECT 1, 1, id, id, 'in', 'in-' || id, 'text', '{}', 1795435200000 + (id % 100) * 3600000, 0
             FROM contacts WHERE id % 5 <> 0",
            "INSERT INTO ladder_consent_log (workspace_id, wa_key, wa_id, opted_out, source, created_at)
             SELECT 1, match_key, wa_id, 1, 'text:SAIR', 1795435200000 + 3600000 FROM contacts WHERE id % 40 = 0",
            "INSERT INTO erp_connections (workspace_id, system, base_url, sealed_auth, updated_at) VALUES (1, 'sgp', 'x', 'x', 0)",
            "INSERT INTO payment_events (workspace_id, invoice_erp_id, paid_at, amount_cents, detected_by, recorded_at)
             SELECT 1, 'inv-' || id, 1795435200000, 9990, 'poll', 1795435200000 + 7200000 FROM contacts WHERE id % 3 = 0",
            "COMMIT",
            "ANALYZE",
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut c).await.unwrap();
        }
        eprintln!("populated in {:?}", t.elapsed());
        ws
    } else {
        balcao_domain::WorkspaceId(1)
    };
    let query = LadderFactsQuery { from: date(2026, 11, 1), to: date(2026, 11, 30), follow_up_millis: LADDER_FOLLOW_UP_MILLIS };
    for _ in 0..2 {
        let t = std::time::Instant::now();
        let mut after = None;
        let (mut rows, mut replied, mut opted, mut paid) = (0u64, 0u64, 0u64, 0u64);
        loop {
            let page = store.ladder_send_facts(ws, &query, after, 5000).await.unwrap();
            for f in &page {
                rows += 1;
                replied += f.replied as u64;
                opted += f.opted_out as u64;
                paid += f.ladder_paid_at.is_some() as u64;
            }
            match page.last() { Some(l) if page.len() == 5000 => after = Some((l.local_date, l.id)), _ => break }
        }
        eprintln!("{rows} facts ({replied} replied, {opted} opted out, {paid} paid) in {:?}", t.elapsed());
    }
}
