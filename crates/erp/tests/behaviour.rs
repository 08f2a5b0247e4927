//! One behavioural suite, run against the fake of each of the six systems (`balcao-erp-fake`, an
//! independent implementation of the same spec), through `connect_with` as the product uses it.
//! Every scenario is a function taking the system; the macro at the bottom instantiates each one
//! per system so a failure names both.

use balcao_domain::WaId;
use balcao_domain::br::{BrPhone, Cpf, Document, PixCode};
use balcao_erp::{
    BreakerPolicy, ConnectOptions, ContractStatus, Customer, ErpAdapter, ErpError, InvoiceStatus,
    LookupKey, NewTicket, Operation, PaymentMethod, RateLimit, Receivable, ResiliencePolicy,
    RetryPolicy, System, UnlockRefusal, connect_with, lookup_json,
};
use balcao_erp_fake::{
    DataSet, FakeContractStatus, FakeInvoiceStatus, FakeSystem, Faults, RunningFake, Subscriber,
};
use jiff::civil::Date;
use jiff::{Timestamp, Zoned};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const SUBSCRIBERS: usize = 40;
const SEED: u64 = 7;
/// Showcase profiles (see `DataSet::generate`).
const ACTIVE: usize = 0;
const OLD_MOBILE: usize = 1;
const SUSPENDED_UNLOCKABLE: usize = 2;
const TWO_MOBILES: usize = 4;
const CANCELLED: usize = 7;
const COMPANY_TWO_CONTRACTS: usize = 8;
const ALPHANUMERIC_CNPJ: usize = 9;
const UNLOCK_ALREADY_USED: usize = 10;
const SHOWCASE: usize = 12;

fn today() -> Date {
    Zoned::now()
        .in_tz("America/Sao_Paulo")
        .expect("bundled tz data")
        .date()
}

fn fake_system(system: System) -> FakeSystem {
    match system {
        System::Sgp => FakeSystem::Sgp,
        System::Ixc => FakeSystem::Ixc,
        System::Hubsoft => FakeSystem::Hubsoft,
        System::MkAuth => FakeSystem::MkAuth,
        System::Voalle => FakeSystem::Voalle,
        System::RadiusNet => FakeSystem::RadiusNet,
    }
}

/// Fast retries, a breaker that stays out of the way and no cache: each scenario sees the fake's
/// current state. Scenarios about those mechanisms set their own.
fn quick_policy() -> ResiliencePolicy {
    ResiliencePolicy {
        call_timeout: Duration::from_secs(10),
        listing_timeout: Duration::from_secs(120),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 1,
            max_delay_ms: 5,
        },
        breaker: BreakerPolicy {
            failure_threshold: 1_000,
            open_for_ms: 60_000,
        },
        cache_ttl: Duration::ZERO,
        cache_capacity: 100,
    }
}

/// The fakes' own rate limit is lifted (and ours widened) except in the rate-limit scenario.
const NO_LIMIT: RateLimit = RateLimit {
    per_minute: 1_000_000,
    burst: 100_000,
};

struct Case {
    system: System,
    fake: RunningFake,
    data: DataSet,
    adapter: Arc<dyn ErpAdapter>,
}

impl Case {
    async fn start(system: System) -> Case {
        Case::start_with(system, quick_policy(), Some(NO_LIMIT), Some(0)).await
    }

    async fn start_with(
        system: System,
        policy: ResiliencePolicy,
        our_limit: Option<RateLimit>,
        fake_limit: Option<u32>,
    ) -> Case {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let data = DataSet::generate(SUBSCRIBERS, SEED, today());
        let faults = Faults {
            rate_limit_per_minute: fake_limit,
            ..Faults::default()
        };
        let fake = balcao_erp_fake::start(
            fake_system(system),
            data.clone(),
            faults,
            "127.0.0.1:0".parse().unwrap(),
        )
        .await;
        let options = ConnectOptions {
            policy,
            request_timeout: Duration::from_secs(10),
            rate_limit: our_limit,
        };
        let adapter = connect_with(system, &fake.base_url, &fake.auth, &options)
            .unwrap_or_else(|e| panic!("{system}: connect failed: {e}"));
        Case {
            system,
            fake,
            data,
            adapter,
        }
    }

    /// Applies faults, keeping the fake's rate limit off.
    fn faults(&self, faults: Faults) {
        self.fake.control.set_faults(Faults {
            rate_limit_per_minute: faults.rate_limit_per_minute.or(Some(0)),
            ..faults
        });
    }

    fn requests(&self) -> u64 {
        self.fake.control.request_count()
    }

    fn subscriber(&self, index: usize) -> &Subscriber {
        &self.data.subscribers[index]
    }

    fn document(&self, index: usize) -> Document {
        Document::parse(&self.subscriber(index).document).expect("fake documents are valid")
    }

    async fn customer(&self, index: usize) -> Customer {
        self.adapter
            .find_customer_by_document(&self.document(index))
            .await
            .unwrap_or_else(|e| panic!("{}: lookup of #{index} failed: {e}", self.system))
            .unwrap_or_else(|| panic!("{}: #{index} not found", self.system))
    }

    /// The adapter's contract for a fake contract: same id, or (MK-Auth) same login.
    async fn contract(&self, index: usize, which: usize) -> balcao_erp::Contract {
        let fake_contract = &self.subscriber(index).contracts[which];
        let customer = self.customer(index).await;
        let contracts = self.adapter.contracts(&customer).await.unwrap();
        contracts
            .into_iter()
            .find(|c| same_contract(c, fake_contract))
            .unwrap_or_else(|| panic!("{}: contract {} missing", self.system, fake_contract.id))
    }

    fn supports_phone_lookup(&self) -> bool {
        matches!(self.system, System::Sgp | System::Ixc | System::Hubsoft)
    }

    fn supports_connection_status(&self) -> bool {
        matches!(
            self.system,
            System::Sgp | System::Ixc | System::Hubsoft | System::MkAuth
        )
    }

    fn supports_tickets(&self) -> bool {
        matches!(
            self.system,
            System::Sgp | System::Ixc | System::Hubsoft | System::Voalle
        )
    }

