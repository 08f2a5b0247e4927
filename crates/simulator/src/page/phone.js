// The simulated phone: pick a subscriber, chat with the business, tap buttons and list rows.
// Talks only to the simulator's JSON API; polls the chat every second and marks what it shows as read.
(function () {
  "use strict";

  var api = "/simulator/api";
  var current = null; // { waId, name }
  var lastRendered = "";
  var pollTimer = null;
  var byId = function (id) { return document.getElementById(id); };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // WhatsApp-style *bold*, _italic_ and ~strike~, built as DOM nodes (never innerHTML).
  function formatted(text) {
    var fragment = document.createDocumentFragment();
    var pattern = /(\*[^*\n]+\*|_[^_\n]+_|~[^~\n]+~)/g;
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      if (match.index > last) fragment.appendChild(document.createTextNode(text.slice(last, match.index)));
      var token = match[0];
      var tag = token[0] === "*" ? "strong" : token[0] === "_" ? "em" : "s";
      fragment.appendChild(el(tag, null, token.slice(1, -1)));
      last = match.index + token.length;
    }
    if (last < text.length) fragment.appendChild(document.createTextNode(text.slice(last)));
    return fragment;
  }

  function showError(message) {
    var box = byId("error");
    if (!message) { box.hidden = true; return; }
    box.textContent = message;
    box.hidden = false;
  }

  function request(method, path, body) {
    var options = { method: method, headers: {} };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(api + path, options).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = { error: text }; }
        return { status: response.status, data: data };
      });
    });
  }

  function digits(value) { return String(value || "").replace(/\D/g, ""); }

  function time(timestamp) {
    var date = new Date(Number(timestamp) * 1000);
    return String(date.getHours()).padStart(2, "0") + ":" + String(date.getMinutes()).padStart(2, "0");
  }

  // ------------------------------------------------------------------ picker

  function personButton(name, detail, waId) {
    var item = el("li");
    var button = el("button");
    button.type = "button";
    button.dataset.waId = waId;
    button.appendChild(el("span", "name", name || waId));
    button.appendChild(el("span", "detail", detail));
    button.addEventListener("click", function () { openChat(waId, name); });
    item.appendChild(button);
    return item;
  }

  function loadInfo() {
    request("GET", "/info").then(function (response) {
      var people = (response.data && response.data.people) || [];
      var list = byId("people");
      list.textContent = "";
      people.forEach(function (person) {
        var detail = "+" + person.wa_id + (person.note ? " · " + person.note : "");
        list.appendChild(personButton(person.name, detail, person.wa_id));
      });
      byId("people-section").hidden = people.length === 0;
    });
  }

  function loadChats() {
    request("GET", "/chats").then(function (response) {
      var chats = (response.data && response.data.chats) || [];
      var list = byId("chats");
      list.textContent = "";
      if (chats.length === 0) { list.appendChild(el("li", "empty", "Nenhuma conversa ainda.")); return; }
      chats.forEach(function (chat) {
        var last = chat.last_message;
        var detail = last ? (last.direction === "in" ? "Você: " : "") + (last.text || "[" + last.type + "]") : "+" + chat.wa_id;
        list.appendChild(personButton(chat.name, detail, chat.wa_id));
      });
    });
  }

  function openChat(waId, name) {
    waId = digits(waId);
    if (waId.length < 8) { showError("Digite o número completo, com DDI e DDD (ex.: 5511987650001)."); return; }
    current = { waId: waId, name: (name || "").trim() };
    byId("phone-number").value = waId;
    byId("phone-name").value = current.name;
    try { localStorage.setItem("balcao-sim-phone", JSON.stringify(current)); } catch (e) { /* private mode */ }
    byId("chat-sub").textContent = "Você: " + (current.name || "assinante") + " · +" + waId;
    byId("phone").hidden = false;
    document.body.classList.add("chat-open");
    lastRendered = "";
    byId("messages").textContent = "";
    showError("");
    poll();
    byId("message-input").focus();
  }

  // ------------------------------------------------------------------ chat

  function send(payload) {
    if (!current) return Promise.resolve();
    payload.from = current.waId;
    if (current.name) payload.name = current.name;
    showError("");
    return request("POST", "/messages", payload).then(function (response) {
      if (response.status !== 202) {
        var reason = (response.data && response.data.error) || "erro " + response.status;
        showError("Mensagem não entregue ao app: " + reason);
      }
      poll();
      loadChats();
    }, function () { showError("Sem conexão com o simulador."); });
  }

  function replyButton(message, option) {
    var button = el("button", "reply", option.title);
    button.type = "button";
    button.addEventListener("click", function () {
      if (option.kind === "template_button") {
        send({ template_button: { payload: option.id, text: option.title }, context_id: message.id });
      } else {
        send({ button_reply: { id: option.id, title: option.title }, context_id: message.id });
      }
    });
    return button;
  }

  function openList(message) {
    var rows = byId("sheet-rows");
    rows.textContent = "";
    byId("sheet-title").textContent = message.list.button;
    message.list.sections.forEach(function (section) {
      if (section.title) rows.appendChild(el("h3", null, section.title));
      section.rows.forEach(function (row) {
        var button = el("button", "row-option");
        button.type = "button";
        button.appendChild(el("span", "row-title", row.title));
        if (row.description) button.appendChild(el("span", "row-description", row.description));
        button.addEventListener("click", function () {
          byId("sheet").hidden = true;
          send({ list_reply: { id: row.id, title: row.title }, context_id: message.id });
        });
        rows.appendChild(button);
      });
    });
    byId("sheet").hidden = false;
  }

  function ticks(status) {
    if (status === "read") return el("span", "ticks read", "✓✓");
    if (status === "delivered") return el("span", "ticks", "✓✓");
    if (status === "sent") return el("span", "ticks", "✓");
    if (status === "failed") return el("span", "ticks failed", "⚠");
    return el("span", "ticks", "🕓");
  }

  function renderMessage(message, byWamid) {
    var node = el("div", "msg " + message.direction + (message.status === "failed" ? " failed" : ""));
    node.dataset.id = message.id;
    node.dataset.status = message.status || "";
    if (message.context_id && byWamid[message.context_id]) {
      node.appendChild(el("div", "context", byWamid[message.context_id].text || "[" + byWamid[message.context_id].type + "]"));
    }
    if (message.image) {
      var imageLink = el("a", "image");
      imageLink.href = message.image.link;
      imageLink.target = "_blank";
      imageLink.rel = "noopener";
      var image = el("img");
      image.src = message.image.link;
      image.alt = "Imagem recebida";
      imageLink.appendChild(image);
      node.appendChild(imageLink);
    }
    if (message.document) {
      var doc = el("a", "doc");
      doc.href = message.document.link;
      doc.target = "_blank";
      doc.rel = "noopener";
      doc.appendChild(el("span", "icon", "PDF"));
      doc.appendChild(el("span", "filename", message.document.filename || "documento"));
      node.appendChild(doc);
    }
    if (message.text) {
      var text = el("div", "text");
      text.appendChild(formatted(message.text));
      node.appendChild(text);
    }
    if (message.footer) node.appendChild(el("div", "footer", message.footer));
    var actions = el("div", "actions");
    (message.reply_options || []).forEach(function (option) { actions.appendChild(replyButton(message, option)); });
    (message.links || []).forEach(function (link) {
      var anchor = el("a", "link", "↗ " + link.text);
      anchor.href = link.url;
      anchor.target = "_blank";
      anchor.rel = "noopener";
      actions.appendChild(anchor);
    });
    if (message.list) {
      var options = el("button", "options", "☰ " + message.list.button);
      options.type = "button";
      options.addEventListener("click", function () { openList(message); });
      actions.appendChild(options);
    }
    if (actions.childNodes.length) node.appendChild(actions);
    if (message.error_hint) {
      var hint = message.error_hint + (message.error_code ? " (" + message.error_code + ")" : "");
      node.appendChild(el("div", "hint-failed", hint));
    }
    var meta = el("div", "meta");
    meta.appendChild(el("span", "time", time(message.timestamp)));
    if (message.direction === "in" && message.status === "read") meta.appendChild(el("span", "ticks read", "✓✓"));
    // Ticks on the business's messages let whoever plays the subscriber follow delivery.
    if (message.direction === "out") meta.appendChild(ticks(message.status));
    node.appendChild(meta);
    return node;
  }

  function render(messages) {
    var box = byId("messages");
    var nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    var byWamid = {};
    messages.forEach(function (m) { byWamid[m.id] = m; });
    box.textContent = "";
    if (messages.length === 0) box.appendChild(el("div", "empty", "Envie uma mensagem para começar."));
    messages.forEach(function (message) { box.appendChild(renderMessage(message, byWamid)); });
    if (nearBottom || !lastRendered) box.scrollTop = box.scrollHeight;
  }

  function poll() {
    if (!current) return;
    var waId = current.waId;
    request("GET", "/chats/" + encodeURIComponent(waId)).then(function (response) {
      if (!current || current.waId !== waId) return;
      var messages = response.status === 200 && response.data ? response.data.messages : [];
      var snapshot = JSON.stringify(messages);
      if (snapshot !== lastRendered) {
        render(messages);
        lastRendered = snapshot;
      }
      var unread = messages.some(function (m) {
        return m.direction === "out" && m.shown && (m.status === "sent" || m.status === "delivered");
      });
      if (unread && document.visibilityState === "visible") {
        request("POST", "/chats/" + encodeURIComponent(waId) + "/read", {});
      }
    }, function () { /* the next poll retries */ });
  }

  // ------------------------------------------------------------------ wiring

  byId("open-form").addEventListener("submit", function (event) {
    event.preventDefault();
    openChat(byId("phone-number").value, byId("phone-name").value);
  });
  byId("composer").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = byId("message-input");
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    send({ text: text });
  });
  byId("back").addEventListener("click", function () {
    document.body.classList.remove("chat-open");
    loadChats();
  });
  byId("sheet-close").addEventListener("click", function () { byId("sheet").hidden = true; });
  byId("sheet").addEventListener("click", function (event) {
    if (event.target === byId("sheet")) byId("sheet").hidden = true;
  });
  document.addEventListener("visibilitychange", poll);

  loadInfo();
  loadChats();
  var params = new URLSearchParams(location.search);
  if (params.get("wa_id")) {
    openChat(params.get("wa_id"), params.get("name") || "");
  } else {
    try {
      var saved = JSON.parse(localStorage.getItem("balcao-sim-phone") || "null");
      if (saved && saved.waId) {
        byId("phone-number").value = saved.waId;
        byId("phone-name").value = saved.name || "";
      }
    } catch (e) { /* ignore */ }
  }
  pollTimer = setInterval(function () { poll(); }, 1000);
  setInterval(loadChats, 5000);
  window.balcaoPhone = { open: openChat, poll: poll, timer: pollTimer };
})();
