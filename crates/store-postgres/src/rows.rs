//! Turning PostgreSQL rows into the store's models. Every column list used here is written once, as a
//! macro, so the `SELECT`s stay `&'static str` (sqlx's `SqlSafeStr`) and in step with the mappers.

use crate::db_err;
use balcao_domain::outbound::SendError;
use balcao_domain::status::DeliveryStatus;
use balcao_domain::*;
use balcao_store::*;
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgRow;

macro_rules! workspace_columns {
    () => {
        "id, slug, name, time_zone, created_at"
    };
}
macro_rules! number_columns {
    () => {
        "id, workspace_id, phone_number_id, display_phone_number, waba_id, throughput_mps, created_at"
    };
}
macro_rules! contact_columns {
    () => {
        "id, workspace_id, wa_id, match_key, profile_name, user_id, created_at"
    };
}
/// Conversations are always read joined with their contact (`c` and `k`).
macro_rules! conversation_select {
    () => {
        "SELECT c.id, c.workspace_id, c.number_id, c.contact_id, k.wa_id, k.profile_name, c.status,
                c.opened_at, c.closed_at, c.last_message_at, c.last_inbound_at, c.referral
         FROM conversations c JOIN contacts k ON k.id = c.contact_id"
    };
}
macro_rules! message_columns {
    () => {
        "id, workspace_id, number_id, conversation_id, contact_id, direction, wamid, message_type,
         text, payload, status, error_code, error_title, error_details, pricing_category,
         pricing_type, billable, to_wa_id, sent_wa_id, idempotency_key, attempts, created_at,
         updated_at"
    };
}
macro_rules! event_columns {
    () => {
        "id, workspace_id, conversation_id, kind, message_id, data, created_at"
    };
}
pub(crate) use {
    contact_columns, conversation_select, event_columns, message_columns, number_columns,
    workspace_columns,
};

fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).map_err(db_err)
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}

pub(crate) fn wa_id(text: &str) -> Result<WaId> {
    WaId::parse(text).map_err(|e| corrupt("wa_id", e))
}

fn opt_wa_id(text: Option<String>) -> Result<Option<WaId>> {
    text.as_deref().map(wa_id).transpose()
}

pub(crate) fn status(text: &str) -> Result<DeliveryStatus> {
    DeliveryStatus::parse(text).ok_or_else(|| corrupt("status", text))
}

pub(crate) fn to_u32(value: i64, what: &str) -> Result<u32> {
    u32::try_from(value).map_err(|_| corrupt(what, value))
}

pub(crate) fn workspace(row: &PgRow) -> Result<Workspace> {
    Ok(Workspace {
        id: WorkspaceId(get(row, "id")?),
        slug: get(row, "slug")?,
        name: get(row, "name")?,
        time_zone: get(row, "time_zone")?,
        created_at: get(row, "created_at")?,
    })
}

pub(crate) fn number(row: &PgRow) -> Result<WhatsAppNumber> {
    Ok(WhatsAppNumber {
        id: NumberId(get(row, "id")?),
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        phone_number_id: get(row, "phone_number_id")?,
        display_phone_number: get(row, "display_phone_number")?,
        waba_id: get(row, "waba_id")?,
        throughput_mps: to_u32(get(row, "throughput_mps")?, "throughput_mps")?,
        created_at: get(row, "created_at")?,
    })
}

pub(crate) fn template(row: &PgRow) -> Result<Template> {
    Ok(Template {
        number_id: NumberId(get(row, "number_id")?),
        name: get(row, "name")?,
        language: get(row, "language")?,
        category: get(row, "category")?,
        status: get(row, "status")?,
        body: get(row, "body")?,
        body_params: to_u32(get(row, "body_params")?, "body_params")?,
    })
}

