//! The ladder settings and customer list contract ([`LadderSettingsStore`]) every backend passes:
//!
//! ```text
//! balcao_store::ladder_settings_contract_suite!(async { Some(make_fresh_store().await) });
//! balcao_store::ladder_settings_contract_suite!(async { make().await }, |store| async move { teardown });
//! ```

use crate::contract::T0;
use crate::*;
use jiff::civil::date;
use serde_json::json;

/// Expands to one `#[tokio::test]` per ladder settings contract test.
#[macro_export]
macro_rules! ladder_settings_contract_suite {
    ($make:expr) => {
        $crate::ladder_settings_contract_suite!($make, |_store| async {});
    };
    ($make:expr, $teardown:expr) => {
        $crate::__ladder_settings_contract_tests!($make, $teardown;
            ladder_settings_are_saved_per_workspace_with_who_and_when,
            ladder_customers_are_added_once_and_paged_in_byte_order,
            ladder_customers_large_import_is_stored_whole,
            ladder_customer_lookups_are_cached_with_their_outcome,
            ladder_customers_are_removed_and_cleared,
            ladder_places_count_open_receivables,
            ladder_settings_workspaces_are_isolated,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __ladder_settings_contract_tests {
    ($make:expr, $teardown:expr; $($name:ident),* $(,)?) => {$(
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some(store) = $make.await else {
                return;
            };
            $crate::Store::migrate(&store).await.expect("migrate");
            $crate::contract_ladder_settings::$name(&store).await;
            let teardown = $teardown;
            teardown(store).await;
        }
    )*};
}

async fn workspace<S: Store>(store: &S, slug: &str) -> WorkspaceId {
    store
        .create_workspace(NewWorkspace {
            slug: slug.into(),
            name: format!("Provedor {slug}"),
            time_zone: "America/Sao_Paulo".into(),
        })
        .await
        .expect("create workspace")
        .id
}

fn document(entry: &str) -> NewLadderCustomer {
    NewLadderCustomer {
        entry: entry.into(),
        kind: LadderCustomerKind::Document,
        source: LadderCustomerSource::Import,
    }
}

fn login(entry: &str, source: LadderCustomerSource) -> NewLadderCustomer {
    NewLadderCustomer {
        entry: entry.into(),
        kind: LadderCustomerKind::Login,
        source,
    }
}

async fn all_entries<S: Store>(store: &S, ws: WorkspaceId) -> Vec<LadderCustomer> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .ladder_customers_page(ws, after.as_deref(), 2)
            .await
            .expect("page");
        if page.is_empty() {
            return all;
        }
        assert!(page.len() <= 2, "a page never exceeds its limit");
        after = page.last().map(|c| c.entry.clone());
        all.extend(page);
    }
}

fn entries(list: &[LadderCustomer]) -> Vec<&str> {
    list.iter().map(|c| c.entry.as_str()).collect()
}

fn receivable(invoice: &str, city: Option<&str>, region: Option<&str>) -> NewReceivable {
    NewReceivable {
        invoice_id: invoice.into(),
        customer_id: format!("c-{invoice}"),
        customer_name: "Cliente".into(),
        contract_id: None,
        due: date(2026, 11, 28),
        amount_cents: 9990,
        person: None,
        plan_value_cents: None,
        city: city.map(str::to_owned),
        region: region.map(str::to_owned),
        late_payments_last_12m: 0,
        suspended: false,
        wa_id: None,
        time_zone: None,
    }
}

