//! Balcão's self-service WhatsApp bot as a pure, sans-IO state machine.
//!
//! The engine owns IO. Per conversation it stores a [`BotState`] (serde JSON), and for every
//! input — an inbound message, the answer of an ERP call, an inactivity timer — it calls
//! [`step`] and executes the returned [`Action`]s in order:
//!
//! - `Send` → outbox (contents already fit WhatsApp's limits: ≤3 buttons with titles ≤20,
//!   lists ≤10 rows with titles ≤24 and descriptions ≤72, bodies split when too long);
//! - ERP actions (`LookupByPhone`, `LookupByDocument`, `FetchContracts`, `FetchOpenInvoices`,
//!   `FetchInvoice`, `TrustUnlock`, `CheckConnection`, `OpenTicket`) → call the adapter and feed
//!   the result back
//!   as [`Input::Erp`] with the matching [`ErpOutcome`] variant (errors converted with
//!   `ErpFailure::from(&ErpError)`). A step emits at most one ERP action and the state records
//!   what it waits for ([`BotState::waiting_for`]); answers nobody waits for any more are
//!   ignored. `LookupByPhone` must match both 9th-digit forms of the number.
//! - `Handoff`, `Tag`, `Resolve`, `Record`, `Close` → conversation bookkeeping and events;
//! - `ScheduleInactivity { at }` → (re)arm one timer per conversation that feeds
//!   [`Input::InactivityTimer`]; stale timers are ignored by the bot.
//!
//! # Behaviour
//! - **Protocol (Anatel RGC art. 9)**: the engine creates the state with the protocol number
//!   ([`BotState::new`]); the first reply carries it with date and time in the provider's time
//!   zone, and "qual meu protocolo" repeats it at any point, even while waiting or after a
//!   handoff.
//! - **Identification**: by the WhatsApp number first; nobody → CPF/CNPJ (validated, with a
//!   pt-BR reason when invalid; limited attempts, then a person); several customers or
//!   contracts → a numbered list message.
//! - **Never trapped**: "menu" and "atendente" work in every state; a message not understood
//!   gets help and the current question again, and after
//!   [`Limits::max_invalid_inputs`] in a row a person takes over; silence gets a reminder
//!   and then a polite close; an ERP that is down, slow, or lacks an operation gets an apology
//!   and a handoff with context — never silence.
//!
//! # LGPD policy: who may see invoice and contract data
//! Invoice, debt, contract and connection data are shown only to a number the provider
//! registered for the customer, or after a confirmation:
//! 1. Found by the phone lookup: the ERP lists this WhatsApp number for the customer → verified.
//! 2. Found by a typed CPF/CNPJ and this number is among the customer's phones → verified.
//! 3. Found by a typed CPF/CNPJ from another number → *pending*: a CPF is not a secret (it is
//!    printed on many documents), so the bot asks for the registered phone (with DDD) or
//!    e-mail and compares it with the record. Until then it shows neither the customer's name
//!    nor any data; only the redacted document the person typed. Wrong answers are limited
//!    ([`Limits::max_confirmation_attempts`]), then a person takes over; a record with no phone
//!    or e-mail goes straight to a person.
//!
//! Documents appear only redacted (`***.982.247-**`) in messages, records and summaries.
//!
//! # Replies to the billing ladder
//! The ladder's templates carry quick replies `ladder:<code>:<invoice>` (see [`ladder`]); the
//! engine also tells which reminder a message answers (`reminder` of [`Input::Inbound`]), so typed
//! replies ("já paguei", "manda o pix", "quero negociar") reach the same flows. After the usual
//! identification (and the LGPD policy above), the bot finds THAT invoice among the customer's
//! open invoices — an invoice no longer open is never looked up in another registration — and:
//! Pix / boleto → the payment data (amount with fine and interest when the system gives it);
//! "Negociar" → pay in full now, a new due date or instalments (the last two go to the billing
//! team, see [`NegotiationOption`]); "Já paguei" → a fresh read of the invoice: paid → thanks
//! and resolved; not in this registration or cancelled → "Não encontrei essa fatura neste
//! cadastro" and the billing team (never an all-clear); still open → asks for the receipt and
//! hands the conversation to the billing team when it arrives, when the subscriber has none, or
//! after silence. "Paguei a parcela" is "já paguei", not a negotiation; "Falar com
//! financeiro" → handoff with the invoice, amount, days overdue and ladder step in the summary.

pub mod compose;
mod context;
mod format;
mod io;
pub mod ladder;
mod machine;
mod state;
mod summary;
pub mod texts;

pub use context::{BotContext, Limits};
pub use io::{Action, ErpFailure, ErpOutcome, Input, LadderReminder, Resolution, Waiting};
pub use ladder::{LadderAsk, NegotiationOption};
pub use machine::step;
pub use state::{BotState, Flow, Identified, Inactivity, InactivityPhase, Stage, Verification};
pub use texts::{GLOBAL_VARIABLES, TextEntry, TextProblem, Texts, TextsError, render};
