//! The generated provider: subscribers with valid CPFs/CNPJs, phones in both 9th-digit forms,
//! contracts in every status and invoices with valid boleto lines and Pix codes. Deterministic: the
//! same `(subscribers, seed, today)` always gives the same data set.

use crate::codec::fold_ascii;
use crate::names::{
    CITIES, COMPANY_KINDS, COMPANY_SUFFIXES, COMPANY_WORDS, DISTRICTS, EMAIL_DOMAINS, FEMALE_NAMES,
    MALE_NAMES, PLANS, PROVIDERS, STREETS, SURNAMES,
};
use crate::rng::Rng;
use balcao_domain::br::{BankBarcode, Brl, Cnpj, Cpf, PixCode};
use jiff::civil::Date;
use jiff::tz::Offset;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

/// First ids of each kind; the ranges never overlap, so an adapter that sends a customer id where
/// a contract id belongs finds nothing instead of the wrong record.
pub const FIRST_SUBSCRIBER_ID: u64 = 1_001;
pub const FIRST_CONTRACT_ID: u64 = 1_000_001;
pub const FIRST_INVOICE_ID: u64 = 5_000_001;

/// How many leading subscribers have a fixed profile (see [`DataSet::generate`]).
pub const SHOWCASE_SUBSCRIBERS: usize = 12;

/// Every household-th subscriber also lists the first phone of the subscriber before them (a
/// relative's number), so some phone lookups legitimately return two customers.
pub const SHARED_PHONE_EVERY: usize = 101;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSet {
    /// The fake's business "today": overdue invoices, unlock deadlines and protocols use it.
    pub today: Date,
    pub provider: Provider,
    pub subscribers: Vec<Subscriber>,
    /// Tickets opened through the fakes (empty in a fresh data set).
    #[serde(default)]
    pub tickets: Vec<FakeTicket>,
}

