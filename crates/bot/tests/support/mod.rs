//! Scripted conversations: feed inputs to the bot like the engine would, look at the actions.
//! Every step round-trips the state through JSON, as the engine stores it.

#![allow(dead_code)]

use balcao_bot::{
    Action, BotContext, BotState, ErpFailure, ErpOutcome, Input, LadderReminder, Limits,
    Resolution, Stage, Texts, step,
};
use balcao_domain::WaId;
use balcao_domain::br::Document;
use balcao_domain::outbound::OutboundContent;
use balcao_domain::webhook::MediaKind;
use balcao_erp::{
    ConnectionStatus, Contract, ContractStatus, Customer, Invoice, InvoiceStatus, PaymentMethod,
    System, Ticket, UnlockRefusal, UnlockResult,
};
use balcao_intent::{Matcher, Sector};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use std::sync::OnceLock;

pub const PROTOCOL: &str = "20261121-000123";
/// 09:14 in São Paulo.
pub const STARTED_AT: &str = "2026-11-21T12:14:00Z";
pub const WA_ID: &str = "5511987654321";
pub const CPF: &str = "52998224725";
pub const OTHER_CPF: &str = "11144477735";
pub const PIX: &str = "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D";
pub const LINE: &str = "10492006506100010004200997263900989810000021403";
pub const PDF: &str = "https://erp.example.com/boleto/1.pdf";

pub fn matcher() -> &'static Matcher {
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    MATCHER.get_or_init(Matcher::default)
}

pub fn time_zone() -> TimeZone {
    TimeZone::get("America/Sao_Paulo").expect("bundled zone")
}

pub fn customer() -> Customer {
    Customer {
        system: System::Ixc,
        erp_id: "42".into(),
        document: Some(Document::parse(CPF).unwrap()),
        name: "MARIA DA SILVA".into(),
        phones: vec!["11987654321".into()],
        emails: vec!["Maria@Example.com".into()],
    }
}

/// A customer registered with another phone (found by document from this number).
pub fn stranger_customer() -> Customer {
    Customer {
        system: System::Ixc,
        erp_id: "77".into(),
        document: Some(Document::parse(OTHER_CPF).unwrap()),
        name: "JOÃO PEREIRA".into(),
        phones: vec!["21 99876-5432".into()],
        emails: vec!["joao@example.com".into()],
    }
}

pub fn contract(id: &str, status: ContractStatus) -> Contract {
    Contract {
        erp_id: id.into(),
        customer_erp_id: "42".into(),
        plan_name: Some(format!("Fibra 300 ({id})")),
        monthly_cents: Some(9990),
        status,
        raw_status: "A".into(),
        online: None,
        login: Some("maria".into()),
    }
}

pub fn methods() -> Vec<PaymentMethod> {
    vec![
        PaymentMethod::Boleto {
            digitable_line: LINE.into(),
            barcode: None,
            pdf_url: Some(PDF.into()),
        },
        PaymentMethod::Pix {
            copy_paste: PIX.into(),
            expires_at: None,
        },
    ]
}

/// Due 2026-12-10 (after "today", 2026-11-21), R$ 99,90.
pub fn open_invoice(id: &str) -> Invoice {
    Invoice {
        erp_id: id.into(),
        contract_id: Some("c1".into()),
        due_date: jiff::civil::date(2026, 12, 10),
        amount_cents: 9990,
        amount_due_cents: None,
        fine_cents: None,
        interest_cents: None,
        paid_cents: None,
        status: InvoiceStatus::Open,
        paid_at: None,
        payment_methods: methods(),
    }
}

/// Due 2026-11-10, R$ 99,90 face value, R$ 102,59 with fine and interest.
pub fn overdue_invoice(id: &str) -> Invoice {
    Invoice {
        erp_id: id.into(),
        contract_id: Some("c1".into()),
        due_date: jiff::civil::date(2026, 11, 10),
        amount_cents: 9990,
        amount_due_cents: Some(10259),
        fine_cents: Some(200),
        interest_cents: Some(69),
        paid_cents: None,
        status: InvoiceStatus::Overdue,
        paid_at: None,
        payment_methods: methods(),
    }
}

pub fn granted(until: Option<jiff::civil::Date>, days: Option<u32>) -> UnlockResult {
    UnlockResult {
        granted: true,
        until,
        days,
        protocol: Some("LIB-555".into()),
        refusal: None,
        erp_message: None,
    }
}

pub fn refused(refusal: UnlockRefusal) -> UnlockResult {
    UnlockResult::refused(refusal, Some("mensagem do ERP".into()))
}

