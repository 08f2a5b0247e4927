//! The one way to queue an outbound message. Before anything is stored it checks what WhatsApp
//! would refuse, so the caller gets a clear reason instead of a message that looks sent and never
//! arrives: content limits, the 24-hour window for free-form messages (outside it a message must
//! be an approved template, or fall back to one), and that a template is approved.

use crate::SharedClock;
use crate::bus::{BusEvent, EventBus};
use balcao_domain::outbound::{OutboundContent, TemplateMessage};
use balcao_domain::window::Window;
use balcao_domain::{Millis, NumberId, WorkspaceId};
use balcao_store::{ConversationFilter, Enqueued, NewOutbound, Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("número de WhatsApp {0} não pertence a este workspace")]
    UnknownNumber(NumberId),
    #[error("conteúdo inválido: {0}")]
    InvalidContent(String),
    #[error("a janela de 24 horas está fechada: envie um modelo aprovado")]
    OutsideWindow { last_inbound_at: Option<Millis> },
    #[error("modelo {name} ({language}) não está aprovado para este número")]
    TemplateNotApproved { name: String, language: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A request to send, as the API, the bot or an agent makes it.
#[derive(Clone, Debug)]
pub struct SendRequest {
    pub number_id: NumberId,
    pub to: balcao_domain::WaId,
    pub content: OutboundContent,
    /// Used instead of `content` when the window is closed.
    pub fallback_template: Option<TemplateMessage>,
    pub idempotency_key: Option<String>,
    pub author: String,
}

#[derive(Clone)]
pub struct Outbox {
    store: Arc<dyn Store>,
    clock: SharedClock,
    bus: EventBus,
    wakers: Arc<RwLock<HashMap<NumberId, Arc<Notify>>>>,
}

impl Outbox {
    pub fn new(store: Arc<dyn Store>, clock: SharedClock, bus: EventBus) -> Self {
        Outbox {
            store,
            clock,
            bus,
            wakers: Arc::default(),
        }
    }

    /// The notifier a number's sender waits on; enqueueing wakes it at once.
    pub fn waker(&self, number: NumberId) -> Arc<Notify> {
        if let Some(w) = self.wakers.read().expect("wakers lock").get(&number) {
            return w.clone();
        }
        self.wakers
            .write()
            .expect("wakers lock")
            .entry(number)
            .or_default()
            .clone()
    }

    /// The window of the contact on that number, from its most recent conversation.
    pub async fn window(
        &self,
        workspace: WorkspaceId,
        number: NumberId,
        to: &balcao_domain::WaId,
    ) -> Result<Window, OutboxError> {
        let filter = ConversationFilter {
            wa_id: Some(to.clone()),
            limit: 20,
            ..Default::default()
        };
        let last_inbound = self
            .store
            .conversations(workspace, &filter)
            .await?
            .into_iter()
            .filter(|c| c.number_id == number)
            .filter_map(|c| c.last_inbound_at)
            .max();
        Ok(Window::at(last_inbound, self.clock.now()))
    }

    pub async fn enqueue(
        &self,
        workspace: WorkspaceId,
        request: SendRequest,
    ) -> Result<Enqueued, OutboxError> {
        let numbers = self.store.numbers(workspace).await?;
        if !numbers.iter().any(|n| n.id == request.number_id) {
            return Err(OutboxError::UnknownNumber(request.number_id));
        }
        let window = self
            .window(workspace, request.number_id, &request.to)
            .await?;
        let new = self.prepare(workspace, request, window).await?;
        let enqueued = self
            .store
            .enqueue_outbound(workspace, new, self.clock.now())
            .await?;
        self.announce(workspace, &enqueued);
        Ok(enqueued)
    }

    /// Checks a request against the contact's `window` (as the caller knows it, e.g. from the
    /// conversation it is answering) and WhatsApp's rules, and turns it into the row to store.
    /// Reads the store only for a template's approval. The caller stores it (possibly in a wider
    /// transaction) and then calls [`Outbox::announce`].
    pub async fn prepare(
        &self,
        workspace: WorkspaceId,
        request: SendRequest,
        window: Window,
    ) -> Result<NewOutbound, OutboxError> {
        let mut content = request.content;
        if !content.is_template()
            && let Window::Closed { last_inbound_at } = window
        {
            match request.fallback_template {
                Some(template) => content = OutboundContent::Template(template),
                None => return Err(OutboxError::OutsideWindow { last_inbound_at }),
            }
        }
        balcao_whatsapp::payload::validate(&content)
            .map_err(|e| OutboxError::InvalidContent(e.to_string()))?;
        if let OutboundContent::Template(t) = &content {
            self.check_template(workspace, request.number_id, t).await?;
        }
        Ok(NewOutbound {
            number_id: request.number_id,
            to: request.to,
            content,
            idempotency_key: request.idempotency_key,
            author: request.author,
        })
    }

    /// After a commit that queued `enqueued`: wakes the number's sender and tells the bus.
    pub fn announce(&self, workspace: WorkspaceId, enqueued: &Enqueued) {
        if enqueued.created {
            metrics::counter!("balcao_outbox_enqueued_total").increment(1);
            self.waker(enqueued.message.number_id).notify_one();
            self.bus.publish(BusEvent::OutboundQueued {
                workspace_id: workspace,
                conversation_id: enqueued.message.conversation_id,
                message_id: enqueued.message.id,
            });
        }
    }

    async fn check_template(
        &self,
        workspace: WorkspaceId,
        number: NumberId,
        template: &TemplateMessage,
    ) -> Result<(), OutboxError> {
        let known = self.store.templates(workspace, number).await?;
        let approved = known.iter().any(|t| {
            t.name == template.name
                && t.language == template.language
                && t.status.eq_ignore_ascii_case("APPROVED")
        });
        if approved {
            Ok(())
        } else {
            Err(OutboxError::TemplateNotApproved {
                name: template.name.clone(),
                language: template.language.clone(),
            })
        }
    }
}
