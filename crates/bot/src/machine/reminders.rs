//! Replies to billing-ladder reminders: the reminder's invoice found among the customer's open
//! invoices, then Pix / boleto, negotiation, "já paguei" with the receipt, or the billing team.
//! See the crate documentation ("Replies to the billing ladder") for the behaviour.

use super::{Turn, Understood};
use crate::compose;
use crate::format;
use crate::io::{Action, ErpFailure, LadderReminder, Resolution, Waiting};
use crate::ladder::{self, LadderAsk, LadderPayload, NegotiationOption};
use crate::state::{Flow, Stage};
use balcao_domain::webhook::MediaKind;
use balcao_erp::{Customer, Invoice, InvoiceStatus};
use balcao_intent::{Intent, PaymentMethodHint, Sector, normalize};
use serde_json::json;

impl Turn<'_, '_> {
    /// Keeps the reminder this message answers: the invoice of a tapped reminder button (with
    /// the step when the engine knows the template), else the reminder the engine saw before
    /// the message. Later messages of the conversation keep referring to it.
    pub(super) fn remember_reminder(
        &mut self,
        payload: Option<&LadderPayload>,
        seen: Option<LadderReminder>,
    ) {
        let next = match payload {
            Some(LadderPayload::Button { invoice_id, .. }) => {
                let step_of = |reminder: Option<&LadderReminder>| {
                    reminder
                        .filter(|r| r.invoice_id == *invoice_id)
                        .and_then(|r| r.step.clone())
                };
                let step = step_of(seen.as_ref()).or_else(|| step_of(self.state.reminder.as_ref()));
                Some(LadderReminder {
                    invoice_id: invoice_id.clone(),
                    step,
                })
            }
            _ => seen,
        };
        let Some(next) = next else {
            return;
        };
        if self.state.reminder.as_ref() == Some(&next) {
            return;
        }
        let step = next
            .step
            .as_deref()
            .map(|s| format!(" {}", ladder::step_label(s)))
            .unwrap_or_default();
        self.journal(format!(
            "Respondeu ao lembrete de cobrança{step} da fatura {}",
            next.invoice_id
        ));
        self.tag("regua");
        self.state.reminder = Some(next);
    }