pub fn connection(
    online: Option<bool>,
    blocked: Option<bool>,
    status: Option<ContractStatus>,
) -> ConnectionStatus {
    ConnectionStatus {
        online,
        blocked,
        contract_status: status,
        erp_message: None,
    }
}

pub fn ticket(protocol: &str) -> Ticket {
    Ticket {
        erp_id: Some("9".into()),
        protocol: protocol.into(),
        kind: None,
        status: None,
        opened_at: STARTED_AT.parse().unwrap(),
        description: String::new(),
    }
}

/// The ladder's D+3 reminder about `invoice`.
pub fn reminder(invoice: &str) -> LadderReminder {
    LadderReminder {
        invoice_id: invoice.into(),
        step: Some("d+3".into()),
    }
}

pub fn down() -> ErpFailure {
    ErpFailure::Unavailable {
        detail: "o sistema de gestão não respondeu a tempo".into(),
    }
}

pub fn not_supported() -> ErpFailure {
    ErpFailure::NotSupported {
        detail: "não oferece".into(),
    }
}

/// A conversation under test.
pub struct Script {
    pub state: BotState,
    pub texts: Texts,
    pub now: Timestamp,
    pub wa_id: WaId,
    pub limits: Limits,
    pub business_name: String,
}

impl Default for Script {
    fn default() -> Self {
        Script::new()
    }
}

impl Script {
    pub fn new() -> Script {
        let started: Timestamp = STARTED_AT.parse().unwrap();
        Script {
            state: BotState::new(PROTOCOL, started),
            texts: Texts::default(),
            now: started,
            wa_id: WaId::parse(WA_ID).unwrap(),
            limits: Limits::default(),
            business_name: "Rede Rápida".into(),
        }
    }

    pub fn with_texts(texts: Texts) -> Script {
        Script {
            texts,
            ..Script::new()
        }
    }

    pub fn feed(&mut self, input: Input) -> Turn {
        let ctx = BotContext {
            matcher: matcher(),
            texts: &self.texts,
            now: self.now,
            time_zone: time_zone(),
            business_name: &self.business_name,
            limits: self.limits,
        };
        let actions = step(&mut self.state, input, &ctx);
        let json = serde_json::to_string(&self.state).expect("state serialises");
        let restored: BotState = serde_json::from_str(&json).expect("state deserialises");
        assert_eq!(restored, self.state, "state must survive JSON storage");
        self.state = restored;
        Turn(actions)
    }

    /// An inbound message five seconds after the last one.
    pub fn inbound(
        &mut self,
        text: Option<&str>,
        reply_id: Option<&str>,
        media: Option<MediaKind>,
        reminder: Option<LadderReminder>,
    ) -> Turn {
        self.now += SignedDuration::from_secs(5);
        self.feed(Input::Inbound {
            text: text.map(str::to_owned),
            reply_id: reply_id.map(str::to_owned),
            wa_id: self.wa_id.clone(),
            at: self.now,
            media,
            reminder,
        })
    }

    pub fn say(&mut self, text: &str) -> Turn {
        self.inbound(Some(text), None, None, None)
    }

    /// Taps a button or list row (the engine passes its title as text).
    pub fn tap(&mut self, reply_id: &str, title: &str) -> Turn {
        self.inbound(Some(title), Some(reply_id), None, None)
    }

    /// An audio message (no text).
    pub fn media(&mut self) -> Turn {
        self.inbound(None, None, Some(MediaKind::Audio), None)
    }

    /// A photo without a caption.
    pub fn photo(&mut self) -> Turn {
        self.inbound(None, None, Some(MediaKind::Image), None)
    }

    /// Taps a quick reply of a ladder reminder (`ladder:<code>:<invoice>`) whose template the
    /// engine found (step `d+3`).
    pub fn tap_reminder(&mut self, payload: &str, title: &str) -> Turn {
        let invoice = payload.splitn(3, ':').nth(2).unwrap_or_default();
        self.inbound(Some(title), Some(payload), None, Some(reminder(invoice)))
    }

    /// Types `text` after the ladder's reminder about `invoice` (step `d+3`).
    pub fn say_after_reminder(&mut self, text: &str, invoice: &str) -> Turn {
        self.inbound(Some(text), None, None, Some(reminder(invoice)))
    }

    pub fn erp(&mut self, outcome: ErpOutcome) -> Turn {
        self.now += SignedDuration::from_secs(1);
        self.feed(Input::Erp(outcome))
    }

