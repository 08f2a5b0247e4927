//! The conversation logic: one [`step`] per input, returning the actions for the engine.

use crate::compose::{self, Row};
use crate::context::BotContext;
use crate::format;
use crate::io::{Action, ErpFailure, ErpOutcome, Input, LadderReminder, Resolution, Waiting};
use crate::ladder::{LadderAsk, LadderPayload, NegotiationOption};
use crate::state::{BotState, Flow, Identified, Inactivity, InactivityPhase, Stage, Verification};
use crate::summary::handoff_summary;
use crate::texts::render;
use balcao_domain::WaId;
use balcao_domain::br::{BrPhone, CnpjError, CpfError, Document, DocumentError, same_subscriber};
use balcao_domain::outbound::OutboundContent;
use balcao_domain::webhook::MediaKind;
use balcao_erp::{
    ConnectionStatus, Contract, ContractStatus, Customer, Invoice, InvoiceStatus, NewTicket,
    Ticket, UnlockRefusal, UnlockResult,
};
use balcao_intent::{
    Classification, Extracted, Intent, PaymentMethodHint, Sector, match_reply_id, normalize,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

mod reminders;

/// Advances the conversation by one input. Pure: reads `ctx`, mutates `state`, returns what the
/// engine must do, in order. Never panics; every inbound message gets at least one
/// [`Action::Send`] or an [`Action::Handoff`].
pub fn step(state: &mut BotState, input: Input, ctx: &BotContext<'_>) -> Vec<Action> {
    let mut turn = Turn {
        state,
        ctx,
        actions: Vec::new(),
        inbound: false,
        timer_armed: false,
    };
    match input {
        Input::Inbound {
            text,
            reply_id,
            wa_id,
            at,
            media,
            reminder,
        } => turn.inbound(
            Inbound {
                text,
                reply_id,
                media,
                reminder,
            },
            wa_id,
            at,
        ),
        Input::Erp(outcome) => turn.erp(outcome),
        Input::InactivityTimer { at } => turn.timer(at),
    }
    turn.finish()
}

/// Lines of a debts list shown before "… and N more".
const DEBT_LINES_MAX: usize = 20;
/// Menu options, in the order of their numbers.
const MENU_SIZE: u32 = 5;

/// What an inbound message carries besides who sent it and when.
struct Inbound {
    text: Option<String>,
    reply_id: Option<String>,
    media: Option<MediaKind>,
    reminder: Option<LadderReminder>,
}

/// A tapped button or row of the bot's own (ids `bot:…`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BotReply {
    Pick {
        list: PickList,
        number: usize,
    },
    NoneOfThese,
    Pix,
    Boleto,
    Negotiate,
    /// One of the negotiation options of a reminder's invoice.
    Negotiation(NegotiationOption),
    /// "Não tenho" when asked for the receipt.
    NoReceipt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PickList {
    Customer,
    Contract,
    Invoice,
}

impl PickList {
    fn prefix(self) -> &'static str {
        match self {
            PickList::Customer => "bot:customer:",
            PickList::Contract => "bot:contract:",
            PickList::Invoice => "bot:invoice:",
        }
    }
}

/// The "Não tenho" button under the receipt request.
const RECEIPT_NONE_ID: &str = "bot:receipt:none";

fn parse_bot_reply(id: &str) -> Option<BotReply> {
    let id = id.trim();
    match id {
        "bot:pix" => return Some(BotReply::Pix),
        "bot:boleto" => return Some(BotReply::Boleto),
        "bot:negotiate" => return Some(BotReply::Negotiate),
        "bot:customer:none" => return Some(BotReply::NoneOfThese),
        RECEIPT_NONE_ID => return Some(BotReply::NoReceipt),
        _ => {}
    }
    if let Some(option) = NegotiationOption::of_reply_id(id) {
        return Some(BotReply::Negotiation(option));
    }
    [PickList::Customer, PickList::Contract, PickList::Invoice]
        .into_iter()
        .find_map(|list| {
            let number = id.strip_prefix(list.prefix())?.parse().ok()?;
            Some(BotReply::Pick { list, number })
        })
}

/// What an inbound message means.
struct Understood {
    text: String,
    reply: Option<BotReply>,
    /// A quick reply of a ladder reminder (`ladder:…`), valid or not.
    ladder: Option<LadderPayload>,
    /// The kind of a media message (with or without a caption).
    media: Option<MediaKind>,
    intent: Intent,
    confidence: f32,
    extracted: Extracted,
    source: &'static str,
}

impl Understood {
    fn is_media(&self) -> bool {
        self.source == "media"
    }

    /// The button of a ladder reminder the subscriber tapped.
    fn ladder_button(&self) -> Option<balcao_ladder::ButtonAction> {
        match &self.ladder {
            Some(LadderPayload::Button { action, .. }) => Some(*action),
            _ => None,
        }
    }
}

fn flow_of(intent: Intent, extracted: &Extracted) -> Option<Flow> {
    match intent {
        Intent::Invoice => Some(Flow::Invoice {
            method: extracted.payment_method.unwrap_or(PaymentMethodHint::Any),
        }),
        Intent::Debts => Some(Flow::Debts),
        Intent::Unlock => Some(Flow::Unlock),
        Intent::Connection => Some(Flow::Connection),
        _ => None,
    }
}

/// Words that end a conversation in the "anything else?" step, which the matcher does not
/// know as such ("tchau", "era só isso").
fn is_closing(normalized: &str) -> bool {
    const CLOSERS: [&str; 9] = [
        "tchau",
        "so isso",
        "era isso",
        "nada mais",
        "mais nada",
        "pode encerrar",
        "encerrar",
        "valeu",
        "falou",
    ];
    CLOSERS
        .iter()
        .any(|closer| contains_words(normalized, closer))
}

fn contains_words(normalized: &str, phrase: &str) -> bool {
    format!(" {normalized} ").contains(&format!(" {phrase} "))
}

/// Answer to "did the connection come back?" beyond the matcher's yes/no.
fn connection_answer(understood: &Understood) -> Option<bool> {
    match understood.intent {
        Intent::Yes => return Some(true),
        Intent::No | Intent::Connection => return Some(false),
        _ => {}
    }
    let normalized = normalize(&understood.text);
    const STILL_DOWN: [&str; 5] = ["nao", "continua", "ainda", "nada", "piorou"];
    const BACK: [&str; 5] = ["voltou", "funcionou", "resolveu", "normalizou", "ok"];
    if STILL_DOWN.iter().any(|w| contains_words(&normalized, w)) {
        Some(false)
    } else if BACK.iter().any(|w| contains_words(&normalized, w)) {
        Some(true)
    } else {
        None
    }
}

fn phones_of(customer: &Customer) -> Vec<BrPhone> {
    customer
        .phones
        .iter()
        .filter_map(|phone| BrPhone::parse(phone).ok())
        .collect()
}

fn emails_of(customer: &Customer) -> Vec<String> {
    customer
        .emails
        .iter()
        .map(|email| email.trim().to_lowercase())
        .filter(|email| email.contains('@'))
        .collect()
}

fn dedupe_customers(customers: Vec<Customer>) -> Vec<Customer> {
    let mut out: Vec<Customer> = Vec::new();
    for customer in customers {
        if !out.iter().any(|seen| seen.erp_id == customer.erp_id) {
            out.push(customer);
        }
    }
    out
}

/// Contracts worth offering: not cancelled, unless that is all there is.
fn selectable(contracts: &[Contract]) -> Vec<Contract> {
    let live: Vec<Contract> = contracts
        .iter()
        .filter(|c| c.status != ContractStatus::Cancelled)
        .cloned()
        .collect();
    if live.is_empty() {
        contracts.to_vec()
    } else {
        live
    }
}

fn sector_label(texts: &crate::Texts, sector: Sector) -> &str {
    match sector {
        Sector::Billing => &texts.sector_billing,
        Sector::Support => &texts.sector_support,
        Sector::Sales => &texts.sector_sales,
        Sector::Cancellation => &texts.sector_cancellation,
    }
}

struct Turn<'s, 'c> {
    state: &'s mut BotState,
    ctx: &'c BotContext<'c>,
    actions: Vec<Action>,
    inbound: bool,
    timer_armed: bool,
}

