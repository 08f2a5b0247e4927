//! The planner: for each open invoice, which step is due now, and whether it may go out.
//!
//! Rules, in the order they apply to one invoice:
//! 1. The invoice's segment picks its ladder ([`SegmentRule`], first match, else the default).
//! 2. The **current step** is the latest step whose day has come, while it is still current: a
//!    step stays current until the next step's day, the last one for
//!    [`Ladder::last_step_grace_days`] more days. Nothing is due before the first step or after
//!    the ladder ends.
//! 3. A current step already handled (`already_sent(invoice, step)` — sent, or recorded obsolete)
//!    yields nothing: each (invoice, step) goes out at most once.
//! 4. Otherwise it may be skipped for now, with a [`SkipReason`]: paid, opted out, no WhatsApp id,
//!    paused region, contract already suspended (for steps that warn of suspension), unknown time
//!    zone, outside legal hours today, or the subscriber already got a ladder message today
//!    (`sent_today(customer, local_date)`: was a ladder message planned for this subscriber for
//!    that date of their time zone — see [`PlannedSend::local_date`]).
//!    These are re-evaluated on the next run.
//! 5. **One message per subscriber per day**: among a subscriber's invoices with a step to send,
//!    the most urgent (step kind, then days late, then amount) goes; the others wait.
//! 6. **Catch-up without a flood**: when a step is planned, the earlier steps of its ladder that
//!    never went out are reported [`SkipReason::Obsolete`] — they are never sent. Record them as
//!    handled so they are reported once.
//!
//! A send is planned only when the subscriber's legal window is open today (local date): the
//! planned send carries the window (`send_not_before` ≥ now, `send_not_after` = the window's end),
//! so a run at 06:00 plans for 08:00, while a run on Saturday plans nothing and says when the next
//! window opens; the run at that time decides what is current then (so a message deferred over a
//! weekend never arrives stale).

use crate::ladder::{Ladder, LadderError, Step, Variant};
use crate::legal::{LegalHours, LegalWindow};
use crate::segment::{InvoiceFacts, PausedRegions, Segment, SegmentRule};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

fn default_repeat_defaulter_min_late() -> u32 {
    3
}

/// A workspace's ladder settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanConfig {
    /// The workspace's ladders by name.
    pub ladders: BTreeMap<String, Ladder>,
    /// The ladder of invoices no rule matches.
    pub default_ladder: String,
    /// Checked in order; the first match decides.
    #[serde(default)]
    pub rules: Vec<SegmentRule>,
    #[serde(default)]
    pub paused: PausedRegions,
    #[serde(default)]
    pub legal: LegalHours,
    /// Late payments in 12 months from which a subscriber is a repeat defaulter (≥ 1).
    #[serde(default = "default_repeat_defaulter_min_late")]
    pub repeat_defaulter_min_late: u32,
}

/// The default ladder's name in [`PlanConfig::default`].
pub const DEFAULT_LADDER: &str = "padrao";
/// The good payers' ladder's name in [`PlanConfig::default`].
pub const GOOD_PAYER_LADDER: &str = "bom_pagador";

impl Default for PlanConfig {
    /// [`Ladder::default_pt_br`] for everyone but good payers, who get
    /// [`Ladder::good_payer_pt_br`]; Mon–Fri 08:00–18:00 São Paulo time; repeat defaulter from 3
    /// late payments.
    fn default() -> Self {
        PlanConfig {
            ladders: BTreeMap::from([
                (DEFAULT_LADDER.to_owned(), Ladder::default_pt_br()),
                (GOOD_PAYER_LADDER.to_owned(), Ladder::good_payer_pt_br()),
            ]),
            default_ladder: DEFAULT_LADDER.to_owned(),
            rules: vec![SegmentRule {
                name: "Bom pagador".to_owned(),
                when: crate::segment::SegmentFilter {
                    behaviour: vec![crate::segment::Behaviour::GoodPayer],
                    ..Default::default()
                },
                ladder: Some(GOOD_PAYER_LADDER.to_owned()),
                skip_steps: Vec::new(),
            }],
            paused: PausedRegions::default(),
            legal: LegalHours::default(),
            repeat_defaulter_min_late: default_repeat_defaulter_min_late(),
        }
    }
}