    fn has_fixed_token(&self) -> bool {
        matches!(self.system, System::Sgp | System::Ixc | System::RadiusNet)
    }
}

fn same_contract(ours: &balcao_erp::Contract, fake: &balcao_erp_fake::FakeContract) -> bool {
    ours.erp_id == fake.id.to_string() || ours.login.as_deref() == Some(fake.login.as_str())
}

/// What each fake status must read as. MK-Auth's login record is coarser than the others.
fn expected_status(system: System, status: FakeContractStatus) -> ContractStatus {
    use ContractStatus as C;
    use FakeContractStatus as F;
    let exact = match status {
        F::Active => C::Active,
        F::ReducedSpeed => C::ReducedSpeed,
        F::SuspendedDebt => C::SuspendedDebt,
        F::SuspendedManual => C::SuspendedManual,
        F::SuspendedByRequest => C::SuspendedByRequest,
        F::TrustUnlocked => C::TrustUnlocked,
        F::PendingInstall => C::PendingInstall,
        F::Cancelled => C::Cancelled,
    };
    match (system, status) {
        // `bloqueado=sim` does not say why; a disabled login does not say whether it was ever
        // installed.
        (System::MkAuth, F::SuspendedManual | F::SuspendedByRequest) => C::SuspendedDebt,
        (System::MkAuth, F::PendingInstall) => C::Cancelled,
        _ => exact,
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

async fn finds_customers_by_document(system: System) {
    let case = Case::start(system).await;
    for index in 0..SHOWCASE {
        let found = case.customer(index).await;
        let subscriber = case.subscriber(index);
        assert_eq!(found.system, system);
        assert_eq!(found.name, subscriber.name, "{system} #{index}");
        assert_eq!(
            found.document,
            Some(case.document(index)),
            "{system} #{index}"
        );
    }
    // A valid CPF nobody holds.
    let stranger = (1..)
        .map(|seed| Document::from(Cpf::from_base(900_000_000 + seed)))
        .find(|d| {
            case.data
                .subscribers
                .iter()
                .all(|s| s.document != d.as_str())
        })
        .unwrap();
    assert_eq!(
        case.adapter
            .find_customer_by_document(&stranger)
            .await
            .unwrap(),
        None,
        "{system}"
    );
}

async fn finds_customers_by_phone_in_either_ninth_digit_form(system: System) {
    let case = Case::start(system).await;
    for index in [ACTIVE, OLD_MOBILE, SUSPENDED_UNLOCKABLE, TWO_MOBILES] {
        let subscriber = case.subscriber(index);
        for wa_id in &subscriber.phones {
            let phone = BrPhone::from_wa_id(&WaId::parse(wa_id).unwrap()).unwrap();
            let result = case.adapter.find_customers_by_phone(&phone).await;
            if !case.supports_phone_lookup() {
                assert_eq!(
                    result.unwrap_err(),
                    ErpError::not_supported(Operation::FindCustomersByPhone),
                    "{system}"
                );
                return;
            }
            let found = result.unwrap_or_else(|e| panic!("{system}: {e}"));
            assert!(
                found
                    .iter()
                    .any(|c| c.document.as_ref().map(Document::as_str)
                        == Some(subscriber.document.as_str())),
                "{system}: #{index} not found by {wa_id}: {found:?}"
            );
        }
    }
}

async fn contracts_carry_every_status(system: System) {
    let case = Case::start(system).await;
    let mut seen = BTreeSet::new();
    for index in 0..SHOWCASE {
        let customer = case.customer(index).await;
        let contracts = case.adapter.contracts(&customer).await.unwrap();
        let subscriber = case.subscriber(index);
        if system == System::MkAuth {
            // `show/{cpf}` answers one login (the spec has no "logins of a CPF" query).
            assert_eq!(contracts.len(), 1, "{system} #{index}");
        } else {
            assert_eq!(
                contracts.len(),
                subscriber.contracts.len(),
                "{system} #{index}"
            );
        }
        for fake in &subscriber.contracts {
            let Some(ours) = contracts.iter().find(|c| same_contract(c, fake)) else {
                assert_eq!(system, System::MkAuth, "contract {} missing", fake.id);
                continue;
            };
            assert_eq!(
                ours.status,
                expected_status(system, fake.status),
                "{system} #{index}: {:?} read from {:?}",
                fake.status,
                ours.raw_status
            );
            assert_eq!(ours.customer_erp_id, customer.erp_id, "{system}");
            seen.insert(format!("{:?}", fake.status));
        }
    }
    assert_eq!(
        seen.len(),
        FakeContractStatus::ALL.len(),
        "showcase covers every status"
    );
}

async fn open_invoices_have_boleto_pix_and_pdf(system: System) {
    let case = Case::start(system).await;
    for index in [
        ACTIVE,
        SUSPENDED_UNLOCKABLE,
        COMPANY_TWO_CONTRACTS,
        ALPHANUMERIC_CNPJ,
    ] {
        let customer = case.customer(index).await;
        let invoices = case.adapter.open_invoices(&customer).await.unwrap();
        let subscriber = case.subscriber(index);
        let expected: BTreeSet<String> = subscriber
            .invoices
            .iter()
            .filter(|i| i.status.is_unpaid())
            .map(|i| i.id.to_string())
            .collect();
        let got: BTreeSet<String> = invoices.iter().map(|i| i.erp_id.clone()).collect();
        assert_eq!(got, expected, "{system} #{index}");
        for invoice in &invoices {
            let fake = subscriber
                .invoices
                .iter()
                .find(|i| i.id.to_string() == invoice.erp_id)
                .unwrap();
            assert_eq!(
                invoice.amount_cents, fake.amount_cents,
                "{system} {}",
                fake.id
            );
            assert_eq!(invoice.due_date, fake.due_date, "{system} {}", fake.id);
            let expected_status = match fake.status {
                FakeInvoiceStatus::Overdue => InvoiceStatus::Overdue,
                _ => InvoiceStatus::Open,
            };
            assert_eq!(invoice.status, expected_status, "{system} {}", fake.id);
            let line = invoice
                .digitable_line()
                .unwrap_or_else(|| panic!("{system}: {} has no boleto line", fake.id));
            let fake_line: String = fake
                .digitable_line
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            assert_eq!(line, fake_line, "{system} {}", fake.id);
            let pix = invoice
                .pix_code()
                .unwrap_or_else(|| panic!("{system}: {} has no Pix", fake.id));
            assert!(PixCode::parse(pix).is_ok(), "{system}: {pix}");
            if system != System::Ixc || fake.status != FakeInvoiceStatus::Overdue {
                // IXC's get_pix re-issues an overdue invoice's Pix with fine and interest.
                assert_eq!(pix, fake.pix_code, "{system} {}", fake.id);
            }
            match case.adapter.invoice_pdf(invoice).await {
                Ok(pdf) => assert!(pdf.starts_with(b"%PDF"), "{system}"),
                // MK-Auth only has its HTML boleto page, offered as a link.
                Err(ErpError::NotSupported { .. }) if system == System::MkAuth => {
                    assert!(invoice.payment_methods.iter().any(
                        |m| matches!(m, PaymentMethod::Link { url } if url.contains("21boleto.php"))
                    ));
                }
                Err(other) => panic!("{system}: PDF of {}: {other}", fake.id),
            }
        }
    }
}

async fn invoice_reads_fresh_status(system: System) {
    let case = Case::start(system).await;
    let customer = case.customer(ACTIVE).await;
    let open = case.adapter.open_invoices(&customer).await.unwrap();
    let target = open
        .first()
        .expect("showcase #0 has an open invoice")
        .clone();
    let before = case
        .adapter
        .invoice(&customer, &target.erp_id)
        .await
        .unwrap();
    assert!(before.status.is_payable(), "{system}: {:?}", before.status);
    assert!(
        case.fake
            .control
            .mark_paid(&target.erp_id, Timestamp::now())
    );
    match case.adapter.invoice(&customer, &target.erp_id).await {
        Ok(after) => assert_eq!(after.status, InvoiceStatus::Paid, "{system}"),
        // MK-Auth only lists open titles.
        Err(ErpError::NotFound) => assert_eq!(system, System::MkAuth),
        Err(other) => panic!("{system}: {other}"),
    }
    assert_eq!(
        case.adapter
            .invoice(&customer, "999999999")
            .await
            .unwrap_err(),
        ErpError::NotFound,
        "{system}"
    );
}

async fn payments_between_sees_a_marked_payment(system: System) {
    let case = Case::start(system).await;
    let customer = case.customer(ACTIVE).await;
    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("America/Sao_Paulo").unwrap())
        .date();
    let since = today.yesterday().unwrap();
    let target = case.adapter.open_invoices(&customer).await.unwrap()[0].clone();
    let before = case
        .adapter
        .payments_between(since, today, std::slice::from_ref(&customer))
        .await;
    if system == System::MkAuth {
        assert_eq!(
            before.unwrap_err(),
            ErpError::not_supported(Operation::Payments)
        );
        return;
    }
    let before = before.unwrap_or_else(|e| panic!("{system}: {e}"));
    assert!(
        !before.iter().any(|e| e.invoice_id == target.erp_id),
        "{system}"
    );
    let paid_at = Timestamp::now();
    assert!(case.fake.control.mark_paid(&target.erp_id, paid_at));
    let fake = case
        .fake
        .control
        .invoice(target.erp_id.parse().unwrap())
        .unwrap();
    let events = case
        .adapter
        .payments_between(since, today, std::slice::from_ref(&customer))
        .await
        .unwrap();
    let event = events
        .iter()
        .find(|e| e.invoice_id == target.erp_id)
        .unwrap_or_else(|| panic!("{system}: payment not seen in {events:?}"));
    assert_eq!(event.amount_cents, fake.paid_cents, "{system}");
    // ERPs give the payment day (sometimes the time): same São Paulo day.
    let day = |t: Timestamp| t.in_tz("America/Sao_Paulo").unwrap().date();
    assert_eq!(day(event.paid_at), day(paid_at), "{system}");
}

async fn trust_unlock_once_then_typed_refusal(system: System) {
    let case = Case::start(system).await;
    let contract = case.contract(SUSPENDED_UNLOCKABLE, 0).await;
    let granted = case.adapter.trust_unlock(&contract).await.unwrap();
    assert!(granted.granted, "{system}: {granted:?}");
    assert_eq!(granted.refusal, None);
    if let Some(until) = granted.until {
        assert!(until >= today(), "{system}: {until}");
    }
    let fake = case
        .fake
        .control
        .contract(case.subscriber(SUSPENDED_UNLOCKABLE).contracts[0].id)
        .unwrap();
    assert_eq!(
        fake.status,
        FakeContractStatus::TrustUnlocked,
        "{system}: the ERP state changed"
    );

    let again = case.adapter.trust_unlock(&contract).await.unwrap();
    assert!(!again.granted, "{system}: second unlock granted");
    assert_eq!(
        again.refusal,
        Some(UnlockRefusal::AlreadyUsedUnpaid),
        "{system}: {again:?}"
    );

    let used = case.contract(UNLOCK_ALREADY_USED, 0).await;
    let refused = case.adapter.trust_unlock(&used).await.unwrap();
    assert!(!refused.granted, "{system}");
    assert_eq!(
        refused.refusal,
        Some(UnlockRefusal::AlreadyUsedUnpaid),
        "{system}: {refused:?}"
    );

    let active = case.contract(ACTIVE, 0).await;
    let refused = case.adapter.trust_unlock(&active).await.unwrap();
    assert!(!refused.granted, "{system}");
    assert_eq!(
        refused.refusal,
        Some(UnlockRefusal::NotBlocked),
        "{system}: {refused:?}"
    );

    let cancelled = case.contract(CANCELLED, 0).await;
    let refused = case.adapter.trust_unlock(&cancelled).await.unwrap();
    assert!(!refused.granted, "{system}: {refused:?}");
}

async fn connection_status_reads_online(system: System) {
    let case = Case::start(system).await;
    let online = case.contract(ACTIVE, 0).await;
    let offline = case.contract(SUSPENDED_UNLOCKABLE, 0).await;
    let result = case.adapter.connection_status(&online).await;
    if !case.supports_connection_status() {
        assert_eq!(
            result.unwrap_err(),
            ErpError::not_supported(Operation::ConnectionStatus),
            "{system}"
        );
        return;
    }
    let up = result.unwrap_or_else(|e| panic!("{system}: {e}"));
    let down = case.adapter.connection_status(&offline).await.unwrap();
    if system == System::MkAuth {
        assert_eq!((up.online, up.blocked), (None, Some(false)), "{system}");
        assert_eq!(down.blocked, Some(true), "{system}");
    } else {
        assert_eq!(up.online, Some(true), "{system}: {up:?}");
        assert_eq!(down.online, Some(false), "{system}: {down:?}");
    }
}

async fn tickets_get_a_protocol(system: System) {
    let case = Case::start(system).await;
    let customer = case.customer(ACTIVE).await;
    let contract = case.contract(ACTIVE, 0).await;
    let request = NewTicket {
        customer_erp_id: customer.erp_id.clone(),
        contract_erp_id: Some(contract.erp_id.clone()),
        subject: "Sem conexão".into(),
        description: "Assinante relata internet fora do ar desde a manhã.".into(),
        contact_name: Some(customer.name.clone()),
        contact_phone: Some("11987654321".into()),
    };
    let result = case.adapter.open_ticket(&request).await;
    if !case.supports_tickets() {
        assert_eq!(
            result.unwrap_err(),
            ErpError::not_supported(Operation::OpenTicket),
            "{system}"
        );
        return;
    }
    let ticket = result.unwrap_or_else(|e| panic!("{system}: {e}"));
    assert!(!ticket.protocol.is_empty(), "{system}");
    let recorded = case.fake.control.tickets();
    let fake_ticket = recorded
        .iter()
        .find(|t| t.protocol == ticket.protocol)
        .unwrap_or_else(|| panic!("{system}: protocol of {ticket:?} not in {recorded:?}"));
    assert_eq!(
        fake_ticket.subscriber_id,
        case.subscriber(ACTIVE).id,
        "{system}"
    );
    assert!(fake_ticket.description.contains("fora do ar"), "{system}");
}

async fn expired_tokens_are_renewed_or_reported(system: System) {
    let case = Case::start(system).await;
    let document = case.document(ACTIVE);
    case.adapter
        .find_customer_by_document(&document)
        .await
        .unwrap();
    case.faults(Faults {
        expire_tokens: true,
        ..Faults::default()
    });
    let next = case.adapter.find_customer_by_document(&document).await;
    if case.has_fixed_token() {
        // A fixed token the ERP refused is reported, not retried.
        assert_eq!(next.unwrap_err(), ErpError::Unauthorized, "{system}");
        assert!(
            case.adapter
                .find_customer_by_document(&document)
                .await
                .unwrap()
                .is_some()
        );
    } else {
        assert!(
            next.unwrap_or_else(|e| panic!("{system}: {e}")).is_some(),
            "{system}"
        );
    }
}

async fn latency_still_answers(system: System) {
    let case = Case::start(system).await;
    case.faults(Faults {
        latency_ms: 150,
        ..Faults::default()
    });
    assert!(case.customer(ACTIVE).await.name == case.subscriber(ACTIVE).name);
}

async fn a_hanging_server_times_out(system: System) {
    let policy = ResiliencePolicy {
        call_timeout: Duration::from_millis(400),
        retry: RetryPolicy {
            max_attempts: 2,
            base_delay_ms: 1,
            max_delay_ms: 1,
        },
        ..quick_policy()
    };
    let case = Case::start_with(system, policy, Some(NO_LIMIT), Some(0)).await;
    case.faults(Faults {
        timeout_rate: 1.0,
        ..Faults::default()
    });
    assert_eq!(
        case.adapter
            .find_customer_by_document(&case.document(ACTIVE))
            .await
            .unwrap_err(),
        ErpError::Timeout,
        "{system}"
    );
}

async fn server_errors_are_retried_for_reads_only(system: System) {
    let case = Case::start(system).await;
    // Warm up: tokens fetched, so each attempt below is one request.
    let contract = case.contract(SUSPENDED_UNLOCKABLE, 0).await;
    case.faults(Faults {
        error_500_rate: 1.0,
        ..Faults::default()
    });
    let before = case.requests();
    let error = case
        .adapter
        .find_customer_by_document(&case.document(ACTIVE))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ErpError::Unavailable(ref m) if m.contains("500")),
        "{system}: {error:?}"
    );
    assert_eq!(
        case.requests() - before,
        3,
        "{system}: a read is tried 3 times"
    );
    let before = case.requests();
    let error = case.adapter.trust_unlock(&contract).await.unwrap_err();
    assert!(
        matches!(error, ErpError::Unavailable(_)),
        "{system}: {error:?}"
    );
    assert_eq!(
        case.requests() - before,
        1,
        "{system}: a write is tried once"
    );
    assert!(
        case.fake
            .control
            .contract(case.subscriber(SUSPENDED_UNLOCKABLE).contracts[0].id)
            .unwrap()
            .status
            == FakeContractStatus::SuspendedDebt
    );
}

