//! What the planner knows about an open invoice, the segments it falls in, and the rules that give
//! a segment its own ladder (or drop steps from it) or pause a region.

use balcao_domain::br::DocumentKind;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An open invoice as the planner sees it: plain values gathered from the management system and
/// the store. Borrowed by the planner, never copied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceFacts {
    pub invoice_id: String,
    pub customer_id: String,
    pub contract_id: Option<String>,
    pub due: Date,
    pub amount_cents: i64,
    /// CPF (person) or CNPJ (company).
    pub person: DocumentKind,
    /// The contract's monthly value, when the system gives it.
    pub plan_value_cents: Option<i64>,
    pub city: Option<String>,
    /// The provider's own region label (POP, neighbourhood, "Zona Norte"...).
    pub region: Option<String>,
    pub late_payments_last_12m: u32,
    pub paid: bool,
    /// The contract is suspended for debt.
    pub suspended: bool,
    pub opted_out: bool,
    /// The subscriber has a known WhatsApp id to send to.
    pub has_wa_id: bool,
    /// IANA name ("America/Manaus"); `None` uses the workspace's.
    pub time_zone: Option<String>,
}

/// Where an invoice stands relative to its due date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// Due in the future or today.
    DueSoon,
    Overdue1To3,
    Overdue4To10,
    Overdue11Plus,
}

impl Timing {
    /// `days_from_due`: today minus the due date (negative before it).
    pub fn from_days_from_due(days_from_due: i32) -> Timing {
        match days_from_due {
            ..=0 => Timing::DueSoon,
            1..=3 => Timing::Overdue1To3,
            4..=10 => Timing::Overdue4To10,
            _ => Timing::Overdue11Plus,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Timing::DueSoon => "A vencer",
            Timing::Overdue1To3 => "Atraso 1–3",
            Timing::Overdue4To10 => "Atraso 4–10",
            Timing::Overdue11Plus => "Atraso 11+",
        }
    }
}

/// How the subscriber has paid over the last 12 months.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Behaviour {
    /// No late payment.
    GoodPayer,
    Regular,
    /// At least the workspace's threshold of late payments.
    RepeatDefaulter,
}

impl Behaviour {
    /// `repeat_defaulter_min_late` ≥ 1 (a validated [`crate::plan::PlanConfig`] guarantees it).
    pub fn classify(late_payments_last_12m: u32, repeat_defaulter_min_late: u32) -> Behaviour {
        if late_payments_last_12m == 0 {
            Behaviour::GoodPayer
        } else if late_payments_last_12m >= repeat_defaulter_min_late {
            Behaviour::RepeatDefaulter
        } else {
            Behaviour::Regular
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Behaviour::GoodPayer => "bom pagador",
            Behaviour::Regular => "pagador regular",
            Behaviour::RepeatDefaulter => "inadimplente recorrente",
        }
    }
}

/// The two independent axes an invoice is segmented on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Segment {
    pub timing: Timing,
    pub behaviour: Behaviour,
}

impl Segment {
    pub fn of(days_from_due: i32, facts: &InvoiceFacts, repeat_defaulter_min_late: u32) -> Self {
        Segment {
            timing: Timing::from_days_from_due(days_from_due),
            behaviour: Behaviour::classify(facts.late_payments_last_12m, repeat_defaulter_min_late),
        }
    }
}

impl fmt::Display for Segment {
    /// "Atraso 1–3, bom pagador".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {}", self.timing.label(), self.behaviour.label())
    }
}

/// Inclusive bounds in cents; a missing bound is open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CentsRange {
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
}

impl CentsRange {
    pub fn contains(&self, cents: i64) -> bool {
        self.min.is_none_or(|min| cents >= min) && self.max.is_none_or(|max| cents <= max)
    }
}

/// Which invoices a rule applies to. Every field narrows; an empty list or `None` accepts all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SegmentFilter {
    pub timing: Vec<Timing>,
    pub behaviour: Vec<Behaviour>,
    /// The contract's monthly value; an invoice whose plan value is unknown does not match a range.
    pub plan_value_cents: Option<CentsRange>,
    pub person: Option<DocumentKind>,
    /// Compared ignoring case, accents and surrounding spaces.
    pub cities: Vec<String>,
    pub regions: Vec<String>,
}