pub(crate) fn contact(row: &PgRow) -> Result<Contact> {
    Ok(Contact {
        id: ContactId(get(row, "id")?),
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        wa_id: wa_id(&get::<String>(row, "wa_id")?)?,
        match_key: get(row, "match_key")?,
        profile_name: get(row, "profile_name")?,
        user_id: get(row, "user_id")?,
        created_at: get(row, "created_at")?,
    })
}

pub(crate) fn conversation(row: &PgRow) -> Result<Conversation> {
    let status_text: String = get(row, "status")?;
    let referral: Option<Value> = get(row, "referral")?;
    Ok(Conversation {
        id: ConversationId(get(row, "id")?),
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        number_id: NumberId(get(row, "number_id")?),
        contact_id: ContactId(get(row, "contact_id")?),
        wa_id: wa_id(&get::<String>(row, "wa_id")?)?,
        contact_name: get(row, "profile_name")?,
        status: ConversationStatus::parse(&status_text)
            .ok_or_else(|| corrupt("conversation status", &status_text))?,
        opened_at: get(row, "opened_at")?,
        closed_at: get(row, "closed_at")?,
        last_message_at: get(row, "last_message_at")?,
        last_inbound_at: get(row, "last_inbound_at")?,
        referral: referral
            .map(|value| serde_json::from_value(value).map_err(|e| corrupt("referral", e)))
            .transpose()?,
    })
}

pub(crate) fn message(row: &PgRow) -> Result<Message> {
    let direction_text: String = get(row, "direction")?;
    let status_text: Option<String> = get(row, "status")?;
    let error_code: Option<i64> = get(row, "error_code")?;
    let error = match error_code {
        Some(code) => Some(SendError {
            code,
            title: get::<Option<String>>(row, "error_title")?.unwrap_or_default(),
            details: get(row, "error_details")?,
        }),
        None => None,
    };
    Ok(Message {
        id: MessageId(get(row, "id")?),
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        number_id: NumberId(get(row, "number_id")?),
        conversation_id: ConversationId(get(row, "conversation_id")?),
        contact_id: ContactId(get(row, "contact_id")?),
        direction: Direction::parse(&direction_text)
            .ok_or_else(|| corrupt("direction", &direction_text))?,
        wamid: get(row, "wamid")?,
        message_type: get(row, "message_type")?,
        text: get(row, "text")?,
        payload: get(row, "payload")?,
        status: status_text.as_deref().map(status).transpose()?,
        error,
        pricing_category: get(row, "pricing_category")?,
        pricing_type: get(row, "pricing_type")?,
        billable: get(row, "billable")?,
        to_wa_id: opt_wa_id(get(row, "to_wa_id")?)?,
        sent_wa_id: opt_wa_id(get(row, "sent_wa_id")?)?,
        idempotency_key: get(row, "idempotency_key")?,
        attempts: to_u32(get(row, "attempts")?, "attempts")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

pub(crate) fn event(row: &PgRow) -> Result<Event> {
    Ok(Event {
        id: EventId(get(row, "id")?),
        workspace_id: WorkspaceId(get(row, "workspace_id")?),
        conversation_id: ConversationId(get(row, "conversation_id")?),
        kind: get(row, "kind")?,
        message_id: get::<Option<i64>>(row, "message_id")?.map(MessageId),
        data: get(row, "data")?,
        created_at: get(row, "created_at")?,
    })
}

pub(crate) fn dead_letter(row: &PgRow) -> Result<DeadLetter> {
    Ok(DeadLetter {
        id: get(row, "id")?,
        source: get(row, "source")?,
        reason: get(row, "reason")?,
        body: get(row, "body")?,
        received_at: get(row, "received_at")?,
    })
}

pub(crate) fn unrouted(row: &PgRow) -> Result<UnroutedItem> {
    Ok(UnroutedItem {
        id: get(row, "id")?,
        phone_number_id: get(row, "phone_number_id")?,
        kind: get(row, "kind")?,
        raw: get(row, "raw")?,
        received_at: get(row, "received_at")?,
    })
}