async fn html_error_pages_are_reported(system: System) {
    let case = Case::start(system).await;
    let document = case.document(ACTIVE);
    case.adapter
        .find_customer_by_document(&document)
        .await
        .unwrap();
    case.faults(Faults {
        html_error_rate: 1.0,
        ..Faults::default()
    });
    let before = case.requests();
    let error = case
        .adapter
        .find_customer_by_document(&document)
        .await
        .unwrap_err();
    if system == System::Ixc {
        // IXC's own failure mode: an HTML page with HTTP 200, which retrying does not fix.
        assert!(
            matches!(error, ErpError::InvalidResponse(ref m) if m.contains("HTML")),
            "{error:?}"
        );
        assert_eq!(case.requests() - before, 1);
    } else {
        // A proxy's HTML 502: the system is unavailable, and a read is retried.
        assert!(
            matches!(error, ErpError::Unavailable(ref m) if m.contains("HTML")),
            "{system}: {error:?}"
        );
        assert_eq!(case.requests() - before, 3, "{system}");
    }
}

async fn truncated_json_is_invalid(system: System) {
    let case = Case::start(system).await;
    let document = case.document(ACTIVE);
    case.adapter
        .find_customer_by_document(&document)
        .await
        .unwrap();
    case.faults(Faults {
        truncated_json_rate: 1.0,
        ..Faults::default()
    });
    let error = case
        .adapter
        .find_customer_by_document(&document)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ErpError::InvalidResponse(_)),
        "{system}: {error:?}"
    );
}