pub async fn ladder_settings_are_saved_per_workspace_with_who_and_when<S: Store + Clone>(
    store: &S,
) {
    let a = workspace(store, "regua-cfg-a").await;
    let b = workspace(store, "regua-cfg-b").await;
    assert_eq!(store.ladder_settings(a).await.unwrap(), None);
    let first =
        json!({"default_ladder": "padrao", "ladders": {}, "paused": {"cities": ["Franca"]}});
    store
        .save_ladder_settings(a, &first, Some("Ana <ana@provedor.com.br>"), T0)
        .await
        .unwrap();
    assert_eq!(
        store.ladder_settings(a).await.unwrap(),
        Some(StoredLadderSettings {
            settings: first,
            updated_at: T0,
            updated_by: Some("Ana <ana@provedor.com.br>".into()),
        })
    );
    let second = json!({"default_ladder": "outra", "texto": "São Paulo — ação"});
    store
        .save_ladder_settings(a, &second, None, T0 + 5)
        .await
        .unwrap();
    let stored = store.ladder_settings(a).await.unwrap().unwrap();
    assert_eq!(
        stored.settings, second,
        "a save replaces the whole document"
    );
    assert_eq!(stored.updated_at, T0 + 5);
    assert_eq!(stored.updated_by, None);
    assert_eq!(store.ladder_settings(b).await.unwrap(), None);
}

pub async fn ladder_customers_are_added_once_and_paged_in_byte_order<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "regua-lista").await;
    let added = store
        .add_ladder_customers(
            ws,
            &[
                document("52998224725"),
                login("ana.silva", LadderCustomerSource::Api),
                document("11222333000181"),
                login("Maria", LadderCustomerSource::Bot),
                // Repeated inside one call: stored once.
                document("52998224725"),
            ],
            T0,
        )
        .await
        .unwrap();
    assert_eq!(added, 4);
    // Adding known entries again (with another source) changes nothing about them.
    let added = store
        .add_ladder_customers(
            ws,
            &[
                login("ana.silva", LadderCustomerSource::Import),
                document("39053344705"),
            ],
            T0 + 10,
        )
        .await
        .unwrap();
    assert_eq!(added, 1);
    let list = all_entries(store, ws).await;
    // Byte order: digits, then uppercase, then lowercase.
    assert_eq!(
        entries(&list),
        [
            "11222333000181",
            "39053344705",
            "52998224725",
            "Maria",
            "ana.silva"
        ]
    );
    let ana = list.iter().find(|c| c.entry == "ana.silva").unwrap();
    assert_eq!(ana.kind, LadderCustomerKind::Login);
    assert_eq!(ana.source, LadderCustomerSource::Api);
    assert_eq!(ana.added_at, T0);
    let newest = list.iter().find(|c| c.entry == "39053344705").unwrap();
    assert_eq!(newest.kind, LadderCustomerKind::Document);
    assert_eq!(newest.added_at, T0 + 10);
    assert_eq!(newest.customer, None);
    assert_eq!(newest.attempted_at, None);
    let after = store
        .ladder_customers_page(ws, Some("52998224725"), 10)
        .await
        .unwrap();
    assert_eq!(
        entries(&after),
        ["Maria", "ana.silva"],
        "`after` is exclusive"
    );
    assert_eq!(
        store.ladder_customer_counts(ws).await.unwrap(),
        LadderCustomerCounts {
            total: 5,
            resolved: 0,
            with_error: 0,
            pending: 5
        }
    );
    assert_eq!(store.add_ladder_customers(ws, &[], T0).await.unwrap(), 0);
}

pub async fn ladder_customers_large_import_is_stored_whole<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "regua-grande").await;
    let many: Vec<NewLadderCustomer> = (0..2_500)
        .map(|i| login(&format!("login{i:05}"), LadderCustomerSource::Import))
        .collect();
    assert_eq!(
        store.add_ladder_customers(ws, &many, T0).await.unwrap(),
        2_500
    );
    assert_eq!(store.ladder_customer_counts(ws).await.unwrap().total, 2_500);
    let last = store
        .ladder_customers_page(ws, Some("login02497"), 100)
        .await
        .unwrap();
    assert_eq!(entries(&last), ["login02498", "login02499"]);
}