    /// Fires the armed inactivity timer at its due time.
    pub fn fire_timer(&mut self) -> Turn {
        let due = self.state.inactivity().expect("timer armed").due_at;
        self.now = due;
        self.feed(Input::InactivityTimer { at: due })
    }

    /// "oi" from a number the ERP knows: ends on the main menu.
    pub fn identified() -> Script {
        let mut script = Script::new();
        script.say("oi");
        script.erp(ErpOutcome::CustomersByPhone(Ok(vec![customer()])));
        assert_eq!(script.state.stage(), Stage::Menu);
        script
    }
}

/// The actions of one step.
#[derive(Debug)]
pub struct Turn(pub Vec<Action>);

impl Turn {
    pub fn sends(&self) -> Vec<&OutboundContent> {
        self.0
            .iter()
            .filter_map(|a| match a {
                Action::Send(content) => Some(content),
                _ => None,
            })
            .collect()
    }

    /// Everything the subscriber reads: bodies, captions, button and row titles, descriptions.
    pub fn text(&self) -> String {
        let mut out = Vec::new();
        for content in self.sends() {
            out.push(content.display_text());
            match content {
                OutboundContent::Buttons { buttons, .. } => {
                    out.extend(buttons.iter().map(|b| b.title.clone()))
                }
                OutboundContent::List { sections, .. } => {
                    for row in sections.iter().flat_map(|s| s.rows.iter()) {
                        out.push(row.title.clone());
                        out.extend(row.description.clone());
                    }
                }
                OutboundContent::Document { link, .. } => out.push(link.clone()),
                _ => {}
            }
        }
        out.join("\n")
    }

    #[track_caller]
    pub fn says(&self, needle: &str) -> &Self {
        let text = self.text();
        assert!(
            text.contains(needle),
            "expected {needle:?} in:\n{text}\nactions: {:#?}",
            self.0
        );
        self
    }

    #[track_caller]
    pub fn does_not_say(&self, needle: &str) -> &Self {
        let text = self.text();
        assert!(
            !text.contains(needle),
            "did not expect {needle:?} in:\n{text}"
        );
        self
    }

    pub fn button_ids(&self) -> Vec<String> {
        self.sends()
            .into_iter()
            .flat_map(|c| match c {
                OutboundContent::Buttons { buttons, .. } => {
                    buttons.iter().map(|b| b.id.clone()).collect()
                }
                _ => Vec::new(),
            })
            .collect()
    }

    pub fn row_ids(&self) -> Vec<String> {
        self.sends()
            .into_iter()
            .flat_map(|c| match c {
                OutboundContent::List { sections, .. } => sections
                    .iter()
                    .flat_map(|s| s.rows.iter().map(|r| r.id.clone()))
                    .collect(),
                _ => Vec::new(),
            })
            .collect()
    }

    pub fn erp_actions(&self) -> Vec<&Action> {
        self.0.iter().filter(|a| a.is_erp()).collect()
    }

    #[track_caller]
    pub fn erp_action(&self) -> &Action {
        let actions = self.erp_actions();
        assert_eq!(actions.len(), 1, "expected one ERP action: {:#?}", self.0);
        actions[0]
    }

    pub fn handoff(&self) -> Option<(Sector, String)> {
        self.0.iter().find_map(|a| match a {
            Action::Handoff { sector, summary } => Some((*sector, summary.clone())),
            _ => None,
        })
    }

    #[track_caller]
    pub fn hands_off_to(&self, expected: Sector) -> String {
        let (sector, summary) = self
            .handoff()
            .unwrap_or_else(|| panic!("expected a handoff: {:#?}", self.0));
        assert_eq!(sector, expected, "summary: {summary}");
        assert_eq!(self.resolution(), Some(Resolution::HandedOff));
        summary
    }

    pub fn tags(&self) -> Vec<String> {
        self.0
            .iter()
            .filter_map(|a| match a {
                Action::Tag(tag) => Some(tag.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn resolution(&self) -> Option<Resolution> {
        self.0.iter().find_map(|a| match a {
            Action::Resolve(r) => Some(*r),
            _ => None,
        })
    }

    pub fn records(&self, kind: &str) -> Vec<serde_json::Value> {
        self.0
            .iter()
            .filter_map(|a| match a {
                Action::Record { kind: k, data } if *k == kind => Some(data.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn closes(&self) -> bool {
        self.0.iter().any(|a| matches!(a, Action::Close))
    }

    pub fn schedules(&self) -> Option<Timestamp> {
        self.0.iter().find_map(|a| match a {
            Action::ScheduleInactivity { at } => Some(*at),
            _ => None,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