    /// What a typed message (or a photo) means in answer to a reminder: "manda o pix", "boleto",
    /// "já paguei", "quero negociar", a receipt. `None` without a reminder or for anything else.
    pub(super) fn reminder_text_ask(&self, understood: &Understood) -> Option<LadderAsk> {
        self.state.reminder.as_ref()?;
        if understood.media.is_some_and(ladder::is_receipt) {
            return Some(LadderAsk::AlreadyPaid);
        }
        // "Paguei a parcela" is a payment, not a wish to negotiate.
        if understood.intent == Intent::AlreadyPaid {
            return Some(LadderAsk::AlreadyPaid);
        }
        if ladder::asks_to_negotiate(&normalize(&understood.text)) {
            return Some(LadderAsk::Negotiate);
        }
        match understood.intent {
            // Looking at other invoices: "pix" means the one on screen.
            Intent::Invoice
                if !matches!(
                    self.state.stage,
                    Stage::InvoiceMethod | Stage::ChooseInvoice
                ) =>
            {
                match understood.extracted.payment_method {
                    Some(method @ (PaymentMethodHint::Pix | PaymentMethodHint::Boleto)) => {
                        Some(LadderAsk::Pay { method })
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn record_ladder_ask(&mut self, ask: LadderAsk, understood: &Understood) {
        let (invoice, step) = self
            .state
            .reminder
            .as_ref()
            .map(|r| (r.invoice_id.clone(), r.step.clone()))
            .unwrap_or_default();
        self.record(
            "ladder_reply",
            json!({
                "ask": ask.as_str(),
                "invoice_erp_id": invoice,
                "step": step,
                "source": understood.source,
            }),
        );
        if ask == LadderAsk::AlreadyPaid && understood.media.is_some_and(ladder::is_receipt) {
            self.state.receipt_received = true;
            self.journal("Enviou um comprovante em resposta ao lembrete".to_owned());
            self.tag("comprovante");
        }
    }

    /// An ask noted to run once the subscriber is identified.
    pub(super) fn note_ladder_ask(&mut self, ask: LadderAsk, understood: &Understood) {
        self.record_ladder_ask(ask, understood);
        let flow = Flow::Ladder { ask };
        self.note_flow(flow);
        self.state.pending = Some(flow);
    }

    pub(super) fn ladder_ask(&mut self, ask: LadderAsk, understood: &Understood) {
        self.record_ladder_ask(ask, understood);
        self.start_flow(Flow::Ladder { ask });
    }

    /// Identified and verified: the reminder's invoice comes from the customer's open invoices.
    pub(super) fn run_reminder_flow(&mut self, ask: LadderAsk, customer: Customer) {
        if self.state.reminder.is_none() {
            // Not reachable through `ladder_ask`; answer as the same words would without one.
            return match ask {
                LadderAsk::Pay { method } => self.run_flow(Flow::Invoice { method }),
                LadderAsk::Negotiate => self.negotiate(),
                LadderAsk::AlreadyPaid => self.already_paid(),
                LadderAsk::TalkToFinance => {
                    self.handoff(Sector::Billing, "pediu para falar com o financeiro", None)
                }
            };
        }
        self.state.pending = Some(Flow::Ladder { ask });
        self.request(Action::FetchOpenInvoices(customer), Waiting::OpenInvoices);
    }

    pub(super) fn on_reminder_invoices(&mut self, ask: LadderAsk, invoices: Vec<Invoice>) {
        let mut payable: Vec<Invoice> = invoices
            .into_iter()
            .filter(|invoice| invoice.status.is_payable())
            .collect();
        payable.sort_by_key(|invoice| invoice.due_date);
        let total: i64 = payable.iter().map(format::owed_cents).sum();
        self.record(
            "erp_result",
            json!({ "operation": "open_invoices", "ok": true, "count": payable.len(), "total_cents": total }),
        );
        let invoice_id = self
            .state
            .reminder
            .as_ref()
            .map(|r| r.invoice_id.clone())
            .unwrap_or_default();
        let found = payable.iter().find(|i| i.erp_id == invoice_id).cloned();
        self.record(
            "ladder_invoice",
            json!({ "invoice_erp_id": invoice_id, "open": found.is_some() }),
        );
        self.state.invoices = payable;
        self.state.invoice = None;
        let Some(invoice) = found else {
            return self.reminder_invoice_not_open(ask, &invoice_id);
        };
        let context = self.invoice_context(&invoice);
        let line = format!("Fatura do lembrete: {context}");
        if !self.state.journal.contains(&line) {
            self.journal(line);
        }
        self.state.invoice = Some(invoice.clone());
        match ask {
            LadderAsk::Pay { method } => self.show_invoice(invoice, method),
            LadderAsk::Negotiate => self.show_negotiation(&invoice),
            LadderAsk::AlreadyPaid => {
                let Some(customer) = self.customer() else {
                    return self.ask_document(false);
                };
                self.state.pending = Some(Flow::Ladder { ask });
                self.request(
                    Action::FetchInvoice {
                        customer,
                        invoice_id,
                    },
                    Waiting::Invoice,
                );
            }
            LadderAsk::TalkToFinance => self.handoff(
                Sector::Billing,
                &format!("pediu para falar com o financeiro sobre a {context}"),
                None,
            ),
        }
    }

    /// The reminder's invoice is not among the open ones (paid, cancelled, or not this
    /// customer's): nothing about it is shown. "Já paguei" reads that invoice for this customer
    /// first: only a paid one is thanked for.
    fn reminder_invoice_not_open(&mut self, ask: LadderAsk, invoice_id: &str) {
        self.journal(format!(
            "A fatura {invoice_id} do lembrete não está mais em aberto"
        ));
        let flow = Flow::Ladder { ask };
        match ask {
            LadderAsk::TalkToFinance => self.handoff(
                Sector::Billing,
                &format!(
                    "pediu para falar com o financeiro sobre a fatura {invoice_id}{}, que não consta mais em aberto",
                    self.step_suffix()
                ),
                None,
            ),
            LadderAsk::AlreadyPaid => {
                let Some(customer) = self.customer() else {
                    return self.ask_document(false);
                };
                self.state.pending = Some(flow);
                self.request(
                    Action::FetchInvoice {
                        customer,
                        invoice_id: invoice_id.to_owned(),
                    },
                    Waiting::Invoice,
                );
            }
            LadderAsk::Pay { .. } | LadderAsk::Negotiate => {
                self.complete(flow);
                let texts = self.texts();
                let not_open = self.render(&texts.reminder_invoice_not_open, &[]);
                let others = self.state.invoices.len();
                if others == 0 {
                    let nothing = self.render(&texts.reminder_nothing_open, &[]);
                    return self.close_resolved(&format!("{not_open}\n\n{nothing}"));
                }
                let more = self.render(
                    &texts.reminder_other_invoices,
                    &[("quantidade", &others.to_string())],
                );
                let invoice = self.render(&texts.button_invoice, &[]);
                let menu = self.render(&texts.button_menu, &[]);
                self.offer(
                    &format!("{not_open}\n\n{more}"),
                    &[("intent:invoice", &invoice), ("intent:menu", &menu)],
                );
            }
        }
    }

    /// Ends the conversation resolved by the bot with a last message.
    fn close_resolved(&mut self, text: &str) {
        self.send_text(text);
        self.resolve(Resolution::ResolvedByBot);
        self.actions.push(Action::Close);
        self.state.stage = Stage::Closed;
        self.state.pending = None;
    }

    // --- negotiation ------------------------------------------------------------------------

    pub(super) fn show_negotiation(&mut self, invoice: &Invoice) {
        self.state.stage = Stage::Negotiation;
        self.record(
            "negotiation_offered",
            json!({ "invoice_erp_id": invoice.erp_id }),
        );
        let texts = self.texts();
        let intro = self.render(
            &texts.negotiation_options,
            &[
                ("vencimento", &format::date(invoice.due_date)),
                ("valor", &format::brl(format::owed_cents(invoice))),
            ],
        );
        let choices: Vec<(String, String)> = NegotiationOption::ALL
            .into_iter()
            .map(|option| {
                let template = match option {
                    NegotiationOption::PayInFull => &texts.negotiation_pay_in_full,
                    NegotiationOption::NewDueDate => &texts.negotiation_new_due_date,
                    NegotiationOption::Instalments => &texts.negotiation_instalments,
                };
                (option.reply_id(), self.render(template, &[]))
            })
            .collect();
        let mut body = intro;
        body.push('\n');
        for (index, (_, title)) in choices.iter().enumerate() {
            body.push_str(&format!("\n*{}.* {title}", index + 1));
        }
        self.send(compose::buttons(&body, &choices));
    }

    pub(super) fn negotiation_choice(&mut self, option: NegotiationOption) {
        let Some(invoice) = self.state.invoice.clone() else {
            return self.negotiate();
        };
        self.record(
            "negotiation_chosen",
            json!({ "option": option.as_str(), "invoice_erp_id": invoice.erp_id }),
        );
        self.journal(format!("Negociação: escolheu {}", option.request_label()));
        let texts = self.texts();
        let (tag, lead) = match option {
            NegotiationOption::PayInFull => {
                return self.show_invoice(invoice, PaymentMethodHint::Any);
            }
            NegotiationOption::NewDueDate => (
                "negociacao_nova_data",
                &texts.negotiation_new_due_date_noted,
            ),
            NegotiationOption::Instalments => (
                "negociacao_parcelamento",
                &texts.negotiation_instalments_noted,
            ),
        };
        self.tag(tag);
        let lead = self.render(lead, &[]);
        let reason = format!(
            "pediu {} da {}",
            option.request_label(),
            self.invoice_context(&invoice)
        );
        self.handoff(Sector::Billing, &reason, Some(lead));
    }

    // --- "já paguei" --------------------------------------------------------------------------

    pub(super) fn on_fresh_invoice(&mut self, result: Result<Invoice, ErpFailure>) {
        self.state.pending = None;
        let invoice = match result {
            Ok(invoice) => invoice,
            Err(ErpFailure::NotFound) => {
                self.record(
                    "erp_result",
                    json!({ "operation": "invoice", "ok": false, "failure": "not_found" }),
                );
                return self.paid_invoice_not_found(None);
            }
            Err(failure) => return self.erp_failed(Waiting::Invoice, &failure),
        };
        self.record(
            "erp_result",
            json!({ "operation": "invoice", "ok": true, "status": invoice.status }),
        );
        if invoice.status == InvoiceStatus::Paid {
            return self.payment_confirmed(&invoice);
        }
        if !invoice.status.is_payable() {
            return self.paid_invoice_not_found(Some(invoice.status));
        }
        self.state.invoice = Some(invoice.clone());
        if std::mem::take(&mut self.state.receipt_received) {
            self.journal("Pagamento ainda não consta no sistema".to_owned());
            let lead = self.render(&self.texts().receipt_received, &[]);
            let reason = format!(
                "comprovante enviado; informou que já pagou a {}",
                self.invoice_context(&invoice)
            );
            return self.handoff(Sector::Billing, &reason, Some(lead));
        }
        self.ask_receipt(&invoice);
    }

    /// The fresh read of the invoice for this customer says paid: thanks, and the conversation
    /// ends.
    fn payment_confirmed(&mut self, invoice: &Invoice) {
        self.record(
            "payment_confirmed",
            json!({
                "invoice_erp_id": self.state.reminder.as_ref().map(|r| r.invoice_id.clone()),
                "status": invoice.status,
            }),
        );
        self.tag("pagamento_confirmado");
        self.state.receipt_received = false;
        self.journal("Pagamento confirmado no sistema de gestão".to_owned());
        let text = self.render(
            &self.texts().payment_confirmed,
            &[("vencimento", &format::date(invoice.due_date))],
        );
        self.complete(Flow::Ladder {
            ask: LadderAsk::AlreadyPaid,
        });
        self.close_resolved(&text);
    }

    /// "Já paguei", and this customer's registration has no such invoice (another
    /// registration's on a shared phone, or cancelled): nothing is confirmed, the billing team
    /// checks it.
    fn paid_invoice_not_found(&mut self, status: Option<InvoiceStatus>) {
        let invoice_id = self
            .state
            .reminder
            .as_ref()
            .map(|r| r.invoice_id.clone())
            .unwrap_or_default();
        self.record(
            "payment_not_found",
            json!({ "invoice_erp_id": invoice_id, "status": status }),
        );
        let found = match status {
            Some(InvoiceStatus::Cancelled) => "que consta como cancelada neste cadastro",
            _ => "que não foi encontrada neste cadastro",
        };
        self.journal(format!("A fatura {invoice_id} do lembrete {found}"));
        self.state.receipt_received = false;
        let lead = self.render(&self.texts().reminder_invoice_not_found, &[]);
        let reason = format!(
            "informou que já pagou a fatura {invoice_id}{}, {found}",
            self.step_suffix()
        );
        self.handoff(Sector::Billing, &reason, Some(lead));
    }

    fn ask_receipt(&mut self, invoice: &Invoice) {
        self.state.stage = Stage::AwaitReceipt;
        self.record(
            "receipt_requested",
            json!({ "invoice_erp_id": invoice.erp_id }),
        );
        self.journal("Pagamento ainda não consta no sistema; pediu o comprovante".to_owned());
        let body = self.render(
            &self.texts().receipt_request,
            &[
                ("vencimento", &format::date(invoice.due_date)),
                ("valor", &format::brl(format::owed_cents(invoice))),
            ],
        );
        self.send_receipt_buttons(&body);
    }

    pub(super) fn ask_receipt_again(&mut self) {
        let body = self.render(&self.texts().receipt_again, &[]);
        self.send_receipt_buttons(&body);
    }

    fn send_receipt_buttons(&mut self, body: &str) {
        let texts = self.texts();
        let none = self.render(&texts.button_no_receipt, &[]);
        let billing = self.render(&texts.button_billing, &[]);
        self.send_buttons(
            body,
            &[
                (super::RECEIPT_NONE_ID, &none),
                ("intent:human:financeiro", &billing),
            ],
        );
    }

    /// An answer while the receipt is awaited; `false` when it is about something else.
    pub(super) fn receipt_answer(&mut self, understood: &Understood) -> bool {
        if let Some(media) = understood.media {
            if ladder::is_receipt(media) {
                self.receipt_arrived(media);
            } else {
                self.ask_receipt_again();
            }
            return true;
        }
        let normalized = normalize(&understood.text);
        if understood.intent == Intent::No || ladder::has_no_receipt(&normalized) {
            self.no_receipt();
            return true;
        }
        if understood.intent == Intent::AlreadyPaid {
            self.ask_receipt_again();
            return true;
        }
        false
    }

    fn receipt_arrived(&mut self, media: MediaKind) {
        self.tag("comprovante");
        self.record("receipt_received", json!({ "media": media.as_str() }));
        let kind = if media == MediaKind::Document {
            "documento"
        } else {
            "foto"
        };
        self.journal(format!("Enviou o comprovante ({kind})"));
        let lead = self.render(&self.texts().receipt_received, &[]);
        let reason = format!(
            "comprovante enviado; informou que já pagou a {}",
            self.reminder_invoice_context()
        );
        self.handoff(Sector::Billing, &reason, Some(lead));
    }

    pub(super) fn no_receipt(&mut self) {
        self.record("receipt_missing", json!({}));
        self.journal("Informou que não tem o comprovante".to_owned());
        let lead = self.render(&self.texts().receipt_missing, &[]);
        let reason = format!(
            "informou que já pagou, sem comprovante, a {}",
            self.reminder_invoice_context()
        );
        self.handoff(Sector::Billing, &reason, Some(lead));
    }

    pub(super) fn receipt_timeout(&mut self) {
        self.record("receipt_timeout", json!({}));
        self.journal("Não enviou o comprovante a tempo".to_owned());
        let lead = self.render(&self.texts().receipt_timeout, &[]);
        let reason = format!(
            "informou que já pagou e não enviou o comprovante; {}",
            self.reminder_invoice_context()
        );
        self.handoff(Sector::Billing, &reason, Some(lead));
    }

    // --- context for the billing team ---------------------------------------------------------

    /// " (lembrete D+3 da régua)" when the step is known.
    fn step_suffix(&self) -> String {
        self.state
            .reminder
            .as_ref()
            .and_then(|r| r.step.as_deref())
            .map(|step| format!(" (lembrete {} da régua)", ladder::step_label(step)))
            .unwrap_or_default()
    }

    /// "fatura de 10/12/2026 (nº 123), R$ 120,00, 3 dias em atraso (lembrete D+3 da régua)".
    fn invoice_context(&self, invoice: &Invoice) -> String {
        let days_late = (self.today() - invoice.due_date).get_days();
        let timing = match days_late {
            1 => "1 dia em atraso".to_owned(),
            late if late > 1 => format!("{late} dias em atraso"),
            0 => "vence hoje".to_owned(),
            -1 => "vence amanhã".to_owned(),
            early => format!("vence em {} dias", -early),
        };
        format!(
            "fatura de {} (nº {}), {}, {timing}{}",
            format::date(invoice.due_date),
            invoice.erp_id,
            format::brl(format::owed_cents(invoice)),
            self.step_suffix()
        )
    }

    /// The context of the invoice on offer, or at least its id.
    fn reminder_invoice_context(&self) -> String {
        match &self.state.invoice {
            Some(invoice) => self.invoice_context(invoice),
            None => format!(
                "fatura {}{}",
                self.state
                    .reminder
                    .as_ref()
                    .map(|r| r.invoice_id.as_str())
                    .unwrap_or("do lembrete"),
                self.step_suffix()
            ),
        }
    }
}