impl SegmentFilter {
    pub fn matches(&self, facts: &InvoiceFacts, segment: Segment) -> bool {
        (self.timing.is_empty() || self.timing.contains(&segment.timing))
            && (self.behaviour.is_empty() || self.behaviour.contains(&segment.behaviour))
            && self.plan_value_cents.is_none_or(|range| {
                facts
                    .plan_value_cents
                    .is_some_and(|value| range.contains(value))
            })
            && self.person.is_none_or(|kind| kind == facts.person)
            && (self.cities.is_empty() || place_in(facts.city.as_deref(), &self.cities))
            && (self.regions.is_empty() || place_in(facts.region.as_deref(), &self.regions))
    }
}

/// A segment's own treatment: the first rule whose filter matches decides the invoice's ladder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRule {
    /// Shown in the planner's reasons ("Bom pagador").
    pub name: String,
    #[serde(default)]
    pub when: SegmentFilter,
    /// A ladder of the workspace by name; `None` keeps the default ladder.
    #[serde(default)]
    pub ladder: Option<String>,
    /// Step keys of that ladder this segment does not get.
    #[serde(default)]
    pub skip_steps: Vec<String>,
}

/// Cities and regions whose ladder is on hold (an outage: nobody should be asked to pay for a
/// service that is down).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PausedRegions {
    pub cities: Vec<String>,
    pub regions: Vec<String>,
}

impl PausedRegions {
    pub fn pauses(&self, facts: &InvoiceFacts) -> bool {
        place_in(facts.city.as_deref(), &self.cities)
            || place_in(facts.region.as_deref(), &self.regions)
    }

    pub fn is_empty(&self) -> bool {
        self.cities.is_empty() && self.regions.is_empty()
    }
}

fn place_in(place: Option<&str>, list: &[String]) -> bool {
    place.is_some_and(|p| list.iter().any(|l| same_place(p, l)))
}

/// True when two place names are the same ignoring case, Portuguese accents, surrounding spaces and
/// repeated inner spaces: "São Paulo" = "sao  paulo ". Allocation-free (runs per invoice).
pub fn same_place(a: &str, b: &str) -> bool {
    folded(a).eq(folded(b))
}

fn folded(s: &str) -> impl Iterator<Item = char> + '_ {
    let mut previous_space = true; // drops leading spaces
    s.trim_end()
        .chars()
        .filter_map(move |c| {
            if c.is_whitespace() {
                if previous_space {
                    return None;
                }
                previous_space = true;
                return Some(' ');
            }
            previous_space = false;
            Some(fold_char(c))
        })
        .flat_map(char::to_lowercase)
}