/// Why ladder settings cannot be used. Shown to the provider as is (pt-BR).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("régua {name:?}: {source}")]
    Ladder { name: String, source: LadderError },
    #[error("a régua padrão {0:?} não existe")]
    DefaultLadderMissing(String),
    #[error("a regra {rule:?} usa a régua {ladder:?}, que não existe")]
    UnknownLadder { rule: String, ladder: String },
    #[error("a regra {rule:?} pula a etapa {step:?}, que não existe na régua")]
    UnknownStep { rule: String, step: String },
    #[error("a regra {rule:?} pula todas as etapas da régua")]
    RuleSkipsEveryStep { rule: String },
    #[error("inadimplente recorrente precisa de pelo menos 1 atraso nos últimos 12 meses")]
    RepeatDefaulterThreshold,
}

/// One ladder as a segment sees it: its steps minus the skipped ones.
#[derive(Debug)]
struct Track<'a> {
    rule: Option<&'a str>,
    steps: Vec<&'a Step>,
    grace_days: i32,
}

impl Track<'_> {
    /// The index of the current step for an invoice `days_from_due` days from its due date.
    fn current(&self, days_from_due: i32) -> Option<usize> {
        let after = self
            .steps
            .partition_point(|s| s.offset_days <= days_from_due);
        let index = after.checked_sub(1)?;
        let last = index + 1 == self.steps.len();
        let expired = last
            && i64::from(days_from_due)
                > i64::from(self.steps[index].offset_days) + i64::from(self.grace_days);
        (!expired).then_some(index)
    }
}

/// A validated [`PlanConfig`], ready to plan many runs.
#[derive(Debug)]
pub struct Planner<'a> {
    config: &'a PlanConfig,
    /// `[0]` is the default ladder, `[i + 1]` the track of `config.rules[i]`.
    tracks: Vec<Track<'a>>,
}

/// A message to send: an invoice's step, in a legal window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedSend<'a> {
    pub invoice: &'a InvoiceFacts,
    pub step: &'a Step,
    /// The A/B arm, when the step has variants.
    pub variant: Option<&'a Variant>,
    /// Not before this moment (≥ the run's `now`, inside legal hours)...
    pub send_not_before: Timestamp,
    /// ...and not after this one (the legal window's end); past it, plan again.
    pub send_not_after: Timestamp,
    /// The subscriber's local date the send belongs to: record it, `sent_today` asks about it.
    pub local_date: Date,
    pub reason: Reason<'a>,
}

impl<'a> PlannedSend<'a> {
    pub fn invoice_id(&self) -> &'a str {
        &self.invoice.invoice_id
    }

    pub fn customer_id(&self) -> &'a str {
        &self.invoice.customer_id
    }

    pub fn step_key(&self) -> &'a str {
        &self.step.key
    }

    /// The template to send (the A/B arm's, else the step's).
    pub fn template(&self) -> &'a str {
        self.variant
            .map_or(self.step.template.name.as_str(), |v| v.template.as_str())
    }

    /// The outbox idempotency key: one message per (invoice, step), across restarts and nodes.
    pub fn idempotency_key(&self) -> String {
        idempotency_key(self.step_key(), self.invoice_id())
    }
}

/// `ladder:<step>:<invoice>`; step keys cannot contain ':' (see [`Ladder::validate`]).
pub fn idempotency_key(step_key: &str, invoice_id: &str) -> String {
    format!("ladder:{step_key}:{invoice_id}")
}

/// Why a step was planned: renders as "D+3: 3 dias em atraso, segmento Atraso 1–3, pagador regular".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reason<'a> {
    pub step_key: &'a str,
    /// Today minus the due date, in the subscriber's time zone.
    pub days_from_due: i32,
    pub segment: Segment,
    /// The segment rule that chose the ladder, if any.
    pub rule: Option<&'a str>,
    /// Earlier steps never sent, now obsolete (a catch-up).
    pub superseded_steps: u32,
}

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.step_key.chars() {
            write!(f, "{}", c.to_ascii_uppercase())?;
        }
        f.write_str(": ")?;
        write_days(f, self.days_from_due)?;
        write!(f, ", segmento {}", self.segment)?;
        if let Some(rule) = self.rule {
            write!(f, " (regra \"{rule}\")")?;
        }
        match self.superseded_steps {
            0 => Ok(()),
            1 => f.write_str("; 1 etapa anterior não enviada ficou obsoleta"),
            n => write!(f, "; {n} etapas anteriores não enviadas ficaram obsoletas"),
        }
    }
}