async fn a_down_system_opens_the_circuit(system: System) {
    let policy = ResiliencePolicy {
        retry: RetryPolicy {
            max_attempts: 1,
            base_delay_ms: 1,
            max_delay_ms: 1,
        },
        breaker: BreakerPolicy {
            failure_threshold: 3,
            open_for_ms: 600_000,
        },
        ..quick_policy()
    };
    let case = Case::start_with(system, policy, Some(NO_LIMIT), Some(0)).await;
    let document = case.document(ACTIVE);
    case.adapter
        .find_customer_by_document(&document)
        .await
        .unwrap();
    case.faults(Faults {
        down: true,
        ..Faults::default()
    });
    for _ in 0..3 {
        let error = case
            .adapter
            .find_customer_by_document(&document)
            .await
            .unwrap_err();
        assert!(
            matches!(error, ErpError::Unavailable(ref m) if m.contains("503")),
            "{system}: {error:?}"
        );
    }
    let before = case.requests();
    let error = case
        .adapter
        .find_customer_by_document(&document)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ErpError::Unavailable(ref m) if m.contains("circuito aberto")),
        "{system}: {error:?}"
    );
    assert_eq!(
        case.requests(),
        before,
        "{system}: an open circuit does not call"
    );
}

async fn repeated_reads_are_cached_until_a_write(system: System) {
    let policy = ResiliencePolicy {
        cache_ttl: Duration::from_secs(60),
        ..quick_policy()
    };
    let case = Case::start_with(system, policy, Some(NO_LIMIT), Some(0)).await;
    let contract = case.contract(SUSPENDED_UNLOCKABLE, 0).await;
    let customer = case.customer(SUSPENDED_UNLOCKABLE).await;
    let first = case.adapter.contracts(&customer).await.unwrap();
    let before = case.requests();
    let second = case.adapter.contracts(&customer).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(case.requests(), before, "{system}: served from the cache");
    assert!(case.adapter.trust_unlock(&contract).await.unwrap().granted);
    let after = case.adapter.contracts(&customer).await.unwrap();
    assert!(
        case.requests() > before,
        "{system}: the write invalidated the cache"
    );
    let unlocked = after.iter().find(|c| c.erp_id == contract.erp_id).unwrap();
    assert_ne!(
        unlocked.status,
        ContractStatus::SuspendedDebt,
        "{system}: fresh state after the unlock"
    );
}

