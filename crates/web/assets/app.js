// Balcão desk: the live inbox, the supervisor board and the admin screens.
// The server renders every piece of HTML (escaped there); this script only swaps fragments,
// follows the SSE stream, sends actions to the JSON API with the CSRF header, and adds keys.
(function () {
  "use strict";

  var byId = function (id) { return document.getElementById(id); };
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  var inbox = byId("inbox");
  var drafts = {}; // conversation id -> { text, mode }
  var pending = {}; // fragment refreshes waiting for their debounce
  var rendered = new WeakMap(); // element -> the fragment HTML it shows

  // ------------------------------------------------------------------ helpers

  function toast(message, isError) {
    var old = document.querySelector(".toast");
    if (old) old.remove();
    var node = document.createElement("div");
    node.className = "toast" + (isError ? " error" : "");
    node.setAttribute("role", isError ? "alert" : "status");
    node.textContent = message;
    document.body.appendChild(node);
    setTimeout(function () { node.remove(); }, isError ? 6000 : 2500);
  }

  function loginAgain(response) {
    if (response.status === 401) {
      location.href = "/app/login?next=" + encodeURIComponent(location.pathname + location.search);
      return true;
    }
    return false;
  }

  // Calls the JSON API with the session cookie and the CSRF header; resolves to { status, data }.
  function api(method, path, body) {
    var options = { method: method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf, "Accept": "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (response) {
      if (loginAgain(response)) return { status: 401, data: null };
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { status: response.status, data: data };
      });
    }, function () {
      return { status: 0, data: { error: { message: "Sem conexão com o servidor." } } };
    });
  }

  function errorOf(result) {
    return (result.data && result.data.error && result.data.error.message) || "Não foi possível concluir (erro " + result.status + ").";
  }

  // Runs an action; refreshes what it touched and reports failures in pt-BR.
  function act(method, path, body, okMessage) {
    return api(method, path, body).then(function (result) {
      if (result.status >= 200 && result.status < 300) {
        if (okMessage) toast(okMessage);
        refreshAll();
        return result;
      }
      if (result.status !== 401) toast(errorOf(result), true);
      return null;
    });
  }

  function fetchFragment(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (response) {
      if (loginAgain(response)) return null;
      if (!response.ok) return response.status === 404 || response.status === 403 ? "" : null;
      return response.text();
    }, function () { return null; });
  }

  // Replaces the content of `el` with the fragment at its data-src.
  function load(el) {
    if (!el || !el.dataset.src) return Promise.resolve();
    var src = el.dataset.src;
    return fetchFragment(src).then(function (html) {
      if (html === null || el.dataset.src !== src) return;
      // Unchanged: keep the nodes (no flicker, focus and scroll stay where they are).
      if (rendered.get(el) === html) return;
      rendered.set(el, html);
      el.innerHTML = html;
      bind(el);
    });
  }

  // Debounced refresh of one fragment holder: bursts of events cost one request.
  function schedule(id, delay) {
    if (pending[id]) return;
    pending[id] = setTimeout(function () {
      delete pending[id];
      if (id === "pane") refreshPane(); else load(byId(id));
    }, delay === undefined ? 150 : delay);
  }

  // ------------------------------------------------------------------ inbox state

  function currentView() { return inbox ? inbox.dataset.view : ""; }
  function currentConv() { return inbox ? inbox.dataset.conv : ""; }

  function setLocation(view, conv, push) {
    if (!inbox) return;
    inbox.dataset.view = view;
    inbox.dataset.conv = conv || "";
    var query = "?view=" + encodeURIComponent(view) + (conv ? "&c=" + conv : "");
    if (push) history.pushState({ view: view, conv: conv }, "", "/app" + query);
    byId("views").dataset.src = "/app/f/views" + query;
    byId("list").dataset.src = "/app/f/list" + query;
    inbox.classList.toggle("conv-open", !!conv);
    inbox.classList.remove("show-views");
  }

  function saveDraft() {
    var area = byId("reply");
    var form = byId("composer");
    if (!area || !form) return;
    // The mode is kept only when the agent could choose it (a pane without replies forces notes).
    var choice = form.querySelector('[data-mode="reply"]') ? form.dataset.mode : null;
    drafts[form.dataset.conv] = { text: area.value, mode: choice, focused: document.activeElement === area };
  }

  function restoreDraft() {
    var area = byId("reply");
    var form = byId("composer");
    if (!area || !form) return;
    var draft = drafts[form.dataset.conv];
    if (!draft) return;
    area.value = draft.text;
    if (draft.mode && form.querySelector('[data-mode="' + draft.mode + '"]')) setMode(draft.mode);
    if (draft.focused) area.focus();
  }

  function refreshPane() {
    var pane = byId("pane");
    if (!pane) return Promise.resolve();
    var conv = currentConv();
    if (!conv) {
      pane.dataset.src = "";
      pane.innerHTML = '<div class="pane-empty">Escolha uma conversa na lista.</div>';
      return Promise.resolve();
    }
    var src = "/app/f/conversation/" + conv;
    pane.dataset.src = src;
    return fetchFragment(src).then(function (html) {
      if (html === null || pane.dataset.src !== src) return;
      if (rendered.get(pane) === html) return;
      rendered.set(pane, html);
      var history = byId("history");
      var atBottom = !history || history.scrollHeight - history.scrollTop - history.clientHeight < 80;
      saveDraft();
      pane.innerHTML = html || '<div class="pane-empty">Conversa indisponível.</div>';
      bind(pane);
      restoreDraft();
      var fresh = byId("history");
      if (fresh && atBottom) fresh.scrollTop = fresh.scrollHeight;
    });
  }

  function refreshAll() {
    schedule("views", 0);
    schedule("list", 0);
    if (byId("pane")) schedule("pane", 0);
    if (byId("team-msgs")) schedule("team-msgs", 0);
    if (byId("board")) schedule("board", 0);
  }

  function openConversation(id, push) {
    saveDraft();
    setLocation(currentView(), id, push);
    document.querySelectorAll(".conv.current").forEach(function (n) { n.classList.remove("current"); });
    var item = document.querySelector('.conv[data-id="' + id + '"]');
    if (item) item.classList.add("current");
    refreshPane().then(function () {
      if (id) api("POST", "/api/v1/desk/conversations/" + id + "/read").then(function () { schedule("views"); schedule("list"); });
    });
  }

  function openView(view, push) {
    setLocation(view, "", push);
    load(byId("views"));
    load(byId("list"));
    refreshPane();
  }

  function moveInList(step) {
    var items = Array.prototype.slice.call(document.querySelectorAll("#list .conv"));
    if (!items.length) return;
    var index = items.findIndex(function (n) { return n.dataset.id === currentConv(); });
    var next = items[Math.max(0, Math.min(items.length - 1, index + step))];
    if (index < 0) next = items[0];
    openConversation(next.dataset.id, true);
    next.scrollIntoView({ block: "nearest" });
  }

  // ------------------------------------------------------------------ composer

  function setMode(mode) {
    var form = byId("composer");
    if (!form) return;
    form.dataset.mode = mode;
    form.classList.toggle("note-mode", mode === "note");
    form.querySelectorAll("[data-mode]").forEach(function (b) { b.classList.toggle("on", b.dataset.mode === mode); });
    var area = byId("reply");
    if (area) area.placeholder = mode === "note" ? "Nota interna (só a equipe vê)" : "Mensagem para o assinante — digite / para respostas rápidas";
    closePicker();
  }

  var picker = { items: [], index: 0, timer: null };

  function closePicker() {
    var box = byId("picker");
    if (box) box.hidden = true;
    picker.items = [];
  }

  function renderPicker() {
    var box = byId("picker");
    if (!box) return;
    box.textContent = "";
    if (!picker.items.length) {
      var none = document.createElement("div");
      none.className = "empty";
      none.textContent = "Nenhuma resposta rápida encontrada.";
      box.appendChild(none);
    }
    picker.items.forEach(function (item, i) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = i === picker.index ? "on" : "";
      var sc = document.createElement("span");
      sc.className = "sc";
      sc.textContent = "/" + item.shortcut;
      var body = document.createElement("span");
      body.className = "body";
      body.textContent = item.rendered;
      button.appendChild(sc);
      button.appendChild(body);
      button.addEventListener("mousedown", function (event) { event.preventDefault(); choosePicker(i); });
      box.appendChild(button);
    });
    box.hidden = false;
  }

  function updatePicker() {
    var form = byId("composer");
    var area = byId("reply");
    if (!form || !area || form.dataset.mode === "note" || area.value.charAt(0) !== "/") { closePicker(); return; }
    var query = area.value.slice(1);
    if (/\s/.test(query)) { closePicker(); return; }
    clearTimeout(picker.timer);
    picker.timer = setTimeout(function () {
      api("GET", "/api/v1/desk/conversations/" + form.dataset.conv + "/quick-replies?q=" + encodeURIComponent(query)).then(function (result) {
        if (area.value.charAt(0) !== "/") return;
        picker.items = (result.data && result.data.quick_replies) || [];
        picker.index = 0;
        renderPicker();
      });
    }, 80);
  }

  function choosePicker(i) {
    var item = picker.items[i];
    var area = byId("reply");
    if (!item || !area) return;
    area.value = item.rendered;
    var attach = byId("attachment");
    if (attach && item.attachment_url) { attach.value = item.attachment_url; byId("attach-row").hidden = false; }
    closePicker();
    area.focus();
  }

  function sendComposer() {
    var form = byId("composer");
    if (!form) return;
    var conv = form.dataset.conv;
    var base = "/api/v1/desk/conversations/" + conv;
    var button = form.querySelector("[type=submit]");
    var done = function (result) {
      if (button) button.disabled = false;
      if (!result) return;
      drafts[conv] = null;
      var area = byId("reply");
      if (area) area.value = "";
      var attach = byId("attachment");
      if (attach) attach.value = "";
      refreshPane();
    };
    if (form.dataset.window === "closed" && form.dataset.mode !== "note") {
      var select = byId("template");
      if (!select || !select.value) { toast("Escolha um modelo aprovado.", true); return; }
      var option = select.options[select.selectedIndex];
      var params = Array.prototype.map.call(form.querySelectorAll(".tpl-param"), function (i) { return i.value; });
      if (button) button.disabled = true;
      act("POST", base + "/reply", { template: { name: select.value, language: option.dataset.language, params: params } }).then(done);
      return;
    }
    var text = byId("reply").value.trim();
    var attachment = byId("attachment") ? byId("attachment").value.trim() : "";
    if (!text && !attachment) return;
    if (button) button.disabled = true;
    if (form.dataset.mode === "note") {
      act("POST", base + "/notes", { body: text }).then(done);
    } else {
      var body = { text: text };
      if (attachment) body.attachment_url = attachment;
      act("POST", base + "/reply", body).then(done);
    }
  }

  // ------------------------------------------------------------------ binding

  function openDialog(id) {
    var dialog = byId(id);
    if (dialog && !dialog.open) {
      dialog.showModal();
      var first = dialog.querySelector("select, textarea, input");
      if (first) first.focus();
    }
  }

  function conversationAction(action, button) {
    var conv = button.dataset.conv || currentConv();
    var base = "/api/v1/desk/conversations/" + conv;
    switch (action) {
      case "accept": act("POST", base + "/accept", {}, "Conversa aceita."); break;
      case "claim": act("POST", base + "/claim", {}, "Conversa assumida."); break;
      case "reopen": act("POST", base + "/reopen", {}, "Conversa reaberta."); break;
      case "transfer": openDialog("dlg-transfer"); break;
      case "close": openDialog("dlg-close"); break;
      case "side": button.closest(".conv-body, .pane").querySelector(".conv-body").classList.toggle("side-open"); break;
      case "back": openConversation("", true); break;
      case "untag": act("DELETE", base + "/tags/" + encodeURIComponent(button.dataset.tag)); break;
    }
  }

  var sideCache = {}; // src -> { html, at }: the customer panel asks the management system

  function loadLazy(el) {
    var cached = sideCache[el.dataset.src];
    if (cached && Date.now() - cached.at < 60000) { el.innerHTML = cached.html; return; }
    fetchFragment(el.dataset.src).then(function (html) {
      if (html === null) return;
      sideCache[el.dataset.src] = { html: html, at: Date.now() };
      el.innerHTML = html;
    });
  }

  function bind(root) {
    root.querySelectorAll("[data-src]").forEach(function (el) {
      if (el.dataset.lazy === "1" && !el.dataset.loaded) { el.dataset.loaded = "1"; loadLazy(el); }
    });
    root.querySelectorAll("[data-action]").forEach(function (button) {
      button.addEventListener("click", function (event) { event.preventDefault(); conversationAction(button.dataset.action, button); });
    });
    var form = root.querySelector("#composer");
    if (form) {
      form.addEventListener("submit", function (event) { event.preventDefault(); sendComposer(); });
      form.querySelectorAll("[data-mode]").forEach(function (b) {
        b.addEventListener("click", function () { setMode(b.dataset.mode); byId("reply") && byId("reply").focus(); });
      });
      var attachToggle = form.querySelector("#attach-toggle");
      if (attachToggle) attachToggle.addEventListener("click", function () { byId("attach-row").hidden = !byId("attach-row").hidden; });
      var area = form.querySelector("#reply");
      if (area) {
        area.addEventListener("input", updatePicker);
        area.addEventListener("blur", function () { setTimeout(closePicker, 150); });
        area.addEventListener("keydown", function (event) {
          var open = byId("picker") && !byId("picker").hidden && picker.items.length;
          if (open && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
            event.preventDefault();
            picker.index = (picker.index + (event.key === "ArrowDown" ? 1 : picker.items.length - 1)) % picker.items.length;
            renderPicker();
          } else if (open && (event.key === "Enter" || event.key === "Tab")) {
            event.preventDefault();
            choosePicker(picker.index);
          } else if (event.key === "Escape") {
            closePicker();
            area.blur();
          } else if (event.key === "Enter" && !event.shiftKey) {
            event.preventDefault();
            sendComposer();
          }
        });
      }
      var select = form.querySelector("#template");
      if (select) select.addEventListener("change", function () {
        var option = select.options[select.selectedIndex];
        var count = Number(option.dataset.params || 0);
        var holder = byId("tpl-params");
        holder.textContent = "";
        for (var i = 1; i <= count; i++) {
          var input = document.createElement("input");
          input.type = "text";
          input.className = "tpl-param";
          input.placeholder = "Variável {{" + i + "}}";
          input.setAttribute("aria-label", "Variável " + i);
          holder.appendChild(input);
        }
        var preview = byId("tpl-preview");
        if (preview) preview.textContent = option.dataset.body || "";
      });
    }
    root.querySelectorAll("form[data-api]").forEach(function (f) {
      f.addEventListener("submit", function (event) {
        event.preventDefault();
        var body = {};
        new FormData(f).forEach(function (value, key) {
          if (value === "") return;
          body[key] = /^(queue_id|agent_id)$/.test(key) ? Number(value) : value;
        });
        var method = f.dataset.method || "POST";
        act(method, f.dataset.api, body, f.dataset.ok).then(function (result) {
          if (!result) return;
          var dialog = f.closest("dialog");
          if (dialog) dialog.close();
          f.reset();
          if (f.dataset.after === "leave") openConversation("", true);
        });
      });
    });
    root.querySelectorAll("dialog [data-cancel]").forEach(function (b) {
      b.addEventListener("click", function () { b.closest("dialog").close(); });
    });
    var history = root.querySelector("#history");
    if (history) history.scrollTop = history.scrollHeight;
    var msgs = root.querySelector(".team .msgs") || (root.classList && root.classList.contains("msgs") ? root : null);
    if (msgs) msgs.scrollTop = msgs.scrollHeight;
  }

  // ------------------------------------------------------------------ live updates

  function connectEvents() {
    if (!window.EventSource || !document.body.dataset.live) return;
    var source = new EventSource("/app/events");
    source.addEventListener("desk", function (event) {
      var data = {};
      try { data = JSON.parse(event.data); } catch (e) { /* ignore */ }
      schedule("views", 300);
      schedule("list", 300);
      if (byId("board")) schedule("board", 400);
      if (String(data.conversation_id) === currentConv()) schedule("pane", 100);
    });
    source.addEventListener("message_out", function (event) {
      var data = {};
      try { data = JSON.parse(event.data); } catch (e) { /* ignore */ }
      if (String(data.conversation_id) === currentConv()) schedule("pane", 300);
    });
    source.addEventListener("team", function () { if (byId("team-msgs")) schedule("team-msgs"); });
    source.addEventListener("presence", function () { if (byId("board")) schedule("board", 400); });
    source.addEventListener("resync", refreshAll);
    source.addEventListener("logout", function () {
      source.close();
      location.href = "/app/login?next=" + encodeURIComponent(location.pathname + location.search);
    });
    source.addEventListener("error", function () {
      // The browser reconnects by itself; the server then sends "resync".
    });
    window.balcaoEvents = source;
    // A page left for the back/forward cache keeps its stream open, and browsers allow six
    // connections per server: a few clicks later the next page would wait for one. Close it on
    // leaving; a page brought back from that cache is reloaded, current.
    window.addEventListener("pagehide", function () { source.close(); });
    window.addEventListener("pageshow", function (event) { if (event.persisted) location.reload(); });
  }

  // ------------------------------------------------------------------ presence

  function heartbeat() {
    if (!document.body.dataset.live) return;
    api("POST", "/api/v1/desk/presence/heartbeat").then(function (result) {
      if (result.data && result.data.status) showPresence(result.data.status);
    });
  }

  function showPresence(status) {
    var button = byId("presence");
    if (!button) return;
    button.classList.remove("online", "away", "offline");
    button.classList.add(status);
    button.dataset.status = status;
    byId("presence-label").textContent = status === "away" ? "Ausente" : status === "online" ? "Disponível" : "Offline";
  }

  var presenceButton = byId("presence");
  if (presenceButton) {
    presenceButton.addEventListener("click", function () {
      var away = presenceButton.dataset.status !== "away";
      api("PUT", "/api/v1/desk/presence", { away: away }).then(function (result) {
        if (result.data && result.data.status) showPresence(result.data.status);
        else toast(errorOf(result), true);
      });
    });
  }

  // ------------------------------------------------------------------ keyboard

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target) || document.querySelector("dialog[open]")) return;
    var key = event.key;
    if (key === "?") { openDialog("dlg-help"); event.preventDefault(); return; }
    if (!inbox) return;
    if (key === "j") { moveInList(1); event.preventDefault(); }
    else if (key === "k") { moveInList(-1); event.preventDefault(); }
    else if (key === "r" || key === "n") {
      if (!byId("composer")) return;
      event.preventDefault();
      setMode(key === "n" ? "note" : "reply");
      var area = byId("reply") || byId("template");
      if (area) area.focus();
    }
    else if (key === "e" && byId("dlg-close")) { openDialog("dlg-close"); event.preventDefault(); }
    else if (key === "t" && byId("dlg-transfer")) { openDialog("dlg-transfer"); event.preventDefault(); }
    else if (key === "a") {
      var accept = document.querySelector('[data-action="accept"], [data-action="claim"]');
      if (accept) { accept.click(); event.preventDefault(); }
    }
    else if (key === "c" && byId("team")) { toggleTeam(); event.preventDefault(); }
    else if (key === "Escape" && currentConv()) { openConversation("", true); }
  });

  function toggleTeam() {
    var open = byId("team").hidden;
    inbox.classList.toggle("with-team", open);
    inbox.classList.toggle("team-open", open);
    byId("team").hidden = !open;
    if (open) { load(byId("team-msgs")); var input = byId("team-input"); if (input) input.focus(); }
  }

  // ------------------------------------------------------------------ wiring

  if (inbox) {
    document.addEventListener("click", function (event) {
      var link = event.target.closest("a.conv, .views a[data-view]");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      if (link.classList.contains("conv")) openConversation(link.dataset.id, true);
      else openView(link.dataset.view, true);
    });
    window.addEventListener("popstate", function (event) {
      var state = event.state || {};
      var params = new URLSearchParams(location.search);
      setLocation(state.view || params.get("view") || "mine", state.conv || params.get("c") || "", false);
      refreshAll();
    });
    var teamToggle = byId("team-toggle");
    if (teamToggle) teamToggle.addEventListener("click", function (event) { event.preventDefault(); toggleTeam(); });
    var teamClose = byId("team-close");
    if (teamClose) teamClose.addEventListener("click", function () { toggleTeam(); });
    var viewsToggle = byId("views-toggle");
    if (viewsToggle) viewsToggle.addEventListener("click", function () { inbox.classList.toggle("show-views"); });
    var teamForm = byId("team-form");
    if (teamForm) teamForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var input = byId("team-input");
      var body = input.value.trim();
      if (!body) return;
      api("POST", "/api/v1/desk/team-messages", { body: body }).then(function (result) {
        if (result.status === 201 || result.status === 200) { input.value = ""; load(byId("team-msgs")); }
        else toast(errorOf(result), true);
      });
    });
    history.replaceState({ view: currentView(), conv: currentConv() }, "", location.href);
    inbox.classList.toggle("conv-open", !!currentConv());
    if (currentConv()) api("POST", "/api/v1/desk/conversations/" + currentConv() + "/read");
  }
  bind(document);
  connectEvents();
  heartbeat();
  setInterval(heartbeat, 15000);
  window.balcaoDesk = { refreshAll: refreshAll, open: openConversation };
})();