impl<'c> Turn<'_, 'c> {
    // -----------------------------------------------------------------------------------------
    // Plumbing
    // -----------------------------------------------------------------------------------------

    fn finish(self) -> Vec<Action> {
        let Turn {
            state,
            ctx,
            mut actions,
            inbound,
            timer_armed,
        } = self;
        let answered = actions
            .iter()
            .any(|a| matches!(a, Action::Send(_) | Action::Handoff { .. }));
        if inbound && !answered {
            // Never silence: a message that only triggered an ERP call gets "one moment" first.
            let template = if state.waiting_for.is_some() {
                &ctx.texts.looking_up
            } else {
                &ctx.texts.escape_hint
            };
            let text = render(
                template,
                &[
                    ("empresa", ctx.business_name),
                    ("protocolo", &state.protocol),
                ],
            );
            let position = actions
                .iter()
                .position(Action::is_erp)
                .unwrap_or(actions.len());
            let mut contents = compose::text(&text);
            if contents.is_empty() {
                // Texts built in code skip validation; a blank one must not mean silence.
                contents = compose::text("⏳");
            }
            for (offset, content) in contents.into_iter().enumerate() {
                actions.insert(position + offset, Action::Send(content));
            }
        }
        if state.is_finished() {
            state.inactivity = None;
        } else if !timer_armed && (inbound || actions.iter().any(|a| matches!(a, Action::Send(_))))
        {
            let at = later(ctx.now, ctx.limits.inactivity_reminder_after);
            state.inactivity = Some(Inactivity {
                due_at: at,
                phase: InactivityPhase::Reminder,
            });
            actions.push(Action::ScheduleInactivity { at });
        }
        actions
    }

    fn texts(&self) -> &'c crate::Texts {
        self.ctx.texts
    }

    /// Renders a template with the global variables added.
    fn render(&self, template: &str, values: &[(&str, &str)]) -> String {
        let mut all: Vec<(&str, &str)> = values.to_vec();
        all.push(("empresa", self.ctx.business_name));
        all.push(("protocolo", &self.state.protocol));
        render(template, &all)
    }

    fn send(&mut self, contents: Vec<OutboundContent>) {
        self.actions.extend(contents.into_iter().map(Action::Send));
    }

    fn send_text(&mut self, body: &str) {
        self.send(compose::text(body));
    }

    fn send_buttons(&mut self, body: &str, choices: &[(&str, &str)]) {
        let choices: Vec<(String, String)> = choices
            .iter()
            .map(|(id, title)| ((*id).to_owned(), (*title).to_owned()))
            .collect();
        self.send(compose::buttons(body, &choices));
    }

    fn send_list(&mut self, intro: &str, button: &str, rows: Vec<Row>) {
        let mut body = intro.to_owned();
        body.push('\n');
        for (index, row) in rows.iter().enumerate() {
            body.push('\n');
            body.push_str(&format!("*{}.* {}", index + 1, row.title));
            if let Some(description) = &row.description {
                body.push_str(&format!(" — {description}"));
            }
        }
        let continued = self.texts().list_continued.clone();
        let contents = compose::list(&body, button, &rows, |part, parts| {
            let (part, parts) = (part.to_string(), parts.to_string());
            self.render(&continued, &[("parte", &part), ("partes", &parts)])
        });
        self.send(contents);
    }

    fn record(&mut self, kind: &'static str, data: serde_json::Value) {
        self.actions.push(Action::Record { kind, data });
    }

    fn tag(&mut self, tag: &str) {
        if !self.state.tags.iter().any(|t| t == tag) {
            self.state.tags.push(tag.to_owned());
            self.actions.push(Action::Tag(tag.to_owned()));
        }
    }

    fn journal(&mut self, line: String) {
        self.state.push_journal(line);
    }

    fn request(&mut self, action: Action, waiting: Waiting) {
        self.record("erp_request", json!({ "operation": waiting.as_str() }));
        self.actions.push(action);
        self.state.waiting_for = Some(waiting);
    }

    fn customer(&self) -> Option<Customer> {
        self.state.identified.as_ref().map(|i| i.customer.clone())
    }

    fn is_verified(&self) -> bool {
        self.state
            .identified
            .as_ref()
            .is_some_and(|i| i.verification.is_verified())
    }

    fn context_sector(&self) -> Sector {
        self.state
            .pending
            .or(self.state.last_flow)
            .map(Flow::sector)
            .unwrap_or(Sector::Support)
    }

    fn today(&self) -> jiff::civil::Date {
        format::today(self.ctx.now, &self.ctx.time_zone)
    }

    // -----------------------------------------------------------------------------------------
    // Inputs
    // -----------------------------------------------------------------------------------------

    fn understand(
        &self,
        text: Option<String>,
        reply_id: Option<String>,
        media: Option<MediaKind>,
    ) -> Understood {
        let text = text.unwrap_or_default();
        let mut understood = Understood {
            text: text.clone(),
            reply: None,
            ladder: None,
            media,
            intent: Intent::Unknown,
            confidence: 0.0,
            extracted: Extracted::default(),
            source: "media",
        };
        if let Some(id) = reply_id.as_deref() {
            if let Some(reply) = parse_bot_reply(id) {
                understood.reply = Some(reply);
                understood.source = "reply";
            } else if let Some(payload) = crate::ladder::parse_payload(id) {
                // A malformed one is read by its title, like any unknown id.
                if matches!(payload, LadderPayload::Button { .. }) {
                    understood.source = "ladder_reply";
                }
                understood.ladder = Some(payload);
            } else if let Some(classification) = match_reply_id(id) {
                return Understood {
                    text,
                    reply: None,
                    ladder: None,
                    media,
                    intent: classification.intent,
                    confidence: classification.confidence,
                    extracted: classification.extracted,
                    source: "reply",
                };
            }
        }
        if !text.trim().is_empty() {
            let Classification {
                intent,
                confidence,
                extracted,
                ..
            } = self.ctx.matcher.classify(&text);
            understood.intent = intent;
            understood.confidence = confidence;
            understood.extracted = extracted;
            if understood.reply.is_none() && understood.ladder_button().is_none() {
                understood.source = "text";
            }
        } else if understood.reply.is_some() {
            understood.source = "reply";
        }
        understood
    }

    fn inbound(&mut self, message: Inbound, wa_id: WaId, at: Timestamp) {
        self.inbound = true;
        if self.state.stage == Stage::Closed {
            self.record("reopened", json!({}));
            self.state.reopen();
        }
        if self.state.wa_id.is_none() {
            self.state.wa_id = Some(wa_id);
        }
        self.state.inactivity = None;
        let Inbound {
            text,
            reply_id,
            media,
            reminder,
        } = message;
        let understood = self.understand(text, reply_id.clone(), media);
        self.record(
            "inbound",
            json!({
                "intent": understood.intent.as_str(),
                "confidence": understood.confidence,
                "source": understood.source,
                "stage": stage_name(self.state.stage),
                "media": media.map(MediaKind::as_str),
                "at": at.to_string(),
            }),
        );
        if understood.ladder == Some(LadderPayload::Malformed) {
            self.record("ladder_reply_malformed", json!({ "reply_id": reply_id }));
        }
        self.remember_reminder(understood.ladder.as_ref(), reminder);
        let substantive = !understood.intent.is_weak()
            && !matches!(understood.intent, Intent::Unknown | Intent::Menu);
        if substantive && !self.state.intents.contains(&understood.intent) {
            self.state.intents.push(understood.intent);
        }
        if let Stage::HandedOff { sector } = self.state.stage {
            return self.inbound_after_handoff(&understood, sector);
        }
        if self.state.stage == Stage::Start {
            return self.first_message(understood);
        }
        if let Some(waiting) = self.state.waiting_for {
            return self.inbound_while_waiting(&understood, waiting);
        }
        self.dispatch(understood);
    }

    fn first_message(&mut self, understood: Understood) {
        let (date, time) = format::date_and_time(self.state.started_at, &self.ctx.time_zone);
        let greeting = self.render(&self.texts().greeting, &[("data", &date), ("hora", &time)]);
        self.send_text(&greeting);
        self.record(
            "protocol_given",
            json!({ "protocol": self.state.protocol, "started_at": self.state.started_at.to_string() }),
        );
        self.state.stage = Stage::Identifying;
        if let Some(button) = understood.ladder_button() {
            // Run once identified; the button's title ("Falar com financeiro") is not read.
            match LadderAsk::of_button(button) {
                Some(ask) => self.note_ladder_ask(ask, &understood),
                None => self.opt_out(),
            }
            return self.lookup_by_phone();
        }
        match understood.intent {
            Intent::Human => return self.human(understood.extracted.sector),
            Intent::Cancel => return self.cancel(),
            Intent::Document => {
                return self.document_attempt(&understood.text, understood.extracted.document);
            }
            Intent::OptOut => self.opt_out(),
            _ => {}
        }
        let flow = match understood.reply {
            Some(BotReply::Pix) => Some(Flow::Invoice {
                method: PaymentMethodHint::Pix,
            }),
            Some(BotReply::Boleto) => Some(Flow::Invoice {
                method: PaymentMethodHint::Boleto,
            }),
            _ => {
                if let Some(ask) = self.reminder_text_ask(&understood) {
                    self.note_ladder_ask(ask, &understood);
                    return self.lookup_by_phone();
                }
                flow_of(understood.intent, &understood.extracted)
            }
        };
        if let Some(flow) = flow {
            self.note_flow(flow);
            self.state.pending = Some(flow);
        }
        self.lookup_by_phone();
    }

    fn lookup_by_phone(&mut self) {
        match self.state.wa_id.clone() {
            Some(wa_id) => {
                self.state.stage = Stage::Identifying;
                self.request(Action::LookupByPhone(wa_id), Waiting::CustomersByPhone);
            }
            None => self.ask_document(false),
        }
    }

    fn inbound_after_handoff(&mut self, understood: &Understood, sector: Sector) {
        if understood.intent == Intent::Protocol {
            return self.protocol();
        }
        let label = sector_label(self.texts(), sector).to_owned();
        let text = self.render(&self.texts().handed_off_waiting, &[("setor", &label)]);
        self.send_text(&text);
    }

    fn inbound_while_waiting(&mut self, understood: &Understood, waiting: Waiting) {
        match understood.intent {
            Intent::Protocol => return self.protocol(),
            Intent::Human => {
                if waiting.is_write() {
                    let sector = understood
                        .extracted
                        .sector
                        .unwrap_or_else(|| self.context_sector());
                    self.tag("atendente");
                    return self.handoff(sector, "pediu para falar com um atendente", None);
                }
                self.state.waiting_for = None;
                return self.human(understood.extracted.sector);
            }
            Intent::Menu => {
                if waiting.is_write() {
                    self.state.menu_after_write = true;
                    let text = self.render(&self.texts().write_pending, &[]);
                    return self.send_text(&text);
                }
                self.state.waiting_for = None;
                return self.show_menu();
            }
            Intent::Cancel => {
                if !waiting.is_write() {
                    self.state.waiting_for = None;
                }
                return self.cancel();
            }
            _ => {}
        }
        let identifying = matches!(
            waiting,
            Waiting::CustomersByPhone | Waiting::CustomerByDocument
        );
        let ladder_ask = match understood.ladder_button() {
            Some(button) => match LadderAsk::of_button(button) {
                Some(ask) => Some(ask),
                None => return self.opt_out(),
            },
            None => self.reminder_text_ask(understood),
        };
        if identifying && let Some(ask) = ladder_ask {
            self.note_ladder_ask(ask, understood);
            let text = self.render(&self.texts().please_wait_noted, &[]);
            return self.send_text(&text);
        }
        if identifying && let Some(flow) = flow_of(understood.intent, &understood.extracted) {
            self.note_flow(flow);
            self.state.pending = Some(flow);
            let text = self.render(&self.texts().please_wait_noted, &[]);
            return self.send_text(&text);
        }
        let text = self.render(&self.texts().please_wait, &[]);
        self.send_text(&text);
    }

    fn dispatch(&mut self, understood: Understood) {
        let previous_invalid = std::mem::take(&mut self.state.invalid_inputs);
        if self.state.stage == Stage::ConfirmIdentity && self.try_confirmation(&understood.text) {
            return;
        }
        if let Some(reply) = understood.reply
            && self.bot_reply(reply)
        {
            return;
        }
        if let Some(button) = understood.ladder_button() {
            return match LadderAsk::of_button(button) {
                Some(ask) => self.ladder_ask(ask, &understood),
                None => self.opt_out(),
            };
        }
        match understood.intent {
            Intent::Human => return self.human(understood.extracted.sector),
            Intent::Menu => return self.show_menu(),
            Intent::Protocol => return self.protocol(),
            Intent::Cancel => return self.cancel(),
            Intent::OptOut => return self.opt_out(),
            _ => {}
        }
        let document_attempt = understood.intent == Intent::Document
            || (self.state.stage == Stage::AskDocument
                && understood.intent != Intent::Number
                && understood.text.chars().filter(char::is_ascii_digit).count() >= 5);
        if document_attempt {
            return self.document_attempt(&understood.text, understood.extracted.document.clone());
        }
        if self.stage_specific(&understood) {
            return;
        }
        if let Some(ask) = self.reminder_text_ask(&understood) {
            return self.ladder_ask(ask, &understood);
        }
        // "Paguei a parcela" is a payment, not a wish to negotiate.
        if understood.intent != Intent::AlreadyPaid
            && crate::ladder::asks_to_negotiate(&normalize(&understood.text))
        {
            return self.negotiate();
        }
        if let Some(flow) = flow_of(understood.intent, &understood.extracted) {
            if let Flow::Invoice { method } = flow
                && method != PaymentMethodHint::Any
                && self.state.invoice.is_some()
                && matches!(self.state.stage, Stage::InvoiceMethod | Stage::AfterFlow)
            {
                return self.deliver(method);
            }
            return self.start_flow(flow);
        }
        match understood.intent {
            Intent::AlreadyPaid => self.already_paid(),
            Intent::Greeting => self.prompt_current(),
            Intent::Thanks => self.thanks(),
            _ if is_closing(&normalize(&understood.text)) => self.finish_by_subscriber(),
            _ => self.invalid(previous_invalid, &understood),
        }
    }

    /// Handles a tap on one of the bot's own buttons or rows; `false` when it does not apply to
    /// the current stage (an old message), so the text is interpreted instead.
    fn bot_reply(&mut self, reply: BotReply) -> bool {
        match reply {
            BotReply::Pix | BotReply::Boleto => {
                let method = if reply == BotReply::Pix {
                    PaymentMethodHint::Pix
                } else {
                    PaymentMethodHint::Boleto
                };
                if self.state.invoice.is_some() {
                    self.deliver(method);
                } else {
                    self.start_flow(Flow::Invoice { method });
                }
                true
            }
            BotReply::Negotiate => {
                self.negotiate();
                true
            }
            BotReply::NoneOfThese if self.state.stage == Stage::ChooseCustomer => {
                self.state.candidates.clear();
                self.ask_document(false);
                true
            }
            BotReply::NoneOfThese => false,
            BotReply::Negotiation(option)
                if self.state.invoice.is_some() && self.state.reminder.is_some() =>
            {
                self.negotiation_choice(option);
                true
            }
            BotReply::Negotiation(_) => false,
            BotReply::NoReceipt if self.state.stage == Stage::AwaitReceipt => {
                self.no_receipt();
                true
            }
            BotReply::NoReceipt => false,
            BotReply::Pick { list, number } => {
                let expected = match self.state.stage {
                    Stage::ChooseCustomer => PickList::Customer,
                    Stage::ChooseContract => PickList::Contract,
                    Stage::ChooseInvoice => PickList::Invoice,
                    _ => return false,
                };
                list == expected && self.pick(number)
            }
        }
    }

    /// Answers that only mean something in the current stage; `true` when handled.
    fn stage_specific(&mut self, understood: &Understood) -> bool {
        let number = understood
            .extracted
            .number
            .filter(|_| understood.intent == Intent::Number)
            .map(|n| n as usize);
        match self.state.stage {
            Stage::Menu => number.is_some_and(|n| self.menu_option(n)),
            Stage::AfterFlow => {
                if let Some(n) = number {
                    return self.menu_option(n);
                }
                match understood.intent {
                    Intent::Yes => {
                        self.show_menu();
                        true
                    }
                    Intent::No | Intent::Thanks => {
                        self.finish_by_subscriber();
                        true
                    }
                    _ if is_closing(&normalize(&understood.text)) => {
                        self.finish_by_subscriber();
                        true
                    }
                    _ => false,
                }
            }
            Stage::ChooseCustomer | Stage::ChooseContract | Stage::ChooseInvoice => {
                number.is_some_and(|n| self.pick(n))
            }
            Stage::ConfirmUnlock => match understood.intent {
                Intent::Yes | Intent::Unlock => {
                    self.trust_unlock();
                    true
                }
                Intent::No => {
                    let text = self.render(&self.texts().unlock_cancelled, &[]);
                    self.send_text(&text);
                    self.journal("Desistiu do desbloqueio de confiança".to_owned());
                    self.after_flow();
                    true
                }
                _ => false,
            },
            Stage::ConnectionCheck => match connection_answer(understood) {
                Some(true) => {
                    let text = self.render(&self.texts().connection_back, &[]);
                    self.send_text(&text);
                    self.journal("Conexão voltou após reiniciar o roteador".to_owned());
                    self.complete(Flow::Connection);
                    self.after_flow();
                    true
                }
                Some(false) => {
                    self.open_ticket();
                    true
                }
                None => false,
            },
            Stage::ChooseSector => {
                let sector = match number {
                    Some(1) => Sector::Billing,
                    Some(2) => Sector::Support,
                    Some(3) => Sector::Sales,
                    _ => {
                        if flow_of(understood.intent, &understood.extracted).is_some() {
                            return false;
                        }
                        Sector::Support
                    }
                };
                self.handoff(sector, "pediu para falar com um atendente", None);
                true
            }
            Stage::Negotiation => {
                let option = NegotiationOption::of_words(&normalize(&understood.text))
                    .or_else(|| number.and_then(NegotiationOption::of_number))
                    .or_else(|| {
                        (understood.intent == Intent::Invoice)
                            .then_some(NegotiationOption::PayInFull)
                    });
                match option {
                    Some(option) => {
                        self.negotiation_choice(option);
                        true
                    }
                    None => false,
                }
            }
            Stage::AwaitReceipt => self.receipt_answer(understood),
            _ => false,
        }
    }

    fn erp(&mut self, outcome: ErpOutcome) {
        let kind = outcome.waiting();
        if self.state.waiting_for != Some(kind) {
            // A late answer to a wait that "menu" or a handoff cancelled.
            self.record("erp_outcome_ignored", json!({ "operation": kind.as_str() }));
            return;
        }
        self.state.waiting_for = None;
        if self.state.is_finished() {
            return self.write_after_handoff(outcome);
        }
        match outcome {
            ErpOutcome::CustomersByPhone(result) => self.on_customers_by_phone(result),
            ErpOutcome::CustomerByDocument(result) => self.on_customer_by_document(result),
            ErpOutcome::Contracts(result) => self.on_contracts(result),
            ErpOutcome::OpenInvoices(result) => self.on_open_invoices(result),
            ErpOutcome::Invoice(result) => self.on_fresh_invoice(result),
            ErpOutcome::Unlock(result) => self.on_unlock(result),
            ErpOutcome::Connection(result) => self.on_connection(result),
            ErpOutcome::Ticket(result) => self.on_ticket(result),
        }
    }

    fn timer(&mut self, at: Timestamp) {
        let Some(inactivity) = self.state.inactivity else {
            return;
        };
        if at < inactivity.due_at || self.state.is_finished() {
            return;
        }
        if let Some(waiting) = self.state.waiting_for {
            // The ERP never answered: never leave the subscriber in silence.
            let failure = ErpFailure::Unavailable {
                detail: "sem resposta do sistema de gestão".to_owned(),
            };
            return self.erp_failed(waiting, &failure);
        }
        match inactivity.phase {
            InactivityPhase::Reminder => {
                let minutes = self.ctx.limits.inactivity_close_after.as_mins().to_string();
                let template = if self.state.stage == Stage::AwaitReceipt {
                    &self.texts().receipt_reminder
                } else {
                    &self.texts().inactivity_reminder
                };
                let text = self.render(template, &[("minutos", &minutes)]);
                self.send_text(&text);
                self.record("inactivity_reminder", json!({}));
                let at = later(self.ctx.now, self.ctx.limits.inactivity_close_after);
                self.state.inactivity = Some(Inactivity {
                    due_at: at,
                    phase: InactivityPhase::Close,
                });
                self.actions.push(Action::ScheduleInactivity { at });
                self.timer_armed = true;
            }
            InactivityPhase::Close if self.state.stage == Stage::AwaitReceipt => {
                self.receipt_timeout();
            }
            InactivityPhase::Close => {
                let text = self.render(&self.texts().inactivity_close, &[]);
                self.send_text(&text);
                self.record(
                    "inactivity_close",
                    json!({ "flows_completed": self.state.flows_completed }),
                );
                self.resolve(Resolution::Abandoned);
                self.actions.push(Action::Close);
                self.state.stage = Stage::Closed;
                self.state.pending = None;
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Menu, prompts, invalid input
    // -----------------------------------------------------------------------------------------

    fn show_menu(&mut self) {
        self.state.pending = None;
        self.state.menu_after_write = false;
        self.state.stage = Stage::Menu;
        let texts = self.texts();
        let options = [
            (
                Intent::Invoice,
                &texts.menu_invoice,
                &texts.menu_invoice_description,
            ),
            (
                Intent::Debts,
                &texts.menu_debts,
                &texts.menu_debts_description,
            ),
            (
                Intent::Unlock,
                &texts.menu_unlock,
                &texts.menu_unlock_description,
            ),
            (
                Intent::Connection,
                &texts.menu_connection,
                &texts.menu_connection_description,
            ),
            (
                Intent::Human,
                &texts.menu_human,
                &texts.menu_human_description,
            ),
        ];
        let rows: Vec<Row> = options
            .iter()
            .map(|(intent, title, description)| Row {
                id: intent.reply_id(),
                title: self.render(title, &[]),
                description: Some(self.render(description, &[])),
            })
            .collect();
        let intro = self.render(&texts.menu_intro, &[]);
        let mut body = intro;
        body.push('\n');
        for (index, row) in rows.iter().enumerate() {
            body.push_str(&format!("\n*{}.* {}", index + 1, row.title));
        }
        let button = self.render(&texts.menu_button, &[]);
        let continued = texts.list_continued.clone();
        let contents = compose::list(&body, &button, &rows, |part, parts| {
            let (part, parts) = (part.to_string(), parts.to_string());
            self.render(&continued, &[("parte", &part), ("partes", &parts)])
        });
        self.send(contents);
    }

    fn menu_option(&mut self, number: usize) -> bool {
        if number == 0 || number > MENU_SIZE as usize {
            return false;
        }
        match number {
            1 => self.start_flow(Flow::Invoice {
                method: PaymentMethodHint::Any,
            }),
            2 => self.start_flow(Flow::Debts),
            3 => self.start_flow(Flow::Unlock),
            4 => self.start_flow(Flow::Connection),
            _ => self.human(None),
        }
        true
    }

    /// Repeats the question of the current stage.
    fn prompt_current(&mut self) {
        match self.state.stage {
            Stage::AskDocument => self.ask_document(false),
            Stage::ConfirmIdentity => self.ask_confirmation(),
            Stage::ChooseCustomer => self.show_customer_choice(),
            Stage::ChooseContract => self.show_contract_choice(),
            Stage::ChooseInvoice => self.show_invoice_choice(),
            Stage::InvoiceMethod => match self.state.invoice.clone() {
                Some(invoice) => self.show_invoice(invoice, PaymentMethodHint::Any),
                None => self.show_menu(),
            },
            Stage::ConfirmUnlock => self.ask_unlock_confirmation(),
            Stage::ConnectionCheck => {
                let question = self.render(&self.texts().connection_question, &[]);
                self.ask_connection_back(&question);
            }
            Stage::ChooseSector => self.show_sector_choice(),
            Stage::Negotiation => match self.state.invoice.clone() {
                Some(invoice) => self.show_negotiation(&invoice),
                None => self.show_menu(),
            },
            Stage::AwaitReceipt => self.ask_receipt_again(),
            _ => self.show_menu(),
        }
    }

    fn invalid(&mut self, previous: u32, understood: &Understood) {
        let count = previous + 1;
        self.state.invalid_inputs = count;
        self.record(
            "invalid_input",
            json!({ "count": count, "stage": stage_name(self.state.stage) }),
        );
        if count >= self.ctx.limits.max_invalid_inputs {
            self.journal(format!("Não compreendeu {count} mensagens seguidas"));
            self.tag("nao_compreendido");
            let lead = self.render(&self.texts().too_many_invalid, &[]);
            let sector = self.context_sector();
            return self.handoff(sector, "o robô não compreendeu as mensagens", Some(lead));
        }
        let texts = self.texts();
        let apology = if understood.is_media() {
            &texts.media_not_understood
        } else {
            &texts.invalid_input
        };
        let text = format!(
            "{}\n{}",
            self.render(apology, &[]),
            self.render(&texts.escape_hint, &[])
        );
        self.send_text(&text);
        self.prompt_current();
    }

    fn protocol(&mut self) {
        let (date, time) = format::date_and_time(self.state.started_at, &self.ctx.time_zone);
        let text = self.render(&self.texts().protocol, &[("data", &date), ("hora", &time)]);
        self.send_text(&text);
        self.record(
            "protocol_repeated",
            json!({ "protocol": self.state.protocol }),
        );
    }

    fn opt_out(&mut self) {
        let text = self.render(&self.texts().opt_out, &[]);
        self.send_text(&text);
        self.tag("opt_out");
        self.record("opt_out", json!({}));
        self.journal("Pediu para não receber mensagens automáticas de cobrança".to_owned());
    }

    fn thanks(&mut self) {
        if self.state.flows_completed > 0 {
            return self.finish_by_subscriber();
        }
        let text = self.render(&self.texts().thanks_nothing_done, &[]);
        self.send_text(&text);
        self.show_menu();
    }

    fn already_paid(&mut self) {
        self.tag("pagamento_informado");
        self.journal("Informou que já pagou".to_owned());
        let texts = self.texts();
        let body = self.render(&texts.already_paid, &[]);
        let unlock = self.render(&texts.button_unlock, &[]);
        let billing = self.render(&texts.button_billing, &[]);
        let menu = self.render(&texts.button_menu, &[]);
        self.state.stage = Stage::AfterFlow;
        self.state.flows_completed += 1;
        self.send_buttons(
            &body,
            &[
                ("intent:unlock", &unlock),
                ("intent:human:financeiro", &billing),
                ("intent:menu", &menu),
            ],
        );
    }

    fn after_flow(&mut self) {
        if std::mem::take(&mut self.state.menu_after_write) {
            return self.show_menu();
        }
        self.state.stage = Stage::AfterFlow;
        let texts = self.texts();
        let body = self.render(&texts.anything_else, &[]);
        let menu = self.render(&texts.button_menu, &[]);
        let human = self.render(&texts.button_human, &[]);
        let finish = self.render(&texts.button_finish, &[]);
        self.send_buttons(
            &body,
            &[
                ("intent:menu", &menu),
                ("intent:human", &human),
                ("intent:no", &finish),
            ],
        );
    }

    /// An answer plus the after-flow step with custom buttons.
    fn offer(&mut self, body: &str, choices: &[(&str, &str)]) {
        if std::mem::take(&mut self.state.menu_after_write) {
            self.send_text(body);
            return self.show_menu();
        }
        self.state.stage = Stage::AfterFlow;
        self.send_buttons(body, choices);
    }

    /// The subscriber says goodbye: resolved by the bot when a flow gave them an answer,
    /// abandoned otherwise.
    fn finish_by_subscriber(&mut self) {
        let text = self.render(&self.texts().goodbye, &[]);
        self.send_text(&text);
        let resolution = if self.state.flows_completed > 0 {
            Resolution::ResolvedByBot
        } else {
            Resolution::Abandoned
        };
        self.resolve(resolution);
        self.actions.push(Action::Close);
        self.state.stage = Stage::Closed;
        self.state.pending = None;
    }

    fn resolve(&mut self, resolution: Resolution) {
        self.record("resolved", json!({ "resolution": resolution }));
        self.actions.push(Action::Resolve(resolution));
    }

    // -----------------------------------------------------------------------------------------
    // People
    // -----------------------------------------------------------------------------------------

    fn human(&mut self, sector: Option<Sector>) {
        self.tag("atendente");
        let sector = sector.or_else(|| self.state.last_flow.map(Flow::sector));
        match sector {
            Some(sector) => self.handoff(sector, "pediu para falar com um atendente", None),
            None if self.state.stage == Stage::ChooseSector => {
                self.handoff(Sector::Support, "pediu para falar com um atendente", None)
            }
            None => {
                self.state.stage = Stage::ChooseSector;
                self.show_sector_choice();
            }
        }
    }

    fn show_sector_choice(&mut self) {
        let texts = self.texts();
        let billing = self.render(&texts.sector_billing, &[]);
        let support = self.render(&texts.sector_support, &[]);
        let sales = self.render(&texts.sector_sales, &[]);
        let body = format!(
            "{}\n\n*1.* {billing}\n*2.* {support}\n*3.* {sales}",
            self.render(&texts.choose_sector, &[])
        );
        self.send_buttons(
            &body,
            &[
                ("intent:human:financeiro", &billing),
                ("intent:human:suporte", &support),
                ("intent:human:comercial", &sales),
            ],
        );
    }

    fn cancel(&mut self) {
        self.tag("cancelamento");
        let lead = self.render(&self.texts().cancel_retention, &[]);
        self.handoff(
            Sector::Cancellation,
            "pediu cancelamento (retenção)",
            Some(lead),
        );
    }

    fn negotiate(&mut self) {
        self.tag("negociacao");
        let reason = match &self.state.invoice {
            Some(invoice) => format!(
                "quer negociar a fatura vencida em {} ({})",
                format::date(invoice.due_date),
                format::brl(format::owed_cents(invoice))
            ),
            None => "quer negociar débitos".to_owned(),
        };
        let lead = self.render(&self.texts().negotiate, &[]);
        self.handoff(Sector::Billing, &reason, Some(lead));
    }

    /// Passes the conversation to people. A pending write stays awaited so its result still
    /// reaches the subscriber and the attendant.
    fn handoff(&mut self, sector: Sector, reason: &str, lead: Option<String>) {
        if let Some(lead) = lead {
            self.send_text(&lead);
        }
        let label = sector_label(self.texts(), sector).to_owned();
        let text = self.render(&self.texts().handoff, &[("setor", &label)]);
        self.send_text(&text);
        if self.state.waiting_for.is_some_and(|w| !w.is_write()) {
            self.state.waiting_for = None;
        }
        if let Some(waiting) = self.state.waiting_for {
            self.journal(format!(
                "Aguardando resposta do sistema: {}",
                waiting.label()
            ));
        }
        let summary = handoff_summary(self.state, reason);
        self.record("handoff", json!({ "sector": sector, "reason": reason }));
        self.actions.push(Action::Handoff { sector, summary });
        self.resolve(Resolution::HandedOff);
        self.state.stage = Stage::HandedOff { sector };
        self.state.pending = None;
        self.state.menu_after_write = false;
    }

    fn erp_failed(&mut self, waiting: Waiting, failure: &ErpFailure) {
        self.record(
            "erp_result",
            json!({ "operation": waiting.as_str(), "ok": false, "failure": failure.as_str() }),
        );
        self.journal(format!(
            "{}: {}",
            capitalise(waiting.label()),
            failure.describe()
        ));
        let sector = self.context_sector();
        let texts = self.texts();
        let (template, reason) = match failure {
            ErpFailure::NotSupported { .. } => (
                &texts.erp_not_supported,
                format!("o sistema de gestão não oferece {}", waiting.label()),
            ),
            ErpFailure::NotFound => (
                &texts.erp_failed,
                format!("registro não encontrado na {}", waiting.label()),
            ),
            ErpFailure::Unavailable { .. } | ErpFailure::Failed { .. } => {
                self.tag("sistema_indisponivel");
                let template = if matches!(failure, ErpFailure::Unavailable { .. }) {
                    &texts.erp_unavailable
                } else {
                    &texts.erp_failed
                };
                (
                    template,
                    format!("falha no sistema de gestão ({})", waiting.label()),
                )
            }
        };
        let lead = self.render(template, &[]);
        self.handoff(sector, &reason, Some(lead));
    }

    // -----------------------------------------------------------------------------------------
    // Identification
    // -----------------------------------------------------------------------------------------

    fn ask_document(&mut self, not_found_by_phone: bool) {
        self.state.stage = Stage::AskDocument;
        let template = if not_found_by_phone {
            &self.texts().ask_document_not_found_by_phone
        } else {
            &self.texts().ask_document
        };
        let text = self.render(template, &[]);
        self.send_text(&text);
    }

    fn document_attempt(&mut self, text: &str, shaped: Option<String>) {
        let candidate =
            shaped.unwrap_or_else(|| text.chars().filter(char::is_ascii_digit).collect());
        match Document::parse(&candidate) {
            Ok(document) => {
                self.record(
                    "document_received",
                    json!({ "kind": document.kind().as_str(), "document": document.redacted() }),
                );
                self.state.looked_up_document = Some(document.clone());
                self.state.stage = Stage::AskDocument;
                self.request(
                    Action::LookupByDocument(document),
                    Waiting::CustomerByDocument,
                );
            }
            Err(error) => {
                self.state.document_attempts += 1;
                self.record(
                    "document_rejected",
                    json!({ "reason": error.to_string(), "attempt": self.state.document_attempts }),
                );
                if self.document_attempts_exhausted() {
                    return;
                }
                let message = self.document_error_text(&error);
                self.state.stage = Stage::AskDocument;
                let prompt = self.render(&self.texts().ask_document, &[]);
                self.send_text(&format!("{message}\n\n{prompt}"));
            }
        }
    }

    /// Hands off when the subscriber used up the document attempts.
    fn document_attempts_exhausted(&mut self) -> bool {
        if self.state.document_attempts < self.ctx.limits.max_document_attempts {
            return false;
        }
        self.journal(format!(
            "Não foi possível identificar o cliente após {} tentativas de CPF/CNPJ",
            self.state.document_attempts
        ));
        self.tag("nao_identificado");
        let lead = self.render(&self.texts().too_many_document_attempts, &[]);
        let sector = self.context_sector();
        self.handoff(sector, "cliente não identificado pelo CPF/CNPJ", Some(lead));
        true
    }

    fn document_error_text(&self, error: &DocumentError) -> String {
        let texts = self.texts();
        match error {
            DocumentError::Length(count) => self.render(
                &texts.document_invalid_length,
                &[("quantidade", &count.to_string())],
            ),
            DocumentError::Cpf(CpfError::CheckDigit) => {
                self.render(&texts.document_invalid_check_digit, &[("tipo", "CPF")])
            }
            DocumentError::Cnpj(CnpjError::CheckDigit) => {
                self.render(&texts.document_invalid_check_digit, &[("tipo", "CNPJ")])
            }
            DocumentError::Cpf(CpfError::RepeatedDigits) => {
                self.render(&texts.document_invalid_repeated, &[("tipo", "CPF")])
            }
            DocumentError::Cnpj(CnpjError::RepeatedDigits) => {
                self.render(&texts.document_invalid_repeated, &[("tipo", "CNPJ")])
            }
            _ => self.render(&texts.document_invalid, &[]),
        }
    }

    fn on_customers_by_phone(&mut self, result: Result<Vec<Customer>, ErpFailure>) {
        self.state.phone_lookup_done = true;
        let customers = match result {
            Ok(customers) => dedupe_customers(customers),
            Err(ErpFailure::NotFound) => Vec::new(),
            Err(ErpFailure::NotSupported { .. }) => {
                self.record(
                    "erp_result",
                    json!({ "operation": "customers_by_phone", "ok": false, "failure": "not_supported" }),
                );
                return self.ask_document(false);
            }
            Err(failure) => return self.erp_failed(Waiting::CustomersByPhone, &failure),
        };
        self.record(
            "erp_result",
            json!({ "operation": "customers_by_phone", "ok": true, "count": customers.len() }),
        );
        match customers.len() {
            0 => {
                self.journal("Telefone não encontrado no sistema de gestão".to_owned());
                self.ask_document(true);
            }
            1 => {
                let customer = customers.into_iter().next().expect("one customer");
                self.identify(customer, Verification::RegisteredPhone);
            }
            count => {
                self.journal(format!("{count} cadastros com este telefone"));
                self.state.candidates = customers;
                self.state.stage = Stage::ChooseCustomer;
                self.show_customer_choice();
            }
        }
    }

    fn show_customer_choice(&mut self) {
        let texts = self.texts();
        let mut rows: Vec<Row> = self
            .state
            .candidates
            .iter()
            .enumerate()
            .map(|(index, customer)| Row {
                id: format!("{}{}", PickList::Customer.prefix(), index + 1),
                title: customer.name.trim().to_owned(),
                description: Some(match &customer.document {
                    Some(document) => format!("{} {}", document.kind(), document.redacted()),
                    None => self.render(
                        &texts.customer_row_no_document,
                        &[("codigo", &customer.erp_id)],
                    ),
                }),
            })
            .collect();
        rows.push(Row {
            id: "bot:customer:none".to_owned(),
            title: self.render(&texts.choose_customer_none, &[]),
            description: None,
        });
        let intro = self.render(&texts.choose_customer, &[]);
        let button = self.render(&texts.choice_button, &[]);
        self.send_list(&intro, &button, rows);
    }

    fn on_customer_by_document(&mut self, result: Result<Option<Customer>, ErpFailure>) {
        let customer = match result {
            Ok(customer) => customer,
            Err(ErpFailure::NotFound) => None,
            Err(failure) => return self.erp_failed(Waiting::CustomerByDocument, &failure),
        };
        self.record(
            "erp_result",
            json!({ "operation": "customer_by_document", "ok": true, "found": customer.is_some() }),
        );
        let Some(customer) = customer else {
            self.state.document_attempts += 1;
            self.journal("CPF/CNPJ informado não encontrado".to_owned());
            if self.document_attempts_exhausted() {
                return;
            }
            let (kind, redacted) = self
                .state
                .looked_up_document
                .as_ref()
                .map(|d| (d.kind().as_str(), d.redacted()))
                .unwrap_or(("CPF/CNPJ", String::new()));
            let text = self.render(
                &self.texts().document_not_found,
                &[("tipo", kind), ("documento", &redacted)],
            );
            self.state.stage = Stage::AskDocument;
            return self.send_text(&text);
        };
        let registered = self.state.wa_id.as_ref().is_some_and(|wa_id| {
            phones_of(&customer)
                .iter()
                .any(|phone| phone.matches_wa_id(wa_id))
        });
        if registered {
            return self.identify(customer, Verification::DocumentAndRegisteredPhone);
        }
        let can_confirm = !phones_of(&customer).is_empty() || !emails_of(&customer).is_empty();
        self.reset_customer_data();
        self.state.identified = Some(Identified {
            customer,
            verification: Verification::Pending,
        });
        self.state.confirmation_attempts = 0;
        self.record("identity_confirmation_required", json!({}));
        if !can_confirm {
            self.journal("Cadastro sem telefone ou e-mail para confirmar a identidade".to_owned());
            self.tag("nao_identificado");
            let lead = self.render(&self.texts().identity_not_confirmed, &[]);
            let sector = self.context_sector();
            return self.handoff(sector, "identidade do titular não confirmada", Some(lead));
        }
        self.state.stage = Stage::ConfirmIdentity;
        self.ask_confirmation();
    }

    fn ask_confirmation(&mut self) {
        let document = self
            .state
            .identified
            .as_ref()
            .and_then(|i| i.customer.document.clone())
            .or_else(|| self.state.looked_up_document.clone());
        let (kind, redacted) = document
            .as_ref()
            .map(|d| (d.kind().as_str(), d.redacted()))
            .unwrap_or(("CPF/CNPJ", String::new()));
        let text = self.render(
            &self.texts().confirm_identity,
            &[("tipo", kind), ("documento", &redacted)],
        );
        self.send_text(&text);
    }

    /// The answer to the identity confirmation; `false` when the message is neither a phone nor
    /// an e-mail (then it is interpreted as anything else).
    fn try_confirmation(&mut self, text: &str) -> bool {
        let Some(identified) = self.state.identified.clone() else {
            return false;
        };
        let typed_phone = BrPhone::parse(text.trim()).ok();
        let typed_email = text
            .split_whitespace()
            .find(|word| word.contains('@'))
            .map(|word| {
                word.trim_matches(|c: char| !(c.is_alphanumeric() || c == '@'))
                    .to_lowercase()
            });
        if typed_phone.is_none() && typed_email.is_none() {
            return false;
        }
        let phone_matches = typed_phone.is_some_and(|typed| {
            phones_of(&identified.customer)
                .iter()
                .any(|phone| same_subscriber(&phone.to_wa_id(), &typed.to_wa_id()))
        });
        let email_matches =
            typed_email.is_some_and(|typed| emails_of(&identified.customer).contains(&typed));
        if phone_matches || email_matches {
            self.record(
                "identity_confirmed",
                json!({ "by": if phone_matches { "phone" } else { "email" } }),
            );
            self.identify(identified.customer, Verification::DocumentAndConfirmation);
            return true;
        }
        self.state.confirmation_attempts += 1;
        self.record(
            "identity_confirmation_failed",
            json!({ "attempt": self.state.confirmation_attempts }),
        );
        if self.state.confirmation_attempts >= self.ctx.limits.max_confirmation_attempts {
            self.journal(format!(
                "Confirmação de identidade falhou {} vezes",
                self.state.confirmation_attempts
            ));
            self.tag("nao_identificado");
            let lead = self.render(&self.texts().identity_not_confirmed, &[]);
            let sector = self.context_sector();
            self.handoff(sector, "identidade do titular não confirmada", Some(lead));
            return true;
        }
        let text = self.render(&self.texts().confirm_identity_failed, &[]);
        self.send_text(&text);
        true
    }

    fn reset_customer_data(&mut self) {
        self.state.candidates.clear();
        self.state.contracts = None;
        self.state.contract = None;
        self.state.invoices.clear();
        self.state.invoice = None;
    }

    /// The customer is known and allowed to see their data: greet, then run what they asked for.
    fn identify(&mut self, customer: Customer, verification: Verification) {
        self.reset_customer_data();
        let name = format::first_name(&customer.name)
            .unwrap_or_else(|| self.render(&self.texts().customer_fallback_name, &[]));
        self.record(
            "identified",
            json!({
                "verification": verification,
                "customer_erp_id": customer.erp_id,
                "document": customer.document.as_ref().map(Document::redacted),
            }),
        );
        self.journal(format!("Cliente {}", verification.label()));
        self.state.identified = Some(Identified {
            customer,
            verification,
        });
        let template = if verification == Verification::DocumentAndConfirmation {
            &self.texts().identity_confirmed
        } else {
            &self.texts().welcome_customer
        };
        let text = self.render(template, &[("nome", &name)]);
        self.send_text(&text);
        match self.state.pending.take() {
            Some(flow) => self.run_flow(flow),
            None => self.show_menu(),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Flows
    // -----------------------------------------------------------------------------------------

    fn note_flow(&mut self, flow: Flow) {
        let intent = match flow {
            Flow::Invoice { .. } => Intent::Invoice,
            Flow::Debts => Intent::Debts,
            Flow::Unlock => Intent::Unlock,
            Flow::Connection => Intent::Connection,
            Flow::Ladder { ask } => match ask {
                LadderAsk::Pay { .. } => Intent::Invoice,
                LadderAsk::Negotiate => Intent::Debts,
                LadderAsk::AlreadyPaid => Intent::AlreadyPaid,
                LadderAsk::TalkToFinance => Intent::Human,
            },
        };
        if !self.state.intents.contains(&intent) {
            self.state.intents.push(intent);
        }
        self.tag(flow.tag());
        self.state.last_flow = Some(flow);
        self.record("flow_started", json!({ "flow": flow.as_str() }));
    }

    fn start_flow(&mut self, flow: Flow) {
        self.note_flow(flow);
        if self.is_verified() {
            return self.run_flow(flow);
        }
        self.state.pending = Some(flow);
        match &self.state.identified {
            None if self.state.stage == Stage::ChooseCustomer => self.show_customer_choice(),
            Some(_) => {
                self.state.stage = Stage::ConfirmIdentity;
                self.ask_confirmation();
            }
            None if !self.state.phone_lookup_done => self.lookup_by_phone(),
            None => self.ask_document(false),
        }
    }

    fn run_flow(&mut self, flow: Flow) {
        let Some(customer) = self.customer() else {
            self.state.pending = Some(flow);
            return self.ask_document(false);
        };
        match flow {
            Flow::Invoice { method } => {
                self.state.invoice_method = method;
                self.state.pending = Some(flow);
                self.request(Action::FetchOpenInvoices(customer), Waiting::OpenInvoices);
            }
            Flow::Debts => {
                self.state.pending = Some(flow);
                self.request(Action::FetchOpenInvoices(customer), Waiting::OpenInvoices);
            }
            Flow::Ladder { ask } => self.run_reminder_flow(ask, customer),
            Flow::Unlock | Flow::Connection => {
                if self.state.contract.is_some() {
                    self.continue_with_contract(flow);
                } else if let Some(contracts) = self.state.contracts.clone() {
                    self.offer_contracts(flow, &contracts);
                } else {
                    self.state.pending = Some(flow);
                    self.request(Action::FetchContracts(customer), Waiting::Contracts);
                }
            }
        }
    }

    fn on_contracts(&mut self, result: Result<Vec<Contract>, ErpFailure>) {
        let contracts = match result {
            Ok(contracts) => contracts,
            Err(ErpFailure::NotFound) => Vec::new(),
            Err(failure) => return self.erp_failed(Waiting::Contracts, &failure),
        };
        self.record(
            "erp_result",
            json!({ "operation": "contracts", "ok": true, "count": contracts.len() }),
        );
        self.state.contracts = Some(contracts.clone());
        let flow = self.state.pending.take().unwrap_or(Flow::Connection);
        self.offer_contracts(flow, &contracts);
    }

    fn offer_contracts(&mut self, flow: Flow, contracts: &[Contract]) {
        let choices = selectable(contracts);
        match choices.len() {
            0 => {
                self.journal("Nenhum contrato encontrado".to_owned());
                let lead = self.render(&self.texts().no_contract, &[]);
                self.handoff(Sector::Support, "nenhum contrato encontrado", Some(lead));
            }
            1 => {
                self.state.contract = choices.into_iter().next();
                self.continue_with_contract(flow);
            }
            _ => {
                self.state.pending = Some(flow);
                self.state.stage = Stage::ChooseContract;
                self.show_contract_choice();
            }
        }
    }

    fn show_contract_choice(&mut self) {
        let contracts = selectable(self.state.contracts.as_deref().unwrap_or_default());
        let texts = self.texts();
        let rows: Vec<Row> = contracts
            .iter()
            .enumerate()
            .map(|(index, contract)| {
                let title = match contract.plan_name.as_deref() {
                    Some(plan) if !plan.trim().is_empty() => plan.trim().to_owned(),
                    _ => self.render(&texts.contract_row_title, &[("contrato", &contract.erp_id)]),
                };
                Row {
                    id: format!("{}{}", PickList::Contract.prefix(), index + 1),
                    title,
                    description: Some(self.render(
                        &texts.contract_row_description,
                        &[
                            ("contrato", &contract.erp_id),
                            ("situacao", contract.status.label()),
                        ],
                    )),
                }
            })
            .collect();
        let intro = self.render(&texts.choose_contract, &[]);
        let button = self.render(&texts.choice_button, &[]);
        self.send_list(&intro, &button, rows);
    }

    /// A number chosen from the list of the current stage; `false` when out of range.
    fn pick(&mut self, number: usize) -> bool {
        if number == 0 {
            return false;
        }
        let index = number - 1;
        match self.state.stage {
            Stage::ChooseCustomer => {
                let count = self.state.candidates.len();
                if index == count {
                    self.state.candidates.clear();
                    self.ask_document(false);
                    return true;
                }
                let Some(customer) = self.state.candidates.get(index).cloned() else {
                    return false;
                };
                self.state.candidates.clear();
                self.identify(customer, Verification::RegisteredPhone);
                true
            }
            Stage::ChooseContract => {
                let contracts = selectable(self.state.contracts.as_deref().unwrap_or_default());
                let Some(contract) = contracts.get(index).cloned() else {
                    return false;
                };
                self.journal(format!("Escolheu o contrato {}", contract.erp_id));
                self.state.contract = Some(contract);
                let flow = self.state.pending.take().unwrap_or(Flow::Connection);
                self.continue_with_contract(flow);
                true
            }
            Stage::ChooseInvoice => {
                let Some(invoice) = self.state.invoices.get(index).cloned() else {
                    return false;
                };
                let method = self.state.invoice_method;
                self.show_invoice(invoice, method);
                true
            }
            _ => false,
        }
    }

    fn continue_with_contract(&mut self, flow: Flow) {
        let Some(contract) = self.state.contract.clone() else {
            return self.run_flow(flow);
        };
        match flow {
            Flow::Unlock => {
                self.state.stage = Stage::ConfirmUnlock;
                self.ask_unlock_confirmation();
            }
            Flow::Connection => {
                self.state.pending = Some(flow);
                self.request(Action::CheckConnection(contract), Waiting::Connection);
            }
            Flow::Invoice { .. } | Flow::Debts | Flow::Ladder { .. } => self.run_flow(flow),
        }
    }

    // --- invoices ---------------------------------------------------------------------------

    fn on_open_invoices(&mut self, result: Result<Vec<Invoice>, ErpFailure>) {
        let invoices = match result {
            Ok(invoices) => invoices,
            Err(ErpFailure::NotFound) => Vec::new(),
            Err(failure) => return self.erp_failed(Waiting::OpenInvoices, &failure),
        };
        let flow = self.state.pending.take().unwrap_or(Flow::Invoice {
            method: PaymentMethodHint::Any,
        });
        if let Flow::Ladder { ask } = flow {
            return self.on_reminder_invoices(ask, invoices);
        }
        let contract_id = self.state.contract.as_ref().map(|c| c.erp_id.clone());
        let mut payable: Vec<Invoice> = invoices
            .into_iter()
            .filter(|invoice| invoice.status.is_payable())
            .filter(|invoice| match (&contract_id, &invoice.contract_id) {
                (Some(chosen), Some(of_invoice)) => chosen == of_invoice,
                _ => true,
            })
            .collect();
        payable.sort_by_key(|invoice| invoice.due_date);
        let total: i64 = payable.iter().map(format::owed_cents).sum();
        self.record(
            "erp_result",
            json!({ "operation": "open_invoices", "ok": true, "count": payable.len(), "total_cents": total }),
        );
        self.journal(format!(
            "Consulta de faturas: {} em aberto ({})",
            payable.len(),
            format::brl(total)
        ));
        self.state.invoices = payable;
        self.state.invoice = None;
        if self.state.invoices.is_empty() {
            let text = self.render(&self.texts().invoices_none, &[]);
            self.send_text(&text);
            self.complete(flow);
            return self.after_flow();
        }
        match flow {
            Flow::Debts => self.show_debts(),
            Flow::Invoice { method } => {
                self.state.invoice_method = method;
                if self.state.invoices.len() == 1 {
                    let invoice = self.state.invoices[0].clone();
                    self.show_invoice(invoice, method);
                } else {
                    self.state.stage = Stage::ChooseInvoice;
                    self.show_invoice_choice();
                }
            }
            Flow::Unlock | Flow::Connection | Flow::Ladder { .. } => self.show_menu(),
        }
    }

    fn status_label(&self, invoice: &Invoice) -> String {
        let texts = self.texts();
        let template = if format::is_overdue(invoice, self.today()) {
            &texts.status_overdue
        } else if invoice.status == InvoiceStatus::Partial {
            &texts.status_partial
        } else {
            &texts.status_open
        };
        self.render(template, &[])
    }

    fn show_invoice_choice(&mut self) {
        let texts = self.texts();
        let rows: Vec<Row> = self
            .state
            .invoices
            .iter()
            .enumerate()
            .map(|(index, invoice)| Row {
                id: format!("{}{}", PickList::Invoice.prefix(), index + 1),
                title: self.render(
                    &texts.invoice_row_title,
                    &[("vencimento", &format::date(invoice.due_date))],
                ),
                description: Some(self.render(
                    &texts.invoice_row_description,
                    &[
                        ("valor", &format::brl(format::owed_cents(invoice))),
                        ("situacao", &self.status_label(invoice)),
                    ],
                )),
            })
            .collect();
        let count = self.state.invoices.len().to_string();
        let intro = self.render(&texts.choose_invoice, &[("quantidade", &count)]);
        let button = self.render(&texts.choice_button, &[]);
        self.send_list(&intro, &button, rows);
    }

    fn invoice_summary(&self, invoice: &Invoice) -> String {
        let texts = self.texts();
        let due = format::date(invoice.due_date);
        let owed = format::brl(format::owed_cents(invoice));
        let mut summary = if format::is_overdue(invoice, self.today()) {
            match invoice.amount_due_cents {
                Some(updated) if updated != invoice.amount_cents => self.render(
                    &texts.invoice_summary_overdue,
                    &[
                        ("vencimento", &due),
                        ("valor", &format::brl(updated)),
                        ("valor_original", &format::brl(invoice.amount_cents)),
                    ],
                ),
                _ => self.render(
                    &texts.invoice_summary_overdue_plain,
                    &[("vencimento", &due), ("valor", &owed)],
                ),
            }
        } else {
            self.render(
                &texts.invoice_summary_open,
                &[("vencimento", &due), ("valor", &owed)],
            )
        };
        if let Some(paid) = invoice.paid_cents.filter(|paid| *paid > 0)
            && invoice.status == InvoiceStatus::Partial
        {
            summary.push('\n');
            summary.push_str(
                &self.render(&texts.invoice_partial_note, &[("pago", &format::brl(paid))]),
            );
        }
        summary
    }

    fn payment_link(invoice: &Invoice) -> Option<&str> {
        invoice
            .payment_methods
            .iter()
            .find_map(|method| match method {
                balcao_erp::PaymentMethod::Link { url } => Some(url.as_str()),
                _ => None,
            })
    }

    fn show_invoice(&mut self, invoice: Invoice, method: PaymentMethodHint) {
        self.state.invoice = Some(invoice.clone());
        let summary = self.invoice_summary(&invoice);
        if method != PaymentMethodHint::Any {
            self.send_text(&summary);
            return self.deliver(method);
        }
        let texts = self.texts();
        let overdue = format::is_overdue(&invoice, self.today());
        let pix = self.render(&texts.button_pix, &[]);
        let boleto = self.render(&texts.button_boleto, &[]);
        let third = if overdue {
            ("bot:negotiate", self.render(&texts.button_negotiate, &[]))
        } else {
            (
                "intent:human:financeiro",
                self.render(&texts.button_billing, &[]),
            )
        };
        let mut choices: Vec<(&str, &str)> = Vec::new();
        if invoice.pix_code().is_some() {
            choices.push(("bot:pix", &pix));
        }
        if invoice.digitable_line().is_some() {
            choices.push(("bot:boleto", &boleto));
        }
        if choices.is_empty() {
            self.send_text(&summary);
            return self.deliver(PaymentMethodHint::Any);
        }
        choices.push((third.0, &third.1));
        let question = if overdue {
            &texts.invoice_choose_method_overdue
        } else {
            &texts.invoice_choose_method
        };
        let body = format!("{summary}\n\n{}", self.render(question, &[]));
        self.state.stage = Stage::InvoiceMethod;
        let choices: Vec<(String, String)> = choices
            .into_iter()
            .map(|(id, title)| (id.to_owned(), title.to_owned()))
            .collect();
        self.send(compose::buttons(&body, &choices));
    }

    /// Sends the payment data of the invoice on offer in the wanted method, falling back to
    /// the others, then asks whether there is anything else.
    fn deliver(&mut self, method: PaymentMethodHint) {
        let Some(invoice) = self.state.invoice.clone() else {
            return self.start_flow(Flow::Invoice { method });
        };
        let texts = self.texts();
        let mut delivered = false;
        let order: &[PaymentMethodHint] = match method {
            PaymentMethodHint::Pix => &[PaymentMethodHint::Pix, PaymentMethodHint::Boleto],
            PaymentMethodHint::Boleto => &[PaymentMethodHint::Boleto, PaymentMethodHint::Pix],
            PaymentMethodHint::Any => &[PaymentMethodHint::Pix, PaymentMethodHint::Boleto],
        };
        for candidate in order {
            match candidate {
                PaymentMethodHint::Pix => {
                    if let Some(code) = invoice.pix_code() {
                        let intro = self.render(&texts.invoice_pix_intro, &[]);
                        self.send_text(&intro);
                        self.send_text(code);
                        delivered = true;
                        self.journal("Enviou o código Pix copia e cola".to_owned());
                    } else if method == PaymentMethodHint::Pix {
                        let text = self.render(&texts.invoice_no_pix, &[]);
                        self.send_text(&text);
                    }
                }
                _ => {
                    if let Some(line) = invoice.digitable_line() {
                        let intro = self.render(&texts.invoice_boleto_intro, &[]);
                        self.send_text(&intro);
                        self.send_text(line);
                        if let Some(pdf) = invoice.pdf_url() {
                            let due = format::date(invoice.due_date);
                            let caption =
                                self.render(&texts.invoice_pdf_caption, &[("vencimento", &due)]);
                            let filename = format!("boleto-{}.pdf", invoice.due_date);
                            self.send(vec![compose::document(pdf, &filename, &caption)]);
                        }
                        delivered = true;
                        self.journal("Enviou a linha digitável do boleto".to_owned());
                    } else if method == PaymentMethodHint::Boleto {
                        let text = self.render(&texts.invoice_no_boleto, &[]);
                        self.send_text(&text);
                    }
                }
            }
            if delivered {
                break;
            }
        }
        if let Some(link) = Self::payment_link(&invoice) {
            let text = self.render(&texts.invoice_link, &[("link", link)]);
            self.send_text(&text);
            delivered = true;
        }
        self.record(
            "invoice_sent",
            json!({ "invoice_erp_id": invoice.erp_id, "method": method.as_str(), "delivered": delivered }),
        );
        if delivered {
            self.complete(Flow::Invoice { method });
            return self.after_flow();
        }
        let text = self.render(&texts.invoice_no_method, &[]);
        let billing = self.render(&texts.button_billing, &[]);
        let menu = self.render(&texts.button_menu, &[]);
        self.journal("Fatura sem forma de pagamento disponível".to_owned());
        self.offer(
            &text,
            &[
                ("intent:human:financeiro", &billing),
                ("intent:menu", &menu),
            ],
        );
    }

    fn show_debts(&mut self) {
        let texts = self.texts();
        let count = self.state.invoices.len();
        let mut body = self.render(&texts.debts_header, &[("quantidade", &count.to_string())]);
        for invoice in self.state.invoices.iter().take(DEBT_LINES_MAX) {
            body.push('\n');
            body.push_str(&self.render(
                &texts.debts_line,
                &[
                    ("vencimento", &format::date(invoice.due_date)),
                    ("valor", &format::brl(format::owed_cents(invoice))),
                    ("situacao", &self.status_label(invoice)),
                ],
            ));
        }
        if count > DEBT_LINES_MAX {
            body.push('\n');
            body.push_str(&self.render(
                &texts.debts_more,
                &[("quantidade", &(count - DEBT_LINES_MAX).to_string())],
            ));
        }
        let total: i64 = self.state.invoices.iter().map(format::owed_cents).sum();
        body.push_str("\n\n");
        body.push_str(&self.render(&texts.debts_total, &[("total", &format::brl(total))]));
        self.send_text(&body);
        self.complete(Flow::Debts);
        let next = self.render(&texts.debts_next, &[]);
        let invoice = self.render(&texts.button_invoice, &[]);
        let billing = self.render(&texts.button_billing, &[]);
        let menu = self.render(&texts.button_menu, &[]);
        self.offer(
            &next,
            &[
                ("intent:invoice", &invoice),
                ("intent:human:financeiro", &billing),
                ("intent:menu", &menu),
            ],
        );
    }

    fn complete(&mut self, flow: Flow) {
        self.state.flows_completed += 1;
        self.record("flow_completed", json!({ "flow": flow.as_str() }));
    }

    // --- trust unlock -----------------------------------------------------------------------

    fn ask_unlock_confirmation(&mut self) {
        let contract_id = self
            .state
            .contract
            .as_ref()
            .map(|c| c.erp_id.clone())
            .unwrap_or_default();
        let texts = self.texts();
        let body = self.render(&texts.unlock_confirm, &[("contrato", &contract_id)]);
        let yes = self.render(&texts.button_yes, &[]);
        let no = self.render(&texts.button_no, &[]);
        self.send_buttons(&body, &[("intent:yes", &yes), ("intent:no", &no)]);
    }

    fn trust_unlock(&mut self) {
        let Some(contract) = self.state.contract.clone() else {
            return self.run_flow(Flow::Unlock);
        };
        self.state.pending = Some(Flow::Unlock);
        self.request(Action::TrustUnlock(contract), Waiting::Unlock);
    }

    fn unlock_granted_text(&self, result: &UnlockResult) -> String {
        let texts = self.texts();
        let protocol = result
            .protocol
            .clone()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| self.state.protocol.clone());
        match (result.until, result.days) {
            (Some(until), _) => self.render(
                &texts.unlock_granted_until,
                &[
                    ("ate", &format::date(until)),
                    ("protocolo_liberacao", &protocol),
                ],
            ),
            (None, Some(days)) => self.render(
                &texts.unlock_granted_days,
                &[
                    ("dias", &days.to_string()),
                    ("protocolo_liberacao", &protocol),
                ],
            ),
            (None, None) => {
                self.render(&texts.unlock_granted, &[("protocolo_liberacao", &protocol)])
            }
        }
    }

    fn refusal_text(&self, refusal: UnlockRefusal) -> String {
        let texts = self.texts();
        let template = match refusal {
            UnlockRefusal::AlreadyUsedUnpaid => &texts.unlock_refused_already_used,
            UnlockRefusal::NotBlocked => &texts.unlock_refused_not_blocked,
            UnlockRefusal::ContractInactive => &texts.unlock_refused_inactive,
            UnlockRefusal::NotFound => &texts.unlock_refused_not_found,
            UnlockRefusal::ExceedsPolicy => &texts.unlock_refused_policy,
            UnlockRefusal::NotSupported | UnlockRefusal::Unknown => &texts.unlock_refused_unknown,
        };
        self.render(template, &[])
    }

    fn on_unlock(&mut self, result: Result<UnlockResult, ErpFailure>) {
        self.state.pending = None;
        let result = match result {
            Ok(result) => result,
            Err(ErpFailure::NotFound) => UnlockResult::refused(UnlockRefusal::NotFound, None),
            Err(failure) => return self.erp_failed(Waiting::Unlock, &failure),
        };
        let refusal = (!result.granted).then(|| result.refusal.unwrap_or(UnlockRefusal::Unknown));
        self.record(
            "erp_result",
            json!({
                "operation": "trust_unlock",
                "ok": true,
                "granted": result.granted,
                "refusal": refusal,
                "until": result.until.map(|d| d.to_string()),
            }),
        );
        let Some(refusal) = refusal else {
            self.journal(format!(
                "Desbloqueio de confiança concedido{}",
                result
                    .until
                    .map(|d| format!(" até {}", format::date(d)))
                    .unwrap_or_default()
            ));
            let text = self.unlock_granted_text(&result);
            self.send_text(&text);
            self.complete(Flow::Unlock);
            return self.after_flow();
        };
        self.journal(format!(
            "Desbloqueio de confiança recusado: {}{}",
            refusal_label(refusal),
            result
                .erp_message
                .as_deref()
                .map(|m| format!(" (sistema: {m})"))
                .unwrap_or_default()
        ));
        if refusal == UnlockRefusal::NotSupported {
            let lead = self.render(&self.texts().erp_not_supported, &[]);
            return self.handoff(
                Sector::Billing,
                "o sistema de gestão não oferece desbloqueio de confiança",
                Some(lead),
            );
        }
        let text = self.refusal_text(refusal);
        self.complete(Flow::Unlock);
        let texts = self.texts();
        let billing = self.render(&texts.button_billing, &[]);
        let menu = self.render(&texts.button_menu, &[]);
        match refusal {
            UnlockRefusal::AlreadyUsedUnpaid => {
                let invoice = self.render(&texts.button_invoice, &[]);
                self.offer(
                    &text,
                    &[
                        ("intent:invoice", &invoice),
                        ("intent:human:financeiro", &billing),
                        ("intent:menu", &menu),
                    ],
                );
            }
            UnlockRefusal::NotBlocked => {
                let connection = self.render(&texts.button_connection, &[]);
                let human = self.render(&texts.button_human, &[]);
                self.offer(
                    &text,
                    &[
                        ("intent:connection", &connection),
                        ("intent:human:suporte", &human),
                        ("intent:menu", &menu),
                    ],
                );
            }
            _ => self.offer(
                &text,
                &[
                    ("intent:human:financeiro", &billing),
                    ("intent:menu", &menu),
                ],
            ),
        }
    }

    // --- connection -------------------------------------------------------------------------

    fn ask_connection_back(&mut self, body: &str) {
        self.state.stage = Stage::ConnectionCheck;
        let texts = self.texts();
        let yes = self.render(&texts.button_back_yes, &[]);
        let no = self.render(&texts.button_back_no, &[]);
        let human = self.render(&texts.button_human, &[]);
        self.send_buttons(
            body,
            &[
                ("intent:yes", &yes),
                ("intent:no", &no),
                ("intent:human:suporte", &human),
            ],
        );
    }

    fn on_connection(&mut self, result: Result<ConnectionStatus, ErpFailure>) {
        self.state.pending = None;
        let status = match result {
            Ok(status) => status,
            Err(failure) => return self.erp_failed(Waiting::Connection, &failure),
        };
        let contract_status =
            status
                .contract_status
                .or(self.state.contract.as_ref().map(|c| c.status));
        self.record(
            "erp_result",
            json!({
                "operation": "connection_status",
                "ok": true,
                "online": status.online,
                "blocked": status.blocked,
                "contract_status": contract_status,
            }),
        );
        let held_by_people = matches!(
            contract_status,
            Some(
                ContractStatus::SuspendedManual
                    | ContractStatus::SuspendedByRequest
                    | ContractStatus::Cancelled
                    | ContractStatus::PendingInstall
            )
        );
        let debt_block = contract_status.is_some_and(ContractStatus::is_blocked_for_debt)
            || (status.blocked == Some(true) && !held_by_people);
        if debt_block {
            self.journal("Conexão suspensa por débito; encaminhado para a fatura".to_owned());
            let text = self.render(&self.texts().connection_suspended_debt, &[]);
            self.send_text(&text);
            let flow = Flow::Invoice {
                method: PaymentMethodHint::Any,
            };
            self.note_flow(flow);
            return self.run_flow(flow);
        }
        if held_by_people {
            let label = contract_status.map(ContractStatus::label).unwrap_or("");
            self.journal(format!("Conexão bloqueada: {label}"));
            let lead = self.render(
                &self.texts().connection_blocked_other,
                &[("situacao", &label.to_lowercase())],
            );
            return self.handoff(
                Sector::Support,
                &format!("conexão bloqueada ({label})"),
                Some(lead),
            );
        }
        let texts = self.texts();
        let (template, state) = match status.online {
            Some(false) => (&texts.connection_offline, "offline"),
            Some(true) => (&texts.connection_online, "online"),
            None => (&texts.connection_unknown, "desconhecido"),
        };
        self.journal(format!(
            "Conexão no sistema: {state}; orientado a reiniciar o roteador e conferir os cabos"
        ));
        let body = self.render(template, &[]);
        self.ask_connection_back(&body);
    }

    fn open_ticket(&mut self) {
        let (Some(customer), contract) = (self.customer(), self.state.contract.clone()) else {
            return self.start_flow(Flow::Connection);
        };
        self.journal("Continua sem conexão após as orientações".to_owned());
        let contact_phone = self.state.wa_id.as_ref().map(|wa_id| {
            BrPhone::from_wa_id(wa_id)
                .map(|phone| phone.national())
                .unwrap_or_else(|_| wa_id.to_string())
        });
        let description = format!(
            "Aberto pelo atendimento automático (WhatsApp), protocolo {}.\n{}",
            self.state.protocol,
            self.state.journal.join("\n")
        );
        let ticket = NewTicket {
            customer_erp_id: customer.erp_id.clone(),
            contract_erp_id: contract.map(|c| c.erp_id),
            subject: "Sem conexão".to_owned(),
            description,
            contact_name: Some(customer.name.trim().to_owned()).filter(|n| !n.is_empty()),
            contact_phone,
        };
        self.state.pending = Some(Flow::Connection);
        self.request(Action::OpenTicket(ticket), Waiting::Ticket);
    }

    fn on_ticket(&mut self, result: Result<Ticket, ErpFailure>) {
        self.state.pending = None;
        let ticket = match result {
            Ok(ticket) => ticket,
            Err(failure) => return self.erp_failed(Waiting::Ticket, &failure),
        };
        self.record(
            "erp_result",
            json!({ "operation": "open_ticket", "ok": true, "ticket_protocol": ticket.protocol }),
        );
        self.journal(format!("Chamado técnico aberto: {}", ticket.protocol));
        let text = self.render(
            &self.texts().connection_ticket_opened,
            &[("chamado", &ticket.protocol)],
        );
        self.send_text(&text);
        self.complete(Flow::Connection);
        self.after_flow();
    }

    /// A write answered after the conversation went to people: tell the subscriber what
    /// happened (the attendant sees it too), without prompts.
    fn write_after_handoff(&mut self, outcome: ErpOutcome) {
        match outcome {
            ErpOutcome::Unlock(Ok(result)) => {
                self.record(
                    "erp_result",
                    json!({ "operation": "trust_unlock", "ok": true, "granted": result.granted, "after_handoff": true }),
                );
                let text = if result.granted {
                    self.unlock_granted_text(&result)
                } else {
                    self.refusal_text(result.refusal.unwrap_or(UnlockRefusal::Unknown))
                };
                self.send_text(&text);
            }
            ErpOutcome::Ticket(Ok(ticket)) => {
                self.record(
                    "erp_result",
                    json!({ "operation": "open_ticket", "ok": true, "ticket_protocol": ticket.protocol, "after_handoff": true }),
                );
                let text = self.render(
                    &self.texts().connection_ticket_opened,
                    &[("chamado", &ticket.protocol)],
                );
                self.send_text(&text);
            }
            other => {
                self.record(
                    "erp_result",
                    json!({ "operation": other.waiting().as_str(), "ok": false, "after_handoff": true }),
                );
            }
        }
    }
}

fn refusal_label(refusal: UnlockRefusal) -> &'static str {
    match refusal {
        UnlockRefusal::AlreadyUsedUnpaid => "já utilizado no período com fatura em aberto",
        UnlockRefusal::NotBlocked => "contrato não está bloqueado",
        UnlockRefusal::ContractInactive => "contrato cancelado ou inativo",
        UnlockRefusal::NotFound => "contrato não encontrado",
        UnlockRefusal::ExceedsPolicy => "fora da política do provedor",
        UnlockRefusal::NotSupported => "não suportado pelo sistema",
        UnlockRefusal::Unknown => "motivo não informado",
    }
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Start => "start",
        Stage::Identifying => "identifying",
        Stage::AskDocument => "ask_document",
        Stage::ConfirmIdentity => "confirm_identity",
        Stage::ChooseCustomer => "choose_customer",
        Stage::ChooseContract => "choose_contract",
        Stage::Menu => "menu",
        Stage::ChooseInvoice => "choose_invoice",
        Stage::InvoiceMethod => "invoice_method",
        Stage::ConfirmUnlock => "confirm_unlock",
        Stage::ConnectionCheck => "connection_check",
        Stage::ChooseSector => "choose_sector",
        Stage::Negotiation => "negotiation",
        Stage::AwaitReceipt => "await_receipt",
        Stage::AfterFlow => "after_flow",
        Stage::HandedOff { .. } => "handed_off",
        Stage::Closed => "closed",
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn later(now: Timestamp, after: SignedDuration) -> Timestamp {
    now.checked_add(after).unwrap_or(Timestamp::MAX)
}