async fn lookup_json_has_the_documented_shape(system: System) {
    let case = Case::start(system).await;
    let key = LookupKey::Document(case.document(SUSPENDED_UNLOCKABLE));
    let json = lookup_json(case.adapter.as_ref(), &key).await.unwrap();
    assert_eq!(json["system"], system.as_str());
    assert_eq!(
        json["query"]["document"],
        case.subscriber(SUSPENDED_UNLOCKABLE).document
    );
    let customers = json["customers"].as_array().unwrap();
    assert_eq!(customers.len(), 1, "{system}");
    let snapshot = &customers[0];
    assert_eq!(
        snapshot["customer"]["name"],
        case.subscriber(SUSPENDED_UNLOCKABLE).name
    );
    assert!(
        !snapshot["contracts"].as_array().unwrap().is_empty(),
        "{system}"
    );
    let invoices = snapshot["open_invoices"].as_array().unwrap();
    assert!(!invoices.is_empty(), "{system}");
    let kinds: BTreeSet<&str> = invoices[0]["payment_methods"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["kind"].as_str())
        .collect();
    assert!(
        kinds.contains("boleto") && kinds.contains("pix"),
        "{system}: {kinds:?}"
    );
    assert!(invoices[0]["amount_cents"].is_i64());

    let phone =
        BrPhone::from_wa_id(&WaId::parse(&case.subscriber(ACTIVE).phones[0]).unwrap()).unwrap();
    let by_phone = lookup_json(case.adapter.as_ref(), &LookupKey::Phone(phone)).await;
    if case.supports_phone_lookup() {
        let json = by_phone.unwrap();
        assert_eq!(json["query"]["phone"].as_str().unwrap().len(), 11);
        assert!(
            !json["customers"].as_array().unwrap().is_empty(),
            "{system}"
        );
    } else {
        assert_eq!(
            by_phone.unwrap_err(),
            ErpError::not_supported(Operation::FindCustomersByPhone)
        );
    }
}

/// Without pacing the fake answers 429; paced below its limit, more reads than its bucket holds
/// all succeed.
#[tokio::test]
async fn voalle_rate_limit_is_respected() {
    let one_attempt = ResiliencePolicy {
        retry: RetryPolicy {
            max_attempts: 1,
            base_delay_ms: 1,
            max_delay_ms: 1,
        },
        ..quick_policy()
    };
    // The fake's bucket holds FAKE_LIMIT requests and refills FAKE_LIMIT a minute. Unpaced, twice
    // that many back to back must hit it unless they take a whole minute; paced at a lower rate
    // with a smaller burst, a stream can never outrun it, however slow the machine.
    const FAKE_LIMIT: u32 = 120;
    let unpaced_reads = 2 * FAKE_LIMIT as usize;
    let paced_reads = FAKE_LIMIT as usize + 5;

    let unpaced = Case::start_with(
        System::Voalle,
        one_attempt,
        Some(NO_LIMIT),
        Some(FAKE_LIMIT),
    )
    .await;
    let document = unpaced.document(ACTIVE);
    let mut limited = 0;
    for _ in 0..unpaced_reads {
        match unpaced.adapter.find_customer_by_document(&document).await {
            Ok(_) => {}
            Err(ErpError::RateLimited) => limited += 1,
            Err(other) => panic!("{other}"),
        }
    }
    assert!(limited > 0, "the fake enforces its limit");

    let ours = RateLimit {
        per_minute: FAKE_LIMIT - 5,
        burst: FAKE_LIMIT - 10,
    };
    let paced = Case::start_with(System::Voalle, one_attempt, Some(ours), Some(FAKE_LIMIT)).await;
    for _ in 0..paced_reads {
        paced
            .adapter
            .find_customer_by_document(&document)
            .await
            .unwrap_or_else(|e| panic!("paced read failed: {e}"));
    }
}