fn write_days(f: &mut fmt::Formatter<'_>, days_from_due: i32) -> fmt::Result {
    match days_from_due {
        i32::MIN..=-2 => write!(f, "vence em {} dias", -i64::from(days_from_due)),
        -1 => f.write_str("vence amanhã"),
        0 => f.write_str("vence hoje"),
        1 => f.write_str("1 dia em atraso"),
        n => write!(f, "{n} dias em atraso"),
    }
}

/// A step that is due but does not go out in this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Skip<'a> {
    pub invoice: &'a InvoiceFacts,
    pub step: &'a Step,
    pub reason: SkipReason<'a>,
}

impl<'a> Skip<'a> {
    pub fn invoice_id(&self) -> &'a str {
        &self.invoice.invoice_id
    }

    pub fn customer_id(&self) -> &'a str {
        &self.invoice.customer_id
    }

    pub fn step_key(&self) -> &'a str {
        &self.step.key
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason<'a> {
    Paid,
    OptedOut,
    NoWhatsApp,
    PausedRegion,
    /// The contract is already suspended: warning of suspension makes no sense.
    Suspended,
    /// The invoice names a time zone the database does not know; legal hours cannot be checked.
    UnknownTimeZone,
    /// Legal hours are over for today (or it is a weekend or holiday); `next_allowed` is when the
    /// next window opens (`None`: none within a year).
    OutsideLegalHours {
        next_allowed: Option<Timestamp>,
    },
    /// The subscriber already got a ladder message today.
    AlreadyMessagedToday,
    /// Another invoice of the same subscriber goes today instead.
    MoreUrgentInvoice {
        invoice_id: &'a str,
    },
    /// A later step was planned for this invoice: this one will never be sent.
    Obsolete {
        superseded_by: &'a str,
    },
}

impl SkipReason<'_> {
    /// Final skips should be recorded as handled (never sent later); the others are re-evaluated.
    pub fn is_final(&self) -> bool {
        matches!(self, SkipReason::Obsolete { .. })
    }

    /// A stable machine code for metrics and the store ("opted_out").
    pub fn code(&self) -> &'static str {
        match self {
            SkipReason::Paid => "paid",
            SkipReason::OptedOut => "opted_out",
            SkipReason::NoWhatsApp => "no_whatsapp",
            SkipReason::PausedRegion => "paused_region",
            SkipReason::Suspended => "suspended",
            SkipReason::UnknownTimeZone => "unknown_time_zone",
            SkipReason::OutsideLegalHours { .. } => "outside_legal_hours",
            SkipReason::AlreadyMessagedToday => "already_messaged_today",
            SkipReason::MoreUrgentInvoice { .. } => "more_urgent_invoice",
            SkipReason::Obsolete { .. } => "obsolete",
        }
    }
}

impl fmt::Display for SkipReason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Paid => f.write_str("fatura já paga"),
            SkipReason::OptedOut => f.write_str("assinante pediu para não receber lembretes"),
            SkipReason::NoWhatsApp => f.write_str("assinante sem WhatsApp conhecido"),
            SkipReason::PausedRegion => f.write_str("cobrança pausada na região do assinante"),
            SkipReason::Suspended => f.write_str("contrato já suspenso"),
            SkipReason::UnknownTimeZone => f.write_str("fuso horário do assinante desconhecido"),
            SkipReason::OutsideLegalHours {
                next_allowed: Some(at),
            } => write!(f, "fora do horário permitido; próximo horário: {at}"),
            SkipReason::OutsideLegalHours { next_allowed: None } => {
                f.write_str("fora do horário permitido; nenhum horário livre no próximo ano")
            }
            SkipReason::AlreadyMessagedToday => {
                f.write_str("assinante já recebeu uma mensagem da régua hoje")
            }
            SkipReason::MoreUrgentInvoice { invoice_id } => {
                write!(
                    f,
                    "outra fatura do assinante ({invoice_id}) é mais urgente hoje"
                )
            }
            SkipReason::Obsolete { superseded_by } => {
                f.write_str("etapa obsoleta: substituída por ")?;
                for c in superseded_by.chars() {
                    write!(f, "{}", c.to_ascii_uppercase())?;
                }
                Ok(())
            }
        }
    }
}