pub async fn ladder_customer_lookups_are_cached_with_their_outcome<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "regua-cache").await;
    store
        .add_ladder_customers(ws, &[document("52998224725"), document("39053344705")], T0)
        .await
        .unwrap();
    let customer =
        json!({"system": "voalle", "erp_id": "77", "name": "João", "document": "52998224725"});
    let entry = |list: Vec<LadderCustomer>, key: &str| {
        list.into_iter()
            .find(|c| c.entry == key)
            .expect("entry listed")
    };

    assert!(
        store
            .record_ladder_customer_lookup(
                ws,
                "52998224725",
                &LadderCustomerLookup::Found(customer.clone()),
                T0 + 1
            )
            .await
            .unwrap()
    );
    let found = entry(all_entries(store, ws).await, "52998224725");
    assert_eq!(found.customer, Some(customer.clone()));
    assert_eq!(found.resolved_at, Some(T0 + 1));
    assert_eq!(found.attempted_at, Some(T0 + 1));
    assert_eq!(found.last_error, None);

    // A failed refresh keeps the customer found before and when it was found.
    store
        .record_ladder_customer_lookup(
            ws,
            "52998224725",
            &LadderCustomerLookup::Failed("sistema fora do ar".into()),
            T0 + 2,
        )
        .await
        .unwrap();
    let failed = entry(all_entries(store, ws).await, "52998224725");
    assert_eq!(failed.customer, Some(customer.clone()));
    assert_eq!(failed.resolved_at, Some(T0 + 1));
    assert_eq!(failed.attempted_at, Some(T0 + 2));
    assert_eq!(failed.last_error.as_deref(), Some("sistema fora do ar"));

    // "Nobody has it" is an answer: the stale customer goes.
    store
        .record_ladder_customer_lookup(
            ws,
            "52998224725",
            &LadderCustomerLookup::NotFound("não encontrado".into()),
            T0 + 3,
        )
        .await
        .unwrap();
    let gone = entry(all_entries(store, ws).await, "52998224725");
    assert_eq!(gone.customer, None);
    assert_eq!(gone.resolved_at, Some(T0 + 3));
    assert_eq!(gone.attempted_at, Some(T0 + 3));
    assert_eq!(gone.last_error.as_deref(), Some("não encontrado"));
    assert_eq!(
        store.ladder_customer_counts(ws).await.unwrap(),
        LadderCustomerCounts {
            total: 2,
            resolved: 0,
            with_error: 1,
            pending: 1
        }
    );

    store
        .record_ladder_customer_lookup(
            ws,
            "52998224725",
            &LadderCustomerLookup::Found(customer.clone()),
            T0 + 4,
        )
        .await
        .unwrap();
    let again = entry(all_entries(store, ws).await, "52998224725");
    assert_eq!(again.last_error, None, "a success clears the error");
    assert_eq!(again.customer, Some(customer));
    assert_eq!(
        store.ladder_customer_counts(ws).await.unwrap(),
        LadderCustomerCounts {
            total: 2,
            resolved: 1,
            with_error: 0,
            pending: 1
        }
    );

    assert!(
        !store
            .record_ladder_customer_lookup(
                ws,
                "00000000191",
                &LadderCustomerLookup::Failed("x".into()),
                T0 + 5
            )
            .await
            .unwrap(),
        "an entry not listed is not created by a lookup"
    );
    assert_eq!(store.ladder_customer_counts(ws).await.unwrap().total, 2);
}

pub async fn ladder_customers_are_removed_and_cleared<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "regua-remove").await;
    store
        .add_ladder_customers(
            ws,
            &[
                document("52998224725"),
                document("39053344705"),
                login("pedro", LadderCustomerSource::Import),
            ],
            T0,
        )
        .await
        .unwrap();
    let removed = store
        .remove_ladder_customers(ws, &["52998224725".into(), "desconhecido".into()])
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(
        entries(&all_entries(store, ws).await),
        ["39053344705", "pedro"]
    );
    assert_eq!(store.remove_ladder_customers(ws, &[]).await.unwrap(), 0);
    assert_eq!(store.clear_ladder_customers(ws).await.unwrap(), 2);
    assert!(all_entries(store, ws).await.is_empty());
    assert_eq!(
        store.ladder_customer_counts(ws).await.unwrap(),
        LadderCustomerCounts::default()
    );
}