macro_rules! suite {
    ($($module:ident => $system:expr),* $(,)?) => {$(
        mod $module {
            use super::*;
            #[tokio::test] async fn finds_customers_by_document() { super::finds_customers_by_document($system).await }
            #[tokio::test] async fn finds_customers_by_phone() { super::finds_customers_by_phone_in_either_ninth_digit_form($system).await }
            #[tokio::test] async fn contracts_carry_every_status() { super::contracts_carry_every_status($system).await }
            #[tokio::test] async fn open_invoices_have_boleto_pix_and_pdf() { super::open_invoices_have_boleto_pix_and_pdf($system).await }
            #[tokio::test] async fn invoice_reads_fresh_status() { super::invoice_reads_fresh_status($system).await }
            #[tokio::test] async fn payments_between_sees_a_marked_payment() { super::payments_between_sees_a_marked_payment($system).await }
            #[tokio::test] async fn trust_unlock_once_then_typed_refusal() { super::trust_unlock_once_then_typed_refusal($system).await }
            #[tokio::test] async fn connection_status_reads_online() { super::connection_status_reads_online($system).await }
            #[tokio::test] async fn tickets_get_a_protocol() { super::tickets_get_a_protocol($system).await }
            #[tokio::test] async fn expired_tokens_are_renewed_or_reported() { super::expired_tokens_are_renewed_or_reported($system).await }
            #[tokio::test] async fn latency_still_answers() { super::latency_still_answers($system).await }
            #[tokio::test] async fn a_hanging_server_times_out() { super::a_hanging_server_times_out($system).await }
            #[tokio::test] async fn server_errors_are_retried_for_reads_only() { super::server_errors_are_retried_for_reads_only($system).await }
            #[tokio::test] async fn html_error_pages_are_reported() { super::html_error_pages_are_reported($system).await }
            #[tokio::test] async fn truncated_json_is_invalid() { super::truncated_json_is_invalid($system).await }
            #[tokio::test] async fn a_down_system_opens_the_circuit() { super::a_down_system_opens_the_circuit($system).await }
            #[tokio::test] async fn repeated_reads_are_cached_until_a_write() { super::repeated_reads_are_cached_until_a_write($system).await }
            #[tokio::test] async fn lookup_json_has_the_documented_shape() { super::lookup_json_has_the_documented_shape($system).await }
        }
    )*};
}

suite! {
    sgp => System::Sgp,
    ixc => System::Ixc,
    hubsoft => System::Hubsoft,
    mkauth => System::MkAuth,
    voalle => System::Voalle,
    radiusnet => System::RadiusNet,
}

// ---------------------------------------------------------------------------------------------
// Receivables and the restore after payment (billing ladder)
// ---------------------------------------------------------------------------------------------

/// Whether the system lists receivables in bulk (`customers` unused) or per customer.
fn lists_receivables_in_bulk(system: System) -> bool {
    matches!(system, System::Sgp | System::Ixc | System::Hubsoft)
}

/// The status a receivables row reads for a fake contract. SGP's bulk `clientes` has only the
/// display text: "Suspenso"/"Bloqueado" read as debt and a trust unlock as "Ativo".
fn status_in_listing(system: System, status: FakeContractStatus) -> ContractStatus {
    match (system, status) {
        (
            System::Sgp,
            FakeContractStatus::SuspendedManual | FakeContractStatus::SuspendedByRequest,
        ) => ContractStatus::SuspendedDebt,
        (System::Sgp, FakeContractStatus::TrustUnlocked) => ContractStatus::Active,
        _ => expected_status(system, status),
    }
}