/// The outcome of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan<'a> {
    /// At most one per subscriber, ordered by subscriber id.
    pub sends: Vec<PlannedSend<'a>>,
    pub skips: Vec<Skip<'a>>,
}

/// The legal situation of one time zone for one run, computed once per distinct zone.
struct ZoneDay<'i> {
    name: Option<&'i str>,
    known: bool,
    today: Date,
    /// The window to send in, when one opens today (local date).
    window: Option<LegalWindow>,
    next_allowed: Option<Timestamp>,
}

struct Zones<'i, 'c> {
    now: Timestamp,
    legal: &'c LegalHours,
    days: Vec<ZoneDay<'i>>,
    last: usize,
}

impl<'i, 'c> Zones<'i, 'c> {
    fn new(now: Timestamp, legal: &'c LegalHours) -> Self {
        let mut zones = Zones {
            now,
            legal,
            days: Vec::with_capacity(8),
            last: 0,
        };
        let default = legal.time_zone().tz().clone();
        let day = zones.compute(None, Some(&default));
        zones.days.push(day);
        zones
    }

    fn compute(&self, name: Option<&'i str>, tz: Option<&TimeZone>) -> ZoneDay<'i> {
        let known = tz.is_some();
        let tz = tz.unwrap_or(self.legal.time_zone().tz());
        let today = tz.to_datetime(self.now).date();
        let next = self.legal.next_window(self.now, tz);
        let window = next.filter(|w| tz.to_datetime(w.start).date() == today);
        ZoneDay {
            name,
            known,
            today,
            window,
            next_allowed: next.map(|w| w.start),
        }
    }

    /// The slot of a zone name (`None`: the workspace's); a handful of distinct names per run.
    fn slot(&mut self, name: Option<&'i str>) -> usize {
        if self.days[self.last].name == name {
            return self.last;
        }
        let found = match self.days.iter().position(|d| d.name == name) {
            Some(found) => found,
            None => {
                let tz = name.and_then(|n| TimeZone::get(n).ok());
                let day = self.compute(name, tz.as_ref());
                self.days.push(day);
                self.days.len() - 1
            }
        };
        self.last = found;
        found
    }
}

/// An invoice with a step to send, before the one-per-subscriber choice.
struct Candidate<'i> {
    invoice: &'i InvoiceFacts,
    track: u32,
    step: u32,
    zone: u32,
    days_from_due: i32,
    segment: Segment,
}

impl<'a> Planner<'a> {
    /// Validates every ladder and rule and precomputes each segment's steps.
    pub fn new(config: &'a PlanConfig) -> Result<Self, ConfigError> {
        if config.repeat_defaulter_min_late == 0 {
            return Err(ConfigError::RepeatDefaulterThreshold);
        }
        for (name, ladder) in &config.ladders {
            ladder.validate().map_err(|source| ConfigError::Ladder {
                name: name.clone(),
                source,
            })?;
        }
        let default = config
            .ladders
            .get(&config.default_ladder)
            .ok_or_else(|| ConfigError::DefaultLadderMissing(config.default_ladder.clone()))?;
        let mut tracks = vec![Track {
            rule: None,
            steps: default.steps.iter().collect(),
            grace_days: grace(default),
        }];
        for rule in &config.rules {
            let ladder = match &rule.ladder {
                None => default,
                Some(name) => {
                    config
                        .ladders
                        .get(name)
                        .ok_or_else(|| ConfigError::UnknownLadder {
                            rule: rule.name.clone(),
                            ladder: name.clone(),
                        })?
                }
            };
            if let Some(step) = rule
                .skip_steps
                .iter()
                .find(|key| ladder.step(key).is_none())
            {
                return Err(ConfigError::UnknownStep {
                    rule: rule.name.clone(),
                    step: step.clone(),
                });
            }
            let steps: Vec<&Step> = ladder
                .steps
                .iter()
                .filter(|s| !rule.skip_steps.contains(&s.key))
                .collect();
            if steps.is_empty() {
                return Err(ConfigError::RuleSkipsEveryStep {
                    rule: rule.name.clone(),
                });
            }
            tracks.push(Track {
                rule: Some(&rule.name),
                steps,
                grace_days: grace(ladder),
            });
        }
        Ok(Planner { config, tracks })
    }

