//! The desk end to end in headless Chromium (three browser sessions): a subscriber on the
//! simulated phone picks "Financeiro" from the menu; agent Ana, logged in elsewhere, receives
//! it live without reloading, answers with a quick reply and transfers it to Bruno; Bruno
//! accepts and closes it; the subscriber gets the thanks message, rates the service 5 from the
//! list, and the rating is stored for Bruno and the queue.

mod common;

use common::webdriver::{Browser, browser_available};
use common::*;

const ENTER: &str = "\u{E007}";

async fn see(b: &Browser, css: &str, needle: &str) {
    wait_for_live_text(b, css, needle, 20).await;
}

async fn log_in(b: &Browser, h: &Harness, email: &str) {
    b.goto(&h.url("/app")).await;
    b.type_into(&b.find("#email").await, email).await;
    b.type_into(&b.find("#password").await, DESK_PASSWORD).await;
    b.click(&b.find("#login").await).await;
    // The inbox (the live page) is open: its heartbeat makes the agent available.
    b.find("#inbox").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_answers_transfers_and_a_colleague_closes_with_a_rating() {
    if !browser_available() {
        return;
    }
    let h = Harness::start_desk().await;
    let cast = h.desk_cast().await;
    let ws = h.workspace().await;

    // Ana opens her inbox first, so she is online when the subscriber arrives.
    let ana = Browser::start().await;
    log_in(&ana, &h, "ana@provedor.com.br").await;
    see(&ana, "#list .head", "Minhas conversas").await;

    // The subscriber writes and chooses the sector from the menu's list.
    let phone = Browser::start().await;
    phone
        .goto(&h.url("/simulator?wa_id=5511987654321&name=M%C3%A1rcia"))
        .await;
    let input = phone.find("#message-input").await;
    phone.type_into(&input, "oi, preciso da segunda via").await;
    phone.click(&phone.find("#send-button").await).await;
    click_live(&phone, ".msg button.options", "Ver opções").await;
    click_live(&phone, ".sheet-rows button.row-option", "Financeiro").await;
    see(&phone, ".msg.out .text", "na fila do setor Financeiro").await;

    // Ana sees it arrive in "Minhas" without reloading, opens it, answers with /boleto.
    click_live(&ana, "#list .conv", "Márcia").await;
    see(&ana, "#conv-name", "Márcia").await;
    see(&ana, "#window-state", "Janela de 24 h aberta").await;
    let reply = ana.find("#reply").await;
    ana.type_into(&reply, "/bol").await;
    see(&ana, "#picker button", "/boleto").await;
    ana.type_into(&reply, ENTER).await; // picks the quick reply
    ana.type_into(&reply, ENTER).await; // sends it
    see(
        &ana,
        "#history .msg.out .text",
        "Sua segunda via já está a caminho",
    )
    .await;
    see(
        &phone,
        ".msg.out .text",
        "Olá, Márcia! Sua segunda via já está a caminho.",
    )
    .await;

    // Bruno (a third session) comes online; Ana transfers it to him with a private note.
    let bruno = Browser::start().await;
    log_in(&bruno, &h, "bruno@provedor.com.br").await;
    see(&bruno, "#list .head", "Minhas conversas").await;
    ana.click(&ana.find("#transfer").await).await;
    let option = format!("#transfer-agent option[value=\"{}\"]", cast.bruno.id.0);
    ana.click(&ana.find(&option).await).await;
    ana.type_into(
        &ana.find("#transfer-note").await,
        "Cliente quer negociar a multa",
    )
    .await;
    ana.click(&ana.find("#transfer-submit").await).await;

    // Bruno sees it arrive, reads the note, accepts and closes it.
    click_live(&bruno, "#list .conv", "Márcia").await;
    see(&bruno, "#history .note", "Cliente quer negociar a multa").await;
    click_live(&bruno, "#accept", "Aceitar").await;
    see(&bruno, "#conv-state", "Em atendimento").await;
    click_live(&bruno, "#close", "Encerrar").await;
    bruno.click(&bruno.find("#close-submit").await).await;
    see(&bruno, "#conv-state", "Encerrada").await;

    // The subscriber is thanked, asked for a rating, and taps 5.
    see(&phone, ".msg.out .text", "Atendimento encerrado").await;
    click_live(&phone, ".msg button.options", "Avaliar").await;
    click_live(&phone, ".sheet-rows button.row-option", "5 - Excelente").await;

    let conversation = h.conversation_of("5511987654321").await["id"]
        .as_i64()
        .unwrap();
    let rating = eventually(15, "the rating stored", || async {
        h.store()
            .csat_rating(ws, balcao_domain::ConversationId(conversation))
            .await
            .unwrap()
    })
    .await;
    assert_eq!(rating.rating, 5);
    assert_eq!(rating.agent_id, Some(cast.bruno.id));
    assert_eq!(rating.queue_id, Some(cast.financeiro));
    if let Ok(path) = std::env::var("BALCAO_SCREENSHOT") {
        std::fs::write(path, bruno.screenshot_png().await).unwrap();
    }
}