/// The internet provider that owns the data: issuer of boletos and receiver of Pix payments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    pub name: String,
    pub cnpj: String,
    pub city: String,
    pub state: String,
    pub pix_key: String,
    /// Bank codes boletos are issued through.
    pub banks: Vec<String>,
    /// Days a trust unlock lasts unless the request asks for fewer.
    pub unlock_days: u32,
    /// Most days a request may ask for (Hubsoft `dias_desbloqueio`).
    pub unlock_max_days: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PersonType {
    Individual,
    Company,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub street: String,
    /// "S/N" when the house has no number.
    pub number: String,
    pub district: String,
    /// CEP, 8 digits.
    pub zip: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscriber {
    pub id: u64,
    pub name: String,
    /// CPF (11 digits) or CNPJ (14 characters, uppercase, possibly alphanumeric), no mask.
    pub document: String,
    pub person_type: PersonType,
    /// wa_id-style digits with 55: "5585999991234" (mobile), "558599991234" (mobile registered in
    /// the old 8-digit form) or "558532345678" (landline).
    pub phones: Vec<String>,
    /// May be empty: not every subscriber gave one.
    pub email: String,
    pub city: String,
    pub state: String,
    pub address: Address,
    pub registered_on: Date,
    pub contracts: Vec<FakeContract>,
    pub invoices: Vec<FakeInvoice>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FakeContractStatus {
    Active,
    ReducedSpeed,
    SuspendedDebt,
    SuspendedManual,
    SuspendedByRequest,
    TrustUnlocked,
    PendingInstall,
    Cancelled,
}

impl FakeContractStatus {
    pub const ALL: [FakeContractStatus; 8] = [
        FakeContractStatus::Active,
        FakeContractStatus::ReducedSpeed,
        FakeContractStatus::SuspendedDebt,
        FakeContractStatus::SuspendedManual,
        FakeContractStatus::SuspendedByRequest,
        FakeContractStatus::TrustUnlocked,
        FakeContractStatus::PendingInstall,
        FakeContractStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FakeContractStatus::Active => "active",
            FakeContractStatus::ReducedSpeed => "reduced_speed",
            FakeContractStatus::SuspendedDebt => "suspended_debt",
            FakeContractStatus::SuspendedManual => "suspended_manual",
            FakeContractStatus::SuspendedByRequest => "suspended_by_request",
            FakeContractStatus::TrustUnlocked => "trust_unlocked",
            FakeContractStatus::PendingInstall => "pending_install",
            FakeContractStatus::Cancelled => "cancelled",
        }
    }

    /// Blocked (fully or partly) because of unpaid invoices: the only state a trust unlock lifts.
    pub fn is_blocked_for_debt(self) -> bool {
        matches!(
            self,
            FakeContractStatus::ReducedSpeed | FakeContractStatus::SuspendedDebt
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FakeContract {
    pub id: u64,
    pub plan: String,
    pub monthly_cents: i64,
    pub status: FakeContractStatus,
    pub online: bool,
    /// PPPoE login, unique.
    pub login: String,
    pub unlock_used_this_month: bool,
    /// Last day of a running trust unlock.
    pub unlock_until: Option<Date>,
    /// Day of the month invoices fall due.
    pub due_day: i8,
    /// `None` while the installation is pending.
    pub activated_on: Option<Date>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FakeInvoiceStatus {
    Open,
    Overdue,
    Paid,
    Cancelled,
}

impl FakeInvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FakeInvoiceStatus::Open => "open",
            FakeInvoiceStatus::Overdue => "overdue",
            FakeInvoiceStatus::Paid => "paid",
            FakeInvoiceStatus::Cancelled => "cancelled",
        }
    }

    /// Open or overdue: still to be paid.
    pub fn is_unpaid(self) -> bool {
        matches!(self, FakeInvoiceStatus::Open | FakeInvoiceStatus::Overdue)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FakeInvoice {
    pub id: u64,
    pub contract_id: u64,
    pub status: FakeInvoiceStatus,
    pub issued_on: Date,
    pub due_date: Date,
    /// The amount printed on the boleto.
    pub amount_cents: i64,
    /// Late fee (2 %) for an overdue invoice, or what was charged when it was paid late.
    pub fine_cents: i64,
    /// Interest (1 % a month, pro rata) likewise.
    pub interest_cents: i64,
    pub paid_at: Option<Timestamp>,
    /// What was received; 0 while unpaid.
    pub paid_cents: i64,
    /// "Nosso número", the bank's id of the boleto.
    pub our_number: String,
    pub digitable_line: String,
    pub barcode: String,
    pub pix_code: String,
    /// `/boleto/{id}.pdf` in a generated data set; the running fake makes it absolute.
    pub pdf_url: String,
}

impl FakeInvoice {
    /// What the subscriber owes today: amount plus fine and interest.
    pub fn amount_due_cents(&self) -> i64 {
        self.amount_cents + self.fine_cents + self.interest_cents
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FakeTicket {
    pub id: u64,
    /// Anatel-style protocol: date of the contact and a sequence, "20261115000001".
    pub protocol: String,
    pub subscriber_id: u64,
    pub contract_id: Option<u64>,
    /// The system's own kind/subject code as received.
    pub kind: String,
    pub description: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub opened_at: Timestamp,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DocKind {
    Cpf,
    Cnpj,
    CnpjAlphanumeric,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PhonePattern {
    NewMobile,
    OldMobile,
    LandlineAndNewMobile,
    LandlineAndOldMobile,
    TwoMobiles,
}

/// How a showcase subscriber's invoices are drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Billing {
    /// Like everyone else's.
    Drawn,
    /// The latest invoice is unpaid (open, or overdue if already due).
    CurrentUnpaid,
    /// Nothing to pay.
    AllPaid,
}

/// The fixed profile of a showcase subscriber, so even a data set of 12 covers every case.
struct Showcase {
    doc: DocKind,
    phones: PhonePattern,
    statuses: &'static [FakeContractStatus],
    unlock_used: bool,
    billing: Billing,
    online: bool,
}

fn showcase(index: usize) -> Option<Showcase> {
    use Billing as B;
    use DocKind as D;
    use FakeContractStatus as S;
    use PhonePattern as P;
    let profile = |doc, phones, statuses, unlock_used, billing, online| Showcase {
        doc,
        phones,
        statuses,
        unlock_used,
        billing,
        online,
    };
    Some(match index {
        0 => profile(
            D::Cpf,
            P::NewMobile,
            &[S::Active],
            false,
            B::CurrentUnpaid,
            true,
        ),
        1 => profile(
            D::Cpf,
            P::OldMobile,
            &[S::ReducedSpeed],
            false,
            B::Drawn,
            true,
        ),
        2 => profile(
            D::Cpf,
            P::LandlineAndNewMobile,
            &[S::SuspendedDebt],
            false,
            B::Drawn,
            false,
        ),
        3 => profile(
            D::Cpf,
            P::LandlineAndOldMobile,
            &[S::SuspendedManual],
            false,
            B::Drawn,
            false,
        ),
        4 => profile(
            D::Cpf,
            P::TwoMobiles,
            &[S::SuspendedByRequest],
            false,
            B::Drawn,
            false,
        ),
        5 => profile(
            D::Cpf,
            P::NewMobile,
            &[S::TrustUnlocked],
            true,
            B::Drawn,
            true,
        ),
        6 => profile(
            D::Cpf,
            P::OldMobile,
            &[S::PendingInstall],
            false,
            B::Drawn,
            false,
        ),
        7 => profile(
            D::Cpf,
            P::NewMobile,
            &[S::Cancelled],
            false,
            B::Drawn,
            false,
        ),
        8 => profile(
            D::Cnpj,
            P::LandlineAndNewMobile,
            &[S::Active, S::SuspendedDebt],
            false,
            B::Drawn,
            true,
        ),
        9 => profile(
            D::CnpjAlphanumeric,
            P::NewMobile,
            &[S::Active],
            false,
            B::Drawn,
            true,
        ),
        10 => profile(
            D::Cpf,
            P::NewMobile,
            &[S::SuspendedDebt],
            true,
            B::Drawn,
            false,
        ),
        11 => profile(D::Cpf, P::OldMobile, &[S::Active], false, B::AllPaid, false),
        _ => return None,
    })
}

/// Sao Paulo time: Brazil has had no daylight saving since 2019.
const BRASILIA: Offset = Offset::constant(-3);

/// The dynamic-Pix host each bank's codes point at.
fn pix_host(bank: &str) -> &'static str {
    match bank {
        "001" => "qrpix.bb.com.br",
        "104" => "pix.caixa.gov.br",
        "237" => "qrpix.bradesco.com.br",
        "341" => "pix.itau.com.br",
        "748" => "pix.sicredi.com.br",
        _ => "pix.sicoob.com.br",
    }
}

impl Provider {
    fn generate(seed: u64) -> Provider {
        let mut rng = Rng::derive(seed, u64::MAX);
        let (name, city, state) = *rng.pick(PROVIDERS);
        let cnpj = Cnpj::from_base((rng.below(90_000_000) + 10_000_000) as u32);
        let banks = match rng.below(3) {
            0 => vec!["756".to_owned(), "001".to_owned()],
            1 => vec!["748".to_owned(), "104".to_owned()],
            _ => vec!["237".to_owned(), "341".to_owned()],
        };
        Provider {
            name: name.to_owned(),
            pix_key: cnpj.as_str().to_owned(),
            cnpj: cnpj.as_str().to_owned(),
            city: city.to_owned(),
            state: state.to_owned(),
            banks,
            unlock_days: 3,
            unlock_max_days: 5,
        }
    }
}

struct Counters {
    contract: u64,
    invoice: u64,
}

impl DataSet {
    /// Generates `subscribers` subscribers from `seed`, as of `today`.
    ///
    /// The first [`SHOWCASE_SUBSCRIBERS`] have fixed profiles: 0 active with an open invoice and
    /// a 13-digit mobile; 1 reduced speed, old 8-digit mobile; 2 suspended for debt, landline +
    /// mobile, unlock available; 3 suspended manually; 4 suspended by request, two mobiles (both
    /// forms); 5 trust-unlocked (unlock used); 6 pending installation; 7 cancelled; 8 a company
    /// (numeric CNPJ) with two contracts, the second suspended for debt; 9 a company with an
    /// alphanumeric CNPJ; 10 suspended for debt with this month's unlock already used; 11 active
    /// with every invoice paid. The rest are drawn with realistic proportions.
    pub fn generate(subscribers: usize, seed: u64, today: Date) -> DataSet {
        let provider = Provider::generate(seed);
        let mut counters = Counters {
            contract: FIRST_CONTRACT_ID,
            invoice: FIRST_INVOICE_ID,
        };
        let mut list: Vec<Subscriber> = (0..subscribers)
            .map(|index| generate_subscriber(index, seed, today, &provider, &mut counters))
            .collect();
        fill_payment_codes(&mut list, &provider, seed);
        for index in (SHARED_PHONE_EVERY - 1..list.len()).step_by(SHARED_PHONE_EVERY) {
            let relative = list[index - 1].phones[0].clone();
            if !list[index].phones.contains(&relative) {
                list[index].phones.push(relative);
            }
        }
        DataSet {
            today,
            provider,
            subscribers: list,
            tickets: Vec::new(),
        }
    }

    /// The subscriber holding `document` (digits/uppercase, or masked), if any. Linear: for tests.
    pub fn subscriber_by_document(&self, document: &str) -> Option<&Subscriber> {
        let wanted: String = document
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_uppercase();
        self.subscribers.iter().find(|s| s.document == wanted)
    }

    /// Every invoice with its subscriber.
    pub fn invoices(&self) -> impl Iterator<Item = (&Subscriber, &FakeInvoice)> {
        self.subscribers
            .iter()
            .flat_map(|s| s.invoices.iter().map(move |i| (s, i)))
    }

    /// Every contract with its subscriber.
    pub fn contracts(&self) -> impl Iterator<Item = (&Subscriber, &FakeContract)> {
        self.subscribers
            .iter()
            .flat_map(|s| s.contracts.iter().map(move |c| (s, c)))
    }
}

fn document_for(index: usize, seed: u64, kind: DocKind) -> String {
    let i = index as u64;
    match kind {
        // Multipliers coprime with 10⁹ / 10⁸ make index → base a bijection: documents never repeat.
        DocKind::Cpf => {
            let base = (i.wrapping_mul(7_919_311) + seed % 1_000_000_000) % 1_000_000_000;
            Cpf::from_base(base as u32).digits().to_owned()
        }
        DocKind::Cnpj => {
            let root = (i.wrapping_mul(3_571_113) + seed % 100_000_000) % 100_000_000;
            Cnpj::from_base(root as u32).as_str().to_owned()
        }
        DocKind::CnpjAlphanumeric => {
            let root = (i.wrapping_mul(3_571_113) + seed % 100_000_000) % 100_000_000;
            // Digits 3–5 of the root become letters (digit d → 'K' + d): still unique per index.
            let letters: String = format!("{root:08}")
                .chars()
                .enumerate()
                .map(|(pos, c)| {
                    if (2..5).contains(&pos) {
                        char::from(b'K' + (c as u8 - b'0'))
                    } else {
                        c
                    }
                })
                .collect();
            let branch = 1 + (i % 3);
            Cnpj::from_base_str(&format!("{letters}{branch:04}"))
                .expect("digits and uppercase letters form a valid CNPJ base")
                .as_str()
                .to_owned()
        }
    }
}

/// Mobile number `slot` as its last 8 digits (6xxxxxxx–9xxxxxxx): a bijection of the slot, so two
/// subscribers never share a mobile by accident.
fn mobile_last8(slot: u64, seed: u64) -> u64 {
    60_000_000 + (slot.wrapping_mul(2_654_437) + seed % 40_000_000) % 40_000_000
}

/// Landline number `slot` (2xxxxxxx–5xxxxxxx).
fn landline8(slot: u64, seed: u64) -> u64 {
    20_000_000 + (slot.wrapping_mul(1_234_577) + (seed / 7) % 40_000_000) % 40_000_000
}

fn phones_for(index: usize, seed: u64, ddd: u8, pattern: PhonePattern) -> Vec<String> {
    let i = index as u64;
    let new_mobile = |slot: u64| format!("55{ddd}9{}", mobile_last8(slot, seed));
    let old_mobile = |slot: u64| format!("55{ddd}{}", mobile_last8(slot, seed));
    let landline = format!("55{ddd}{}", landline8(i, seed));
    match pattern {
        PhonePattern::NewMobile => vec![new_mobile(2 * i)],
        PhonePattern::OldMobile => vec![old_mobile(2 * i)],
        PhonePattern::LandlineAndNewMobile => vec![landline, new_mobile(2 * i)],
        PhonePattern::LandlineAndOldMobile => vec![landline, old_mobile(2 * i)],
        PhonePattern::TwoMobiles => vec![new_mobile(2 * i), old_mobile(2 * i + 1)],
    }
}

fn person_name(rng: &mut Rng) -> (String, String, String) {
    let first = if rng.chance(0.5) {
        *rng.pick(FEMALE_NAMES)
    } else {
        *rng.pick(MALE_NAMES)
    };
    let middle = *rng.pick(SURNAMES);
    let last = *rng.pick(SURNAMES);
    let name = if middle == last || rng.chance(0.35) {
        format!("{first} {last}")
    } else {
        format!("{first} {middle} {last}")
    };
    (name, fold_ascii(first), fold_ascii(last))
}

fn company_name(rng: &mut Rng) -> (String, String) {
    let kind = *rng.pick(COMPANY_KINDS);
    let word = *rng.pick(COMPANY_WORDS);
    let suffix = *rng.pick(COMPANY_SUFFIXES);
    let login_word = fold_ascii(kind).replace(' ', "");
    (format!("{kind} {word} {suffix}"), login_word)
}

fn draw_status(rng: &mut Rng) -> FakeContractStatus {
    use FakeContractStatus as S;
    const WEIGHTS: [u32; 8] = [68, 4, 9, 2, 2, 4, 3, 8];
    let statuses = [
        S::Active,
        S::ReducedSpeed,
        S::SuspendedDebt,
        S::SuspendedManual,
        S::SuspendedByRequest,
        S::TrustUnlocked,
        S::PendingInstall,
        S::Cancelled,
    ];
    statuses[rng.weighted(&WEIGHTS)]
}

fn generate_subscriber(
    index: usize,
    seed: u64,
    today: Date,
    provider: &Provider,
    counters: &mut Counters,
) -> Subscriber {
    let mut rng = Rng::derive(seed, index as u64);
    let fixed = showcase(index);
    let doc_kind = match &fixed {
        Some(s) => s.doc,
        None if rng.chance(0.07) => {
            if rng.chance(0.2) {
                DocKind::CnpjAlphanumeric
            } else {
                DocKind::Cnpj
            }
        }
        None => DocKind::Cpf,
    };
    let person_type = if doc_kind == DocKind::Cpf {
        PersonType::Individual
    } else {
        PersonType::Company
    };
    let (name, login_first, login_last) = match person_type {
        PersonType::Individual => person_name(&mut rng),
        PersonType::Company => {
            let (name, word) = company_name(&mut rng);
            (name, word, String::new())
        }
    };
    let (city, state, ddd, zip_prefix) = *rng.pick(CITIES);
    let phone_pattern = match &fixed {
        Some(s) => s.phones,
        None => [
            PhonePattern::NewMobile,
            PhonePattern::OldMobile,
            PhonePattern::LandlineAndNewMobile,
            PhonePattern::LandlineAndOldMobile,
            PhonePattern::TwoMobiles,
        ][rng.weighted(&[55, 18, 15, 7, 5])],
    };
    let phones = phones_for(index, seed, ddd, phone_pattern);
    let email = if fixed.is_none() && rng.chance(0.08) {
        String::new()
    } else if person_type == PersonType::Company {
        format!(
            "contato.{}{}@{}",
            login_first,
            index,
            rng.pick(EMAIL_DOMAINS)
        )
    } else {
        let number = if rng.chance(0.6) {
            format!("{}", rng.between(1, 99))
        } else {
            String::new()
        };
        format!(
            "{login_first}.{login_last}{number}@{}",
            rng.pick(EMAIL_DOMAINS)
        )
    };
    let address = Address {
        street: rng.pick(STREETS).to_string(),
        number: if rng.chance(0.05) {
            "S/N".to_owned()
        } else {
            rng.between(10, 2999).to_string()
        },
        district: rng.pick(DISTRICTS).to_string(),
        zip: format!("{zip_prefix}{:06}", rng.below(1_000_000)),
    };
    let registered_on = today - rng.between(150, 3000).days();

    let statuses: Vec<FakeContractStatus> = match &fixed {
        Some(s) => s.statuses.to_vec(),
        None => {
            let count = match rng.below(100) {
                0..=87 => 1,
                88..=97 => 2,
                _ => 3,
            };
            (0..count).map(|_| draw_status(&mut rng)).collect()
        }
    };

    let mut contracts = Vec::with_capacity(statuses.len());
    let mut invoices = Vec::new();
    for status in statuses {
        let id = counters.contract;
        counters.contract += 1;
        let sequence = id - FIRST_CONTRACT_ID + 1;
        let login = match person_type {
            PersonType::Individual => format!("{login_first}.{login_last}{sequence}"),
            PersonType::Company => format!("{login_first}{sequence}"),
        };
        let plans: Vec<_> = PLANS
            .iter()
            .filter(|p| p.2 == (person_type == PersonType::Company) || !p.2 && rng.chance(0.3))
            .collect();
        let (plan, monthly_cents, _) = **rng.pick(&plans);
        let due_day = *rng.pick(&[5i8, 10, 15, 20, 25]);
        let online = match (&fixed, status) {
            (Some(s), _) if contracts.is_empty() => s.online,
            (
                _,
                FakeContractStatus::Active
                | FakeContractStatus::ReducedSpeed
                | FakeContractStatus::TrustUnlocked,
            ) => rng.chance(0.92),
            _ => false,
        };
        let unlock_used_this_month = match (&fixed, status) {
            (_, FakeContractStatus::TrustUnlocked) => true,
            (Some(s), _) => s.unlock_used && contracts.is_empty(),
            (None, s) if s.is_blocked_for_debt() => rng.chance(0.25),
            (None, _) => rng.chance(0.08),
        };
        let unlock_until = (status == FakeContractStatus::TrustUnlocked)
            .then(|| today + rng.between(1, i64::from(provider.unlock_days)).days());
        let activated_on = (status != FakeContractStatus::PendingInstall)
            .then(|| registered_on + rng.between(2, 12).days());
        let contract = FakeContract {
            id,
            plan: plan.to_owned(),
            monthly_cents,
            status,
            online,
            login,
            unlock_used_this_month,
            unlock_until,
            due_day,
            activated_on,
        };
        let billing = match &fixed {
            Some(s) if contracts.is_empty() => s.billing,
            _ => Billing::Drawn,
        };
        for (due, plan) in invoice_plan(&contract, today, billing, &mut rng) {
            let id = counters.invoice;
            counters.invoice += 1;
            invoices.push(build_invoice(id, &contract, due, plan, today, &mut rng));
        }
        contracts.push(contract);
    }

    Subscriber {
        id: FIRST_SUBSCRIBER_ID + index as u64,
        name,
        document: document_for(index, seed, doc_kind),
        person_type,
        phones,
        email,
        city: city.to_owned(),
        state: state.to_owned(),
        address,
        registered_on,
        contracts,
        invoices,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum InvoicePlan {
    Unpaid,
    PaidOnTime,
    PaidLate,
    Cancelled,
}

fn due_in_month(year: i16, month: i8, day: i8) -> Date {
    let first = Date::new(year, month, 1).expect("valid month");
    Date::new(year, month, day.min(first.days_in_month())).expect("day fits the month")
}

/// The last `count` due dates of a contract, newest first; the newest is at most 20 days ahead
/// (invoices are issued a couple of weeks before they fall due).
fn due_dates(today: Date, due_day: i8, count: usize) -> Vec<Date> {
    let horizon = today + 20.days();
    let (mut year, mut month) = (today.year(), today.month() + 1);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        if month > 12 {
            year += 1;
            month -= 12;
        }
        if month < 1 {
            year -= 1;
            month += 12;
        }
        let due = due_in_month(year, month, due_day);
        if due <= horizon {
            out.push(due);
        }
        month -= 1;
    }
    out
}

fn paid_plan(rng: &mut Rng) -> InvoicePlan {
    if rng.chance(0.2) {
        InvoicePlan::PaidLate
    } else {
        InvoicePlan::PaidOnTime
    }
}

fn invoice_plan(
    contract: &FakeContract,
    today: Date,
    billing: Billing,
    rng: &mut Rng,
) -> Vec<(Date, InvoicePlan)> {
    use FakeContractStatus as S;
    use InvoicePlan as P;
    if contract.status == S::PendingInstall {
        return vec![(today + rng.between(7, 15).days(), P::Unpaid)];
    }
    let dues = due_dates(today, contract.due_day, 3);
    let mut out = Vec::with_capacity(3);
    for (age, &due) in dues.iter().enumerate() {
        let plan = match (contract.status, age) {
            (_, _) if billing == Billing::AllPaid => Some(P::PaidOnTime),
            (_, 0) if billing == Billing::CurrentUnpaid => Some(P::Unpaid),
            (S::Active, 0) if due >= today || rng.chance(0.25) => Some(P::Unpaid),
            (S::Active, _) if rng.chance(0.04) => Some(P::Cancelled),
            (S::ReducedSpeed, 0 | 1) => Some(P::Unpaid),
            (S::SuspendedDebt | S::TrustUnlocked, 0 | 1) => Some(P::Unpaid),
            (S::SuspendedDebt | S::TrustUnlocked, 2) if rng.chance(0.5) => Some(P::Unpaid),
            (S::SuspendedManual, 0) if due >= today => Some(P::Unpaid),
            (S::SuspendedByRequest, 0) => None,
            (S::Cancelled, 0) => None,
            (S::Cancelled, 1) => Some(P::Cancelled),
            (S::Cancelled, 2) if rng.chance(0.3) => Some(P::Unpaid),
            _ => Some(paid_plan(rng)),
        };
        if let Some(plan) = plan {
            out.push((due, plan));
        }
    }
    out
}

/// Late fee of 2 % and interest of 1 % a month pro rata (the Anatel ceilings).
fn late_charges(amount_cents: i64, days_late: i64) -> (i64, i64) {
    if days_late <= 0 {
        return (0, 0);
    }
    (
        (amount_cents * 2 + 50) / 100,
        (amount_cents * days_late + 1500) / 3000,
    )
}

fn days_between(from: Date, to: Date) -> i64 {
    i64::from((to - from).get_days())
}

/// CRC-16/CCITT-FALSE through a lookup table: the same value as
/// `balcao_domain::br::crc16_ccitt_false` (a test checks), several times faster per byte.
fn crc16(data: &[u8]) -> u16 {
    const TABLE: [u16; 256] = {
        let mut table = [0u16; 256];
        let mut i = 0;
        while i < 256 {
            let mut crc = (i as u16) << 8;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
                bit += 1;
            }
            table[i] = crc;
            i += 1;
        }
        table
    };
    data.iter().fold(0xFFFF, |crc, &b| {
        (crc << 8) ^ TABLE[usize::from((crc >> 8) as u8 ^ b)]
    })
}

/// The provider's Pix fields as the BR Code writes them (uppercase, no accents, cut to size),
/// computed once by `balcao_domain::br::PixCode` so the fast writer below emits the same bytes.
pub(crate) struct PixTemplate {
    key: String,
    name: String,
    city: String,
}

impl PixTemplate {
    pub(crate) fn new(provider: &Provider) -> PixTemplate {
        let code = PixCode::new_static(&provider.pix_key, &provider.name, &provider.city)
            .expect("the provider's Pix fields are valid");
        PixTemplate {
            key: provider.pix_key.clone(),
            name: code.merchant_name().to_owned(),
            city: code.merchant_city().to_owned(),
        }
    }

    /// A static code with amount and txid (`dynamic_url` `None`), or a dynamic one pointing at
    /// the PSP's URL. Same output as `PixCode`'s builder, at a fraction of the cost, which
    /// matters for 100 000 subscribers.
    pub(crate) fn code(&self, amount_cents: i64, txid: &str, dynamic_url: Option<&str>) -> String {
        fn tlv(out: &mut String, id: u8, value: &str) {
            out.push_str(&format!("{id:02}{:02}{value}", value.len()));
        }
        let mut account = String::with_capacity(100);
        tlv(&mut account, 0, balcao_domain::br::pix::PIX_GUI);
        let mut additional = String::with_capacity(32);
        let mut out = String::with_capacity(200);
        tlv(&mut out, 0, "01");
        match dynamic_url {
            Some(url) => {
                tlv(&mut out, 1, "12");
                tlv(&mut account, 25, url);
                tlv(&mut additional, 5, "***");
            }
            None => {
                tlv(&mut account, 1, &self.key);
                tlv(&mut additional, 5, txid);
            }
        }
        tlv(&mut out, 26, &account);
        tlv(&mut out, 52, "0000");
        tlv(&mut out, 53, "986");
        if dynamic_url.is_none() {
            tlv(&mut out, 54, &Brl::from_cents(amount_cents).to_pix_amount());
        }
        tlv(&mut out, 58, "BR");
        tlv(&mut out, 59, &self.name);
        tlv(&mut out, 60, &self.city);
        tlv(&mut out, 62, &additional);
        out.push_str("6304");
        let crc = crc16(out.as_bytes());
        out.push_str(&format!("{crc:04X}"));
        out
    }
}

/// Barcode, line and Pix code of invoice `id`: a static Pix (provider key, amount, txid) for even
/// ids, a dynamic one (PSP URL) for odd ids, as providers use both.
pub(crate) fn payment_codes(
    id: u64,
    bank: &str,
    due: Date,
    amount_cents: i64,
    pix: &PixTemplate,
    seed: u64,
) -> (String, String, String) {
    // Agency, wallet, our number, account and a zero: the 25-digit free field.
    let free_field = format!("{:04}09{id:011}{:07}0", 3100 + bank.len(), 48_213);
    let barcode = BankBarcode::build(bank, Some(due), amount_cents, &free_field)
        .expect("bank code, due date and amount of the fake are in range");
    let line = barcode.to_line();
    let pix_code = if id.is_multiple_of(2) {
        pix.code(amount_cents, &format!("FAT{id}"), None)
    } else {
        let token = Rng::derive(seed ^ 0x5049_5821, id).hex(32);
        pix.code(
            amount_cents,
            "***",
            Some(&format!("{}/qr/v2/cobv/{token}", pix_host(bank))),
        )
    };
    (
        barcode.as_str().to_owned(),
        line.as_str().to_owned(),
        pix_code,
    )
}

/// Fills barcode, line and Pix code of every invoice, spread over the machine's cores: the codes
/// depend only on each invoice, so the result is the same on any number of threads.
fn fill_payment_codes(subscribers: &mut [Subscriber], provider: &Provider, seed: u64) {
    let template = PixTemplate::new(provider);
    let fill = |chunk: &mut [Subscriber]| {
        for subscriber in chunk {
            for invoice in &mut subscriber.invoices {
                let bank = &provider.banks[(invoice.id % provider.banks.len() as u64) as usize];
                let (barcode, line, pix) = payment_codes(
                    invoice.id,
                    bank,
                    invoice.due_date,
                    invoice.amount_cents,
                    &template,
                    seed,
                );
                invoice.barcode = barcode;
                invoice.digitable_line = line;
                invoice.pix_code = pix;
            }
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || subscribers.len() < 2_000 {
        fill(subscribers);
        return;
    }
    let chunk = subscribers.len().div_ceil(threads);
    std::thread::scope(|scope| {
        for part in subscribers.chunks_mut(chunk) {
            scope.spawn(|| fill(part));
        }
    });
}

fn build_invoice(
    id: u64,
    contract: &FakeContract,
    due: Date,
    plan: InvoicePlan,
    today: Date,
    rng: &mut Rng,
) -> FakeInvoice {
    let amount_cents = contract.monthly_cents;
    let (status, paid_at, fine_cents, interest_cents) = match plan {
        InvoicePlan::Unpaid if due >= today => (FakeInvoiceStatus::Open, None, 0, 0),
        InvoicePlan::Unpaid => {
            let (fine, interest) = late_charges(amount_cents, days_between(due, today));
            (FakeInvoiceStatus::Overdue, None, fine, interest)
        }
        InvoicePlan::Cancelled => (FakeInvoiceStatus::Cancelled, None, 0, 0),
        InvoicePlan::PaidOnTime | InvoicePlan::PaidLate => {
            let day = if plan == InvoicePlan::PaidLate {
                due + rng.between(1, 12).days()
            } else {
                due - rng.between(0, 6).days()
            };
            let day = day.min(today);
            let at = day
                .at(
                    rng.between(7, 21) as i8,
                    rng.between(0, 59) as i8,
                    rng.between(0, 59) as i8,
                    0,
                )
                .to_zoned(BRASILIA.to_time_zone())
                .expect("dates of the fake are in range")
                .timestamp();
            let (fine, interest) = late_charges(amount_cents, days_between(due, day));
            (FakeInvoiceStatus::Paid, Some(at), fine, interest)
        }
    };
    let paid_cents = if status == FakeInvoiceStatus::Paid {
        amount_cents + fine_cents + interest_cents
    } else {
        0
    };
    FakeInvoice {
        id,
        contract_id: contract.id,
        status,
        issued_on: due - 15.days(),
        due_date: due,
        amount_cents,
        fine_cents,
        interest_cents,
        paid_at,
        paid_cents,
        our_number: format!("{id:011}"),
        // Filled by `fill_payment_codes`, in parallel.
        digitable_line: String::new(),
        barcode: String::new(),
        pix_code: String::new(),
        pdf_url: format!("/boleto/{id}.pdf"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use balcao_domain::WaId;
    use balcao_domain::br::{DigitableLine, Document};
    use std::collections::HashSet;

    fn today() -> Date {
        Date::new(2026, 11, 16).unwrap()
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a = DataSet::generate(40, 7, today());
        let b = DataSet::generate(40, 7, today());
        let c = DataSet::generate(40, 8, today());
        assert_eq!(a, b);
        assert_ne!(a.subscribers[20].document, c.subscribers[20].document);
    }

    #[test]
    fn every_document_phone_line_and_pix_is_valid() {
        let data = DataSet::generate(600, 99, today());
        let mut documents = HashSet::new();
        let mut logins = HashSet::new();
        let mut invoice_ids = HashSet::new();
        for s in &data.subscribers {
            let doc = Document::parse(&s.document).expect("valid CPF/CNPJ");
            assert_eq!(doc.as_str(), s.document);
            assert!(documents.insert(s.document.clone()), "repeated document");
            assert!(!s.phones.is_empty());
            for phone in &s.phones {
                assert!(phone.len() == 12 || phone.len() == 13, "{phone}");
                WaId::parse(phone).expect("wa_id-style digits");
            }
            for c in &s.contracts {
                assert!(logins.insert(c.login.clone()), "repeated login {}", c.login);
            }
            for inv in &s.invoices {
                assert!(invoice_ids.insert(inv.id));
                let line = DigitableLine::parse(&inv.digitable_line).expect("valid line");
                assert_eq!(line.to_barcode().as_str(), inv.barcode);
                assert_eq!(line.to_barcode().amount_cents(), Some(inv.amount_cents));
                assert_eq!(line.to_barcode().due_date(data.today), Some(inv.due_date));
                let pix = PixCode::parse(&inv.pix_code).expect("valid pix");
                if !pix.is_dynamic() {
                    assert_eq!(pix.amount_cents(), Some(inv.amount_cents));
                }
                assert!(s.contracts.iter().any(|c| c.id == inv.contract_id));
                match inv.status {
                    FakeInvoiceStatus::Open => assert!(inv.due_date >= data.today),
                    FakeInvoiceStatus::Overdue => {
                        assert!(inv.due_date < data.today);
                        assert!(inv.fine_cents > 0);
                    }
                    FakeInvoiceStatus::Paid => {
                        assert!(inv.paid_at.is_some());
                        assert!(inv.paid_cents >= inv.amount_cents);
                    }
                    FakeInvoiceStatus::Cancelled => assert!(inv.paid_at.is_none()),
                }
            }
        }
    }

    #[test]
    fn showcase_covers_every_status_and_phone_form() {
        let data = DataSet::generate(SHOWCASE_SUBSCRIBERS, 1, today());
        let statuses: HashSet<_> = data.contracts().map(|(_, c)| c.status).collect();
        assert_eq!(statuses.len(), FakeContractStatus::ALL.len());
        let lengths: HashSet<usize> = data
            .subscribers
            .iter()
            .flat_map(|s| s.phones.iter().map(String::len))
            .collect();
        assert!(lengths.contains(&12) && lengths.contains(&13));
        let kinds: HashSet<_> = data.invoices().map(|(_, i)| i.status).collect();
        assert_eq!(
            kinds.len(),
            4,
            "open, overdue, paid and cancelled all present"
        );
        assert!(
            data.subscribers[9]
                .document
                .bytes()
                .any(|b| b.is_ascii_uppercase())
        );
        assert_eq!(data.subscribers[8].contracts.len(), 2);
        assert!(data.subscribers[10].contracts[0].unlock_used_this_month);
        assert!(!data.subscribers[2].contracts[0].unlock_used_this_month);
        assert!(
            data.subscribers[11]
                .invoices
                .iter()
                .all(|i| i.status == FakeInvoiceStatus::Paid),
            "subscriber 11 has nothing to pay"
        );
        assert!(
            data.subscribers[0]
                .invoices
                .iter()
                .any(|i| i.status.is_unpaid())
        );
    }

    #[test]
    fn households_share_a_phone() {
        let data = DataSet::generate(SHARED_PHONE_EVERY + 1, 3, today());
        let sharer = &data.subscribers[SHARED_PHONE_EVERY - 1];
        assert!(
            sharer
                .phones
                .contains(&data.subscribers[SHARED_PHONE_EVERY - 2].phones[0])
        );
    }

    #[test]
    fn due_dates_step_back_month_by_month() {
        let dues = due_dates(Date::new(2026, 1, 20).unwrap(), 31, 4);
        let expected: Vec<Date> = ["2026-01-31", "2025-12-31", "2025-11-30", "2025-10-31"]
            .iter()
            .map(|d| d.parse().unwrap())
            .collect();
        assert_eq!(dues, expected);
        let dues = due_dates(Date::new(2026, 12, 20).unwrap(), 5, 2);
        assert_eq!(dues[0], Date::new(2027, 1, 5).unwrap());
    }

    #[test]
    fn codes_filled_on_threads_match_a_single_thread() {
        // Large enough to take the multi-threaded path.
        let data = DataSet::generate(2_100, 5, today());
        let template = PixTemplate::new(&data.provider);
        for (_, invoice) in data.invoices().step_by(97) {
            let bank = &invoice.barcode[..3];
            let (barcode, line, pix) = payment_codes(
                invoice.id,
                bank,
                invoice.due_date,
                invoice.amount_cents,
                &template,
                5,
            );
            assert_eq!(
                (barcode.as_str(), line.as_str()),
                (invoice.barcode.as_str(), invoice.digitable_line.as_str())
            );
            assert_eq!(pix, invoice.pix_code);
        }
    }

    #[test]
    fn table_crc_matches_the_domain_crc() {
        assert_eq!(crc16(b"123456789"), 0x29B1);
        assert_eq!(crc16(b""), 0xFFFF);
        let payload = b"00020126580014br.gov.bcb.pix0136123e4567-e12b6304";
        assert_eq!(
            crc16(payload),
            balcao_domain::br::crc16_ccitt_false(payload)
        );
    }

    #[test]
    fn fast_pix_writer_matches_the_domain_builder() {
        let data = DataSet::generate(1, 4, today());
        let p = &data.provider;
        let template = PixTemplate::new(p);
        let expected = PixCode::new_static(&p.pix_key, &p.name, &p.city)
            .unwrap()
            .with_amount(Brl::from_cents(12_345))
            .unwrap()
            .with_txid("FAT42")
            .unwrap()
            .to_string();
        assert_eq!(template.code(12_345, "FAT42", None), expected);
        let url = "pix.sicoob.com.br/qr/v2/cobv/abc";
        let expected = PixCode::new_dynamic(url, &p.name, &p.city)
            .unwrap()
            .to_string();
        assert_eq!(template.code(1, "***", Some(url)), expected);
    }

    #[test]
    fn late_charges_follow_the_ceilings() {
        assert_eq!(late_charges(10_000, 0), (0, 0));
        assert_eq!(late_charges(10_000, 30), (200, 100));
        assert_eq!(late_charges(9_990, 15), (200, 50));
    }
}