    pub fn config(&self) -> &'a PlanConfig {
        self.config
    }

    /// The invoice's segment when it is `days_from_due` days from its due date.
    pub fn segment_of(&self, invoice: &InvoiceFacts, days_from_due: i32) -> Segment {
        Segment::of(
            days_from_due,
            invoice,
            self.config.repeat_defaulter_min_late,
        )
    }

    /// The steps that apply to an invoice in `segment` (after the rule's skips), and the rule.
    pub fn steps_for(
        &self,
        invoice: &InvoiceFacts,
        segment: Segment,
    ) -> (Option<&'a str>, &[&'a Step]) {
        let track = &self.tracks[self.track_index(invoice, segment)];
        (track.rule, &track.steps)
    }

    fn track_index(&self, invoice: &InvoiceFacts, segment: Segment) -> usize {
        self.config
            .rules
            .iter()
            .position(|rule| rule.when.matches(invoice, segment))
            .map_or(0, |i| i + 1)
    }

    /// Plans one run. See the module docs for the rules.
    pub fn plan<'i, I, A, T>(
        &self,
        now: Timestamp,
        invoices: I,
        already_sent: &A,
        sent_today: &T,
    ) -> Plan<'i>
    where
        'a: 'i,
        I: IntoIterator<Item = &'i InvoiceFacts>,
        A: Fn(&str, &str) -> bool + ?Sized,
        T: Fn(&str, Date) -> bool + ?Sized,
    {
        let mut skips = Vec::new();
        let sends = self.plan_with(now, invoices, already_sent, sent_today, |skip| {
            skips.push(skip)
        });
        Plan { sends, skips }
    }

    /// [`Planner::plan`] handing each skip to `on_skip` instead of collecting them (a preview can
    /// print them; a daily run over a million invoices can count them without storing them).
    pub fn plan_with<'i, I, A, T, K>(
        &self,
        now: Timestamp,
        invoices: I,
        already_sent: &A,
        sent_today: &T,
        mut on_skip: K,
    ) -> Vec<PlannedSend<'i>>
    where
        'a: 'i,
        I: IntoIterator<Item = &'i InvoiceFacts>,
        A: Fn(&str, &str) -> bool + ?Sized,
        T: Fn(&str, Date) -> bool + ?Sized,
        K: FnMut(Skip<'i>),
    {
        let mut zones = Zones::new(now, &self.config.legal);
        let mut candidates: Vec<Candidate<'i>> = Vec::new();
        for invoice in invoices {
            let zone = zones.slot(invoice.time_zone.as_deref());
            let zone_day = &zones.days[zone];
            let days_from_due = days_between(invoice.due, zone_day.today);
            let segment = self.segment_of(invoice, days_from_due);
            let track_index = self.track_index(invoice, segment);
            let track = &self.tracks[track_index];
            let Some(step_index) = track.current(days_from_due) else {
                continue;
            };
            let step: &'i Step = track.steps[step_index];
            if already_sent(&invoice.invoice_id, &step.key) {
                continue;
            }
            let reason = if invoice.paid {
                Some(SkipReason::Paid)
            } else if invoice.opted_out {
                Some(SkipReason::OptedOut)
            } else if !invoice.has_wa_id {
                Some(SkipReason::NoWhatsApp)
            } else if !self.config.paused.is_empty() && self.config.paused.pauses(invoice) {
                Some(SkipReason::PausedRegion)
            } else if invoice.suspended && step.kind.warns_of_suspension() {
                Some(SkipReason::Suspended)
            } else if !zone_day.known {
                Some(SkipReason::UnknownTimeZone)
            } else if zone_day.window.is_none() {
                Some(SkipReason::OutsideLegalHours {
                    next_allowed: zone_day.next_allowed,
                })
            } else if sent_today(&invoice.customer_id, zone_day.today) {
                Some(SkipReason::AlreadyMessagedToday)
            } else {
                None
            };
            if let Some(reason) = reason {
                on_skip(Skip {
                    invoice,
                    step,
                    reason,
                });
                continue;
            }
            candidates.push(Candidate {
                invoice,
                track: track_index as u32,
                step: step_index as u32,
                zone: zone as u32,
                days_from_due,
                segment,
            });
        }

        candidates.sort_unstable_by(|a, b| {
            a.invoice
                .customer_id
                .cmp(&b.invoice.customer_id)
                .then_with(|| self.more_urgent_first(a, b))
        });

        let mut sends = Vec::with_capacity(candidates.len());
        let mut chosen: Option<&Candidate<'i>> = None;
        for candidate in &candidates {
            if let Some(first) = chosen
                && first.invoice.customer_id == candidate.invoice.customer_id
            {
                on_skip(Skip {
                    invoice: candidate.invoice,
                    step: self.step(candidate),
                    reason: SkipReason::MoreUrgentInvoice {
                        invoice_id: &first.invoice.invoice_id,
                    },
                });
                continue;
            }
            chosen = Some(candidate);
            let track = &self.tracks[candidate.track as usize];
            let step: &'i Step = track.steps[candidate.step as usize];
            let mut superseded_steps = 0;
            for &earlier in &track.steps[..candidate.step as usize] {
                if !already_sent(&candidate.invoice.invoice_id, &earlier.key) {
                    superseded_steps += 1;
                    on_skip(Skip {
                        invoice: candidate.invoice,
                        step: earlier,
                        reason: SkipReason::Obsolete {
                            superseded_by: &step.key,
                        },
                    });
                }
            }
            let window = zones.days[candidate.zone as usize]
                .window
                .expect("candidates have a window today");
            sends.push(PlannedSend {
                invoice: candidate.invoice,
                step,
                variant: step.choose_variant(&candidate.invoice.invoice_id),
                send_not_before: window.start,
                send_not_after: window.end,
                local_date: zones.days[candidate.zone as usize].today,
                reason: Reason {
                    step_key: &step.key,
                    days_from_due: candidate.days_from_due,
                    segment: candidate.segment,
                    rule: track.rule,
                    superseded_steps,
                },
            });
        }
        sends
    }

    fn step<'i>(&self, candidate: &Candidate<'i>) -> &'i Step
    where
        'a: 'i,
    {
        self.tracks[candidate.track as usize].steps[candidate.step as usize]
    }

    /// Most urgent first: step kind, days late, amount; then invoice id so runs are reproducible.
    fn more_urgent_first(&self, a: &Candidate<'_>, b: &Candidate<'_>) -> Ordering {
        let key = |c: &Candidate<'_>| {
            (
                self.step(c).kind.urgency(),
                c.days_from_due,
                c.invoice.amount_cents,
            )
        };
        key(b)
            .cmp(&key(a))
            .then_with(|| a.invoice.invoice_id.cmp(&b.invoice.invoice_id))
    }
}

fn grace(ladder: &Ladder) -> i32 {
    i32::try_from(ladder.last_step_grace_days).unwrap_or(i32::MAX)
}

/// `to − from` in days (civil days: always 24 hours, whatever the time zone did).
fn days_between(from: Date, to: Date) -> i32 {
    (to.duration_since(from).as_secs() / 86_400) as i32
}

/// Validates `config` and plans one run: see [`Planner::plan`]. Build a [`Planner`] once when
/// planning several runs with the same settings.
pub fn plan<'i, I, A, T>(
    now: Timestamp,
    invoices: I,
    already_sent: &A,
    sent_today: &T,
    config: &'i PlanConfig,
) -> Result<Plan<'i>, ConfigError>
where
    I: IntoIterator<Item = &'i InvoiceFacts>,
    A: Fn(&str, &str) -> bool + ?Sized,
    T: Fn(&str, Date) -> bool + ?Sized,
{
    Ok(Planner::new(config)?.plan(now, invoices, already_sent, sent_today))
}