/// A case over `subscribers` generated subscribers (the pagination scenarios need many).
async fn large_case(system: System, subscribers: usize) -> Case {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let data = DataSet::generate(subscribers, SEED, today());
    let fake = balcao_erp_fake::start(
        fake_system(system),
        data.clone(),
        Faults {
            rate_limit_per_minute: Some(0),
            ..Faults::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await;
    let options = ConnectOptions {
        policy: quick_policy(),
        request_timeout: Duration::from_secs(30),
        rate_limit: Some(NO_LIMIT),
    };
    let adapter = connect_with(system, &fake.base_url, &fake.auth, &options)
        .unwrap_or_else(|e| panic!("{system}: connect failed: {e}"));
    Case {
        system,
        fake,
        data,
        adapter,
    }
}

impl Case {
    /// What `receivables` is given: nothing for bulk systems (to show it is not needed), every
    /// subscriber as the product would track them for the others.
    async fn tracked_customers(&self) -> Vec<Customer> {
        if lists_receivables_in_bulk(self.system) {
            return Vec::new();
        }
        let mut customers = Vec::new();
        for index in 0..self.data.subscribers.len() {
            customers.push(self.customer(index).await);
        }
        customers
    }

    /// Ids of the fake's unpaid invoices due on `from..=until`, ascending.
    fn owed_between(&self, from: Date, until: Date) -> Vec<String> {
        let mut ids: Vec<u64> = self
            .data
            .invoices()
            .filter(|(_, i)| i.status.is_unpaid() && from <= i.due_date && i.due_date <= until)
            .map(|(_, i)| i.id)
            .collect();
        ids.sort_unstable();
        ids.into_iter().map(|id| id.to_string()).collect()
    }
}

fn days(n: i64) -> jiff::Span {
    jiff::Span::new().days(n)
}

fn sorted_ids(rows: &[Receivable]) -> Vec<String> {
    let mut ids: Vec<String> = rows.iter().map(|r| r.invoice.erp_id.clone()).collect();
    ids.sort_by_key(|id| id.parse::<u64>().unwrap());
    ids
}

async fn receivables_list_the_due_window(system: System) {
    let case = Case::start(system).await;
    let customers = case.tracked_customers().await;
    let (from, until) = (today() - days(10), today() + days(10));
    let rows = case
        .adapter
        .receivables(from, until, &customers)
        .await
        .unwrap_or_else(|e| panic!("{system}: {e}"));
    let expected = case.owed_between(from, until);
    assert!(expected.len() > 5, "{system}: the window holds titles");
    assert_eq!(sorted_ids(&rows), expected, "{system}");
    for pair in rows.windows(2) {
        let key = |r: &Receivable| (r.invoice.due_date, r.invoice.erp_id.parse::<u64>().unwrap());
        assert!(
            key(&pair[0]) < key(&pair[1]),
            "{system}: ordered by due date and id"
        );
    }
    let gives_city = matches!(system, System::Hubsoft | System::MkAuth | System::Voalle);
    let gives_plan_value = matches!(system, System::Hubsoft | System::Voalle | System::RadiusNet);
    for row in &rows {
        let (subscriber, fake) = case
            .data
            .invoices()
            .find(|(_, i)| i.id.to_string() == row.invoice.erp_id)
            .unwrap();
        let invoice_id = &row.invoice.erp_id;
        assert_eq!(row.customer.system, system);
        assert_eq!(row.customer.name, subscriber.name, "{system} {invoice_id}");
        assert_eq!(
            row.customer.document.as_ref().map(Document::as_str),
            Some(subscriber.document.as_str()),
            "{system} {invoice_id}"
        );
        if system != System::RadiusNet {
            // RadiusNet's answers carry no phone.
            assert!(!row.customer.phones.is_empty(), "{system} {invoice_id}");
        }
        assert_eq!(
            row.invoice.amount_cents, fake.amount_cents,
            "{system} {invoice_id}"
        );
        assert_eq!(row.invoice.due_date, fake.due_date, "{system} {invoice_id}");
        assert!(row.invoice.status.is_payable(), "{system} {invoice_id}");
        assert!(
            row.invoice.digitable_line().is_some(),
            "{system} {invoice_id}"
        );
        let contract = subscriber
            .contracts
            .iter()
            .find(|c| c.id == fake.contract_id)
            .unwrap();
        let named = row
            .contract_id
            .as_deref()
            .unwrap_or_else(|| panic!("{system} {invoice_id}: no contract"));
        assert!(
            named == contract.id.to_string() || named == contract.login,
            "{system} {invoice_id}: contract {named}"
        );
        let status = status_in_listing(system, contract.status);
        assert_eq!(
            row.contract_status,
            Some(status),
            "{system} {invoice_id}: {:?}",
            contract.status
        );
        assert_eq!(
            row.suspended,
            status.is_blocked_for_debt(),
            "{system} {invoice_id}"
        );
        if gives_city {
            assert_eq!(
                row.city.as_deref(),
                Some(subscriber.city.as_str()),
                "{system}"
            );
        } else {
            assert_eq!(row.city, None, "{system}");
        }
        if gives_plan_value {
            assert_eq!(
                row.plan_value_cents,
                Some(contract.monthly_cents),
                "{system}"
            );
        }
    }
    assert!(
        rows.iter().any(|r| r.suspended),
        "{system}: showcase debtors are in the window"
    );

    // A payment takes the invoice out at the next read (nothing is cached).
    let paid = rows[0].invoice.erp_id.clone();
    assert!(case.fake.control.mark_paid(&paid, Timestamp::now()));
    let after = case
        .adapter
        .receivables(from, until, &customers)
        .await
        .unwrap();
    assert!(!after.iter().any(|r| r.invoice.erp_id == paid), "{system}");
    assert_eq!(after.len(), rows.len() - 1, "{system}");
}

/// Bulk systems page through a base larger than a page; per-customer systems ask each tracked
/// customer once, list only them, and nothing without them.
async fn receivables_page_through_the_base(system: System) {
    if !lists_receivables_in_bulk(system) {
        let case = Case::start(system).await;
        let some: Vec<Customer> = {
            let mut picked = Vec::new();
            for index in [
                ACTIVE,
                SUSPENDED_UNLOCKABLE,
                COMPANY_TWO_CONTRACTS,
                UNLOCK_ALREADY_USED,
            ] {
                picked.push(case.customer(index).await);
            }
            picked
        };
        let twice: Vec<Customer> = some.iter().chain(some.iter()).cloned().collect();
        let (from, until) = (today() - days(400), today() + days(60));
        let rows = case.adapter.receivables(from, until, &twice).await.unwrap();
        let documents: BTreeSet<&str> = some
            .iter()
            .filter_map(|c| c.document.as_ref().map(Document::as_str))
            .collect();
        let mut expected: Vec<String> = case
            .data
            .invoices()
            .filter(|(s, i)| i.status.is_unpaid() && documents.contains(s.document.as_str()))
            .map(|(_, i)| i.id.to_string())
            .collect();
        expected.sort_by_key(|id| id.parse::<u64>().unwrap());
        assert!(!expected.is_empty());
        assert_eq!(sorted_ids(&rows), expected, "{system}: each invoice once");
        let before = case.requests();
        assert!(
            case.adapter
                .receivables(from, until, &[])
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(case.requests(), before, "{system}: nobody to ask");
        return;
    }
    let (subscribers, page) = match system {
        System::Sgp => (250, 100),
        _ => (1_200, 500),
    };
    let case = large_case(system, subscribers).await;
    let (from, until) = (today() - days(400), today() + days(60));
    let expected = case.owed_between(from, until);
    let before = case.requests();
    let rows = case
        .adapter
        .receivables(from, until, &[])
        .await
        .unwrap_or_else(|e| panic!("{system}: {e}"));
    let asked = case.requests() - before;
    assert_eq!(
        sorted_ids(&rows),
        expected,
        "{system}: every page, nothing twice"
    );
    if system == System::Sgp {
        // `clientes` carries the titles: one pass, 100 customers a page.
        assert_eq!(asked as usize, subscribers.div_ceil(page), "{system}");
    } else {
        assert!(expected.len() > page, "{system}: more titles than a page");
        assert!(
            asked as usize > expected.len().div_ceil(page),
            "{system}: {asked} requests"
        );
    }
}

async fn receivables_of_an_empty_window_are_empty(system: System) {
    let case = Case::start(system).await;
    let customers = case.tracked_customers().await;
    let far = today() + days(400);
    let rows = case
        .adapter
        .receivables(far, far + days(10), &customers)
        .await
        .unwrap_or_else(|e| panic!("{system}: {e}"));
    assert!(rows.is_empty(), "{system}: {rows:?}");
    let before = case.requests();
    let reversed = case
        .adapter
        .receivables(today(), today() - days(1), &customers)
        .await
        .unwrap();
    assert!(reversed.is_empty());
    assert_eq!(
        case.requests(),
        before,
        "{system}: an empty window asks nothing"
    );
}

async fn receivables_report_a_garbled_answer(system: System) {
    let case = Case::start(system).await;
    let customers = case.tracked_customers().await;
    case.faults(Faults {
        truncated_json_rate: 1.0,
        ..Faults::default()
    });
    let error = case
        .adapter
        .receivables(today() - days(10), today() + days(10), &customers)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ErpError::InvalidResponse(ref m) if !m.is_empty()),
        "{system}: {error:?}"
    );
    assert!(
        error.to_string().starts_with("resposta inválida"),
        "{system}: {error}"
    );
}

async fn receivables_fail_when_the_system_is_down(system: System) {
    let case = Case::start(system).await;
    let customers = case.tracked_customers().await;
    case.faults(Faults {
        down: true,
        ..Faults::default()
    });
    let before = case.requests();
    let error = case
        .adapter
        .receivables(today() - days(10), today() + days(10), &customers)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ErpError::Unavailable(ref m) if m.contains("503")),
        "{system}: {error:?}"
    );
    assert_eq!(
        case.requests() - before,
        3,
        "{system}: a read, tried 3 times"
    );
}