fn fold_char(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ã' | 'ä' | 'Á' | 'À' | 'Â' | 'Ã' | 'Ä' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => 'i',
        'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'Ó' | 'Ò' | 'Ô' | 'Õ' | 'Ö' => 'o',
        'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ù' | 'Û' | 'Ü' => 'u',
        'ç' | 'Ç' => 'c',
        'ñ' | 'Ñ' => 'n',
        other => other,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    pub(crate) fn facts(id: &str, customer: &str, due: Date) -> InvoiceFacts {
        InvoiceFacts {
            invoice_id: id.into(),
            customer_id: customer.into(),
            contract_id: Some(format!("c-{customer}")),
            due,
            amount_cents: 9_990,
            person: DocumentKind::Cpf,
            plan_value_cents: Some(9_990),
            city: Some("Fortaleza".into()),
            region: Some("Centro".into()),
            late_payments_last_12m: 1,
            paid: false,
            suspended: false,
            opted_out: false,
            has_wa_id: true,
            time_zone: None,
        }
    }

    #[test]
    fn timing_boundaries() {
        use Timing::*;
        let cases = [
            (-5, DueSoon),
            (0, DueSoon),
            (1, Overdue1To3),
            (3, Overdue1To3),
            (4, Overdue4To10),
            (10, Overdue4To10),
            (11, Overdue11Plus),
            (400, Overdue11Plus),
        ];
        for (days, want) in cases {
            assert_eq!(Timing::from_days_from_due(days), want, "{days}");
        }
    }

    #[test]
    fn behaviour_thresholds() {
        assert_eq!(Behaviour::classify(0, 3), Behaviour::GoodPayer);
        assert_eq!(Behaviour::classify(2, 3), Behaviour::Regular);
        assert_eq!(Behaviour::classify(3, 3), Behaviour::RepeatDefaulter);
        assert_eq!(Behaviour::classify(1, 1), Behaviour::RepeatDefaulter);
    }

    #[test]
    fn segment_display_is_portuguese() {
        let f = InvoiceFacts {
            late_payments_last_12m: 0,
            ..facts("i", "c", date(2026, 11, 10))
        };
        assert_eq!(Segment::of(2, &f, 3).to_string(), "Atraso 1–3, bom pagador");
        assert_eq!(Segment::of(-1, &f, 3).to_string(), "A vencer, bom pagador");
    }

    #[test]
    fn filter_by_plan_value_person_city_region() {
        let f = facts("i", "c", date(2026, 11, 10));
        let seg = Segment::of(2, &f, 3);
        assert!(SegmentFilter::default().matches(&f, seg));
        let premium = SegmentFilter {
            plan_value_cents: Some(CentsRange {
                min: Some(20_000),
                max: None,
            }),
            ..Default::default()
        };
        assert!(!premium.matches(&f, seg));
        let cheap = SegmentFilter {
            plan_value_cents: Some(CentsRange {
                min: None,
                max: Some(9_990),
            }),
            ..Default::default()
        };
        assert!(cheap.matches(&f, seg));
        let unknown_value = InvoiceFacts {
            plan_value_cents: None,
            ..f.clone()
        };
        assert!(!cheap.matches(&unknown_value, seg));
        let companies = SegmentFilter {
            person: Some(DocumentKind::Cnpj),
            ..Default::default()
        };
        assert!(!companies.matches(&f, seg));
        let company = InvoiceFacts {
            person: DocumentKind::Cnpj,
            ..f.clone()
        };
        assert!(companies.matches(&company, seg));
        let city = SegmentFilter {
            cities: vec!["  fortaleza".into()],
            regions: vec!["CENTRO".into()],
            ..Default::default()
        };
        assert!(city.matches(&f, seg));
        let other_city = SegmentFilter {
            cities: vec!["Sobral".into()],
            ..Default::default()
        };
        assert!(!other_city.matches(&f, seg));
        let no_city = InvoiceFacts {
            city: None,
            ..f.clone()
        };
        assert!(!city.matches(&no_city, seg));
    }

    #[test]
    fn filter_by_segment_axes() {
        let f = facts("i", "c", date(2026, 11, 10));
        let filter = SegmentFilter {
            timing: vec![Timing::Overdue4To10, Timing::Overdue11Plus],
            behaviour: vec![Behaviour::Regular],
            ..Default::default()
        };
        assert!(!filter.matches(&f, Segment::of(3, &f, 3)));
        assert!(filter.matches(&f, Segment::of(4, &f, 3)));
        assert!(filter.matches(&f, Segment::of(30, &f, 3)));
        assert!(!filter.matches(&f, Segment::of(30, &f, 1)));
    }

    #[test]
    fn paused_regions() {
        let f = facts("i", "c", date(2026, 11, 10));
        assert!(!PausedRegions::default().pauses(&f));
        let outage = PausedRegions {
            cities: vec!["São Paulo".into()],
            regions: vec![],
        };
        let sp = InvoiceFacts {
            city: Some("SAO PAULO".into()),
            ..f.clone()
        };
        assert!(outage.pauses(&sp));
        assert!(!outage.pauses(&f));
        let pop = PausedRegions {
            cities: vec![],
            regions: vec!["centro".into()],
        };
        assert!(pop.pauses(&f));
    }

    #[test]
    fn place_names_compare_loosely() {
        assert!(same_place("São Paulo", "sao paulo"));
        assert!(same_place(" Maracanaú ", "MARACANAU"));
        assert!(same_place("Juazeiro  do Norte", "juazeiro do norte"));
        assert!(!same_place("São Paulo", "São Paulo do Potengi"));
        assert!(!same_place("Crato", "Crateús"));
    }

    proptest! {
        #[test]
        fn same_place_is_reflexive_and_case_blind(s in "[a-zA-Zçãéô ]{0,20}") {
            prop_assert!(same_place(&s, &s));
            prop_assert!(same_place(&s.to_uppercase(), &s));
            let padded = format!("  {s}  ");
            prop_assert!(same_place(&padded, &s));
        }

        #[test]
        fn timing_is_monotonic(a in -400i32..400, b in -400i32..400) {
            let rank = |t: Timing| t as u8;
            if a <= b {
                prop_assert!(rank(Timing::from_days_from_due(a)) <= rank(Timing::from_days_from_due(b)));
            }
        }
    }
}