pub async fn ladder_places_count_open_receivables<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "regua-lugares").await;
    let other = workspace(store, "regua-lugares-b").await;
    // Listed once, then gone from the system's listing: not open any more.
    store
        .upsert_receivables(
            ws,
            &[receivable("i6", Some("Batatais"), Some("Centro"))],
            T0,
        )
        .await
        .unwrap();
    store
        .upsert_receivables(
            ws,
            &[
                receivable("i1", Some("Franca"), Some("Zona Norte")),
                receivable("i2", Some("Franca"), None),
                receivable("i3", Some("Ribeirão Preto"), Some("Zona Norte")),
                receivable("i4", Some("Batatais"), None),
                receivable("i5", None, None),
            ],
            T0 + 10,
        )
        .await
        .unwrap();
    let due = date(2026, 11, 28);
    assert_eq!(
        store
            .close_unseen_receivables(ws, due, due, T0 + 10)
            .await
            .unwrap(),
        1
    );
    store
        .upsert_receivables(other, &[receivable("x1", Some("Franca"), None)], T0)
        .await
        .unwrap();
    let places = store.ladder_places(ws, 10).await.unwrap();
    let place = |kind, name: &str, open_invoices| LadderPlace {
        kind,
        name: name.into(),
        open_invoices,
    };
    assert_eq!(
        places,
        [
            place(LadderPlaceKind::City, "Franca", 2),
            place(LadderPlaceKind::City, "Batatais", 1),
            place(LadderPlaceKind::City, "Ribeirão Preto", 1),
            place(LadderPlaceKind::Region, "Zona Norte", 2),
        ]
    );
    let top = store.ladder_places(ws, 1).await.unwrap();
    assert_eq!(
        top,
        [
            place(LadderPlaceKind::City, "Franca", 2),
            place(LadderPlaceKind::Region, "Zona Norte", 2),
        ],
        "the limit applies to each kind"
    );
}

pub async fn ladder_settings_workspaces_are_isolated<S: Store + Clone>(store: &S) {
    let a = workspace(store, "regua-iso-a").await;
    let b = workspace(store, "regua-iso-b").await;
    store
        .save_ladder_settings(a, &json!({"x": 1}), None, T0)
        .await
        .unwrap();
    store
        .add_ladder_customers(a, &[document("52998224725")], T0)
        .await
        .unwrap();
    // The same entry in another workspace is another entry.
    assert_eq!(
        store
            .add_ladder_customers(b, &[document("52998224725")], T0)
            .await
            .unwrap(),
        1
    );
    assert!(
        store
            .record_ladder_customer_lookup(
                b,
                "52998224725",
                &LadderCustomerLookup::Found(json!({"erp_id": "b"})),
                T0 + 1
            )
            .await
            .unwrap()
    );
    let in_a = all_entries(store, a).await;
    assert_eq!(in_a.len(), 1);
    assert_eq!(in_a[0].customer, None, "b's lookup did not touch a's entry");
    assert_eq!(
        store
            .remove_ladder_customers(b, &["52998224725".into()])
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.ladder_customer_counts(a).await.unwrap().total, 1);
    assert_eq!(store.clear_ladder_customers(b).await.unwrap(), 0);
    assert_eq!(store.ladder_customer_counts(a).await.unwrap().total, 1);
    assert_eq!(store.ladder_settings(b).await.unwrap(), None);
    assert!(store.ladder_places(b, 10).await.unwrap().is_empty());
}