async fn restore_after_payment_releases_or_says_why_not(system: System) {
    let case = Case::start(system).await;
    let blocked = case.contract(SUSPENDED_UNLOCKABLE, 0).await;
    let fake_id = case.subscriber(SUSPENDED_UNLOCKABLE).contracts[0].id;
    let result = case.adapter.restore_after_payment(&blocked).await;
    if matches!(system, System::Voalle | System::RadiusNet) {
        assert_eq!(
            result.unwrap_err(),
            ErpError::not_supported(Operation::RestoreAfterPayment),
            "{system}"
        );
        return;
    }
    let first = result.unwrap_or_else(|e| panic!("{system}: {e}"));
    if system == System::Ixc {
        // IXC's release action lifts the block.
        assert!(first.granted, "{system}: {first:?}");
        assert_eq!(
            case.fake.control.contract(fake_id).unwrap().status,
            FakeContractStatus::Active
        );
    } else {
        // The system releases on its own when it posts the payment: not yet.
        assert!(!first.granted, "{system}: {first:?}");
        assert_eq!(first.refusal, Some(UnlockRefusal::NotSupported), "{system}");
        assert!(first.erp_message.is_some());
        assert_eq!(
            case.fake.control.contract(fake_id).unwrap().status,
            FakeContractStatus::SuspendedDebt,
            "{system}: nothing was spent"
        );
        for invoice in case.subscriber(SUSPENDED_UNLOCKABLE).invoices.iter() {
            if invoice.status.is_unpaid() && invoice.contract_id == fake_id {
                assert!(case.fake.control.mark_paid(invoice.id, Timestamp::now()));
            }
        }
    }
    let after = case.adapter.restore_after_payment(&blocked).await.unwrap();
    assert!(
        after.granted,
        "{system}: released after the payment: {after:?}"
    );
    assert_eq!(after.refusal, None);

    let manual = case.contract(3, 0).await;
    let refused = case.adapter.restore_after_payment(&manual).await.unwrap();
    assert!(!refused.granted, "{system}");
    let expected = if system == System::MkAuth {
        // `bloqueado=sim` does not say why: it reads as debt still blocked.
        UnlockRefusal::NotSupported
    } else {
        UnlockRefusal::ExceedsPolicy
    };
    assert_eq!(refused.refusal, Some(expected), "{system}: {refused:?}");
    assert_eq!(
        case.fake
            .control
            .contract(case.subscriber(3).contracts[0].id)
            .unwrap()
            .status,
        FakeContractStatus::SuspendedManual,
        "{system}: a manual block stays"
    );
    let cancelled = case.contract(CANCELLED, 0).await;
    let refused = case
        .adapter
        .restore_after_payment(&cancelled)
        .await
        .unwrap();
    assert_eq!(
        refused.refusal,
        Some(UnlockRefusal::ContractInactive),
        "{system}: {refused:?}"
    );
}

macro_rules! receivables_suite {
    ($($module:ident => $system:expr),* $(,)?) => {$(
        mod $module {
            use super::*;
            #[tokio::test] async fn receivables_list_the_due_window() { super::receivables_list_the_due_window($system).await }
            #[tokio::test] async fn receivables_page_through_the_base() { super::receivables_page_through_the_base($system).await }
            #[tokio::test] async fn receivables_of_an_empty_window_are_empty() { super::receivables_of_an_empty_window_are_empty($system).await }
            #[tokio::test] async fn receivables_report_a_garbled_answer() { super::receivables_report_a_garbled_answer($system).await }
            #[tokio::test] async fn receivables_fail_when_the_system_is_down() { super::receivables_fail_when_the_system_is_down($system).await }
            #[tokio::test] async fn restore_after_payment_releases_or_says_why_not() { super::restore_after_payment_releases_or_says_why_not($system).await }
        }
    )*};
}

receivables_suite! {
    sgp_receivables => System::Sgp,
    ixc_receivables => System::Ixc,
    hubsoft_receivables => System::Hubsoft,
    mkauth_receivables => System::MkAuth,
    voalle_receivables => System::Voalle,
    radiusnet_receivables => System::RadiusNet,
}
