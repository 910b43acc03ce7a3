/* Photo gallery: queued direct-to-S3 uploads (several files at once, or the
 * phone's camera), each with its own progress, state and retry; status polling
 * with backoff; a full-screen viewer (tap, swipe, keyboard).
 * No framework, no build step; served as a static file so the CSP needs no
 * 'unsafe-inline'. DOM hooks are documented in clinic_app/README.md. */
(function () {
  "use strict";

  var uploader = document.getElementById("photo-uploader");
  var gallery = document.getElementById("photo-gallery");
  if (!gallery) { return; }
  var inputs = [document.getElementById("photo-input"), document.getElementById("photo-camera")];
  var statusEl = document.getElementById("photo-upload-status");
  var emptyEl = document.getElementById("photo-empty");
  var animalName = gallery.getAttribute("data-animal-name") || "";
  var thumbSizes = gallery.getAttribute("data-thumb-sizes") || "200px";

  var PARALLEL = 2;            // uploads at once: more only splits a phone's uplink
  var POLL_FIRST_MS = 400;     // the processor usually answers within a second or two
  var POLL_FACTOR = 1.5;
  var POLL_MAX_MS = 15000;
  // Limits, accepted types and their messages come from the server
  // (registry.photos.upload_config, built from photo_contract), never restated here.
  var configEl = document.getElementById("photo-upload-config");
  var CONFIG = configEl ? JSON.parse(configEl.textContent) : { max_bytes: 0, types: {}, messages: {} };
  var TYPES = CONFIG.types;
  var MSG = {
    queued: "Na fila",
    sending: "Enviando…",
    confirming: "Confirmando…",
    done: "Pronta",
    network: "Falha de rede ao enviar. Verifique a conexão e tente de novo.",
    session: "Sua sessão expirou. Entre de novo (recarregue a página) para continuar.",
    deleted: "Esta foto foi excluída.",
    format: CONFIG.messages.format,
    empty: CONFIG.messages.empty,
    big: CONFIG.messages.big,
    unexpected: "Erro inesperado. Tente de novo."
  };
  var MAX_BYTES = CONFIG.max_bytes;
  var sessionGone = false;

  function csrfToken() {
    var el = document.querySelector("#photo-uploader input[name=csrfmiddlewaretoken]") ||
             document.querySelector("input[name=csrfmiddlewaretoken]");
    return el ? el.value : "";
  }

  function say(text, isError) {
    if (!statusEl) { return; }
    statusEl.textContent = text || "";
    statusEl.classList.toggle("error", !!isError);
  }

  function isLoginPage(resp) {
    return resp.redirected && /\/entrar\//.test(resp.url || "");
  }

  /* An Error that says what kind of failure it is: "network" and "server"
   * can be retried, "session" needs a new sign-in, "refused" is final. */
  function failure(kind, message) {
    var err = new Error(message);
    err.kind = kind;
    return err;
  }

  function sessionExpired() {
    if (sessionGone) { return; }
    sessionGone = true;
    say(MSG.session, true);
    Array.prototype.forEach.call(gallery.querySelectorAll(".photo-card"), function (card) {
      var st = card.getAttribute("data-photo-status");
      if (st === "pending" || st === "uploading") { setState(card, "session", MSG.session, true); }
    });
  }

  function postForm(url, data) {
    var body = new FormData();
    Object.keys(data).forEach(function (k) { body.append(k, data[k]); });
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    }).catch(function () {
      throw failure("network", MSG.network);
    }).then(function (resp) {
      if (isLoginPage(resp) || resp.status === 401) { throw failure("session", MSG.session); }
      return resp.json().catch(function () { return null; }).then(function (json) {
        if (resp.ok && json) { return json; }
        if (json && json.error) {
          throw failure(resp.status >= 500 ? "server" : "refused", json.error);
        }
        if (resp.status === 403) { throw failure("session", MSG.session); }  // CSRF page: session changed
        throw failure(resp.status >= 500 ? "server" : "refused", MSG.unexpected + " (" + resp.status + ")");
      });
    });
  }

  function uploadToS3(presign, file, onProgress) {
    return new Promise(function (resolve, reject) {
      var form = new FormData();
      Object.keys(presign.fields).forEach(function (k) { form.append(k, presign.fields[k]); });
      form.append("file", file);  // must be the last field
      var xhr = new XMLHttpRequest();
      xhr.open("POST", presign.url);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { onProgress(Math.round((e.loaded / e.total) * 100)); }
      });
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) { resolve(); }
        else if (xhr.status >= 500) { reject(failure("server", MSG.network)); }
        else { reject(failure("refused", "O armazenamento recusou o arquivo (" + xhr.status + ").")); }
      };
      xhr.onerror = xhr.ontimeout = function () { reject(failure("network", MSG.network)); };
      xhr.send(form);
    });
  }

  // ------------------------------------------------------------------ cards

  function setState(card, status, text, isError) {
    card.setAttribute("data-photo-status", status);
    var state = card.querySelector(".photo-state");
    if (state) {
      state.textContent = text || "";
      state.hidden = !text;
      state.classList.toggle("error", !!isError);
    }
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text) { e.textContent = text; }
    return e;
  }

  function uploadCard(file) {
    var card = el("li", "photo-card upload-card");
    card.setAttribute("data-photo-status", "uploading");
    var frame = el("div", "photo-frame");
    frame.appendChild(el("span", "photo-pending", MSG.queued));
    card.appendChild(frame);
    var bar = el("progress", "photo-progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Envio de " + file.name);
    card.appendChild(bar);
    var state = el("p", "photo-state", MSG.queued);
    state.setAttribute("role", "status");
    card.appendChild(state);
    var meta = el("p", "photo-meta");
    var name = el("span", "photo-name", file.name);
    name.title = file.name;
    meta.appendChild(name);
    card.appendChild(meta);
    var actions = el("div", "photo-actions");
    var retry = el("button", "link photo-retry", "Tentar de novo");
    retry.type = "button";
    retry.hidden = true;
    var dismiss = el("button", "link photo-dismiss", "Remover da lista");
    dismiss.type = "button";
    dismiss.hidden = true;
    actions.appendChild(retry);
    actions.appendChild(dismiss);
    card.appendChild(actions);
    return card;
  }

  function typeOf(file) {
    if (/^image\//.test(file.type || "")) { return file.type; }
    var ext = (file.name.split(".").pop() || "").toLowerCase();
    return TYPES[ext] || "";  // phones and desktops often give HEIC/AVIF no type
  }

  // ------------------------------------------------------------------ queue

  var queue = [];
  var running = 0;

  function addFiles(files) {
    if (!uploader || sessionGone) { return; }
    Array.prototype.forEach.call(files, function (file) {
      var item = { file: file, card: uploadCard(file) };
      item.card.querySelector(".photo-retry").addEventListener("click", function () { enqueue(item); });
      item.card.querySelector(".photo-dismiss").addEventListener("click", function () {
        item.card.remove();
        if (emptyEl) { emptyEl.hidden = !!gallery.querySelector(".photo-card"); }
      });
      gallery.appendChild(item.card);
      enqueue(item);
    });
    if (emptyEl) { emptyEl.hidden = true; }
    var section = document.getElementById("fotos");
    if (section && files.length && section.scrollIntoView) { section.scrollIntoView({ block: "start" }); }
    say(files.length > 1 ? files.length + " fotos na fila." : "", false);
  }

  function enqueue(item) {
    item.card.querySelector(".photo-retry").hidden = true;
    item.card.querySelector(".photo-dismiss").hidden = true;
    setState(item.card, "uploading", MSG.queued, false);
    queue.push(item);
    pump();
  }

  function pump() {
    while (running < PARALLEL && queue.length && !sessionGone) {
      running += 1;
      start(queue.shift()).then(function () { running -= 1; pump(); });
    }
    if (!running && !queue.length && !sessionGone) { say("", false); }  // each card tells its own outcome
  }

  function start(item) {
    var file = item.file;
    var card = item.card;
    var bar = card.querySelector(".photo-progress");
    var maxBytes = MAX_BYTES;
    var type = typeOf(file);
    function fail(err) {
      bar.hidden = true;
      if (err.kind === "session") { sessionExpired(); setState(card, "session", MSG.session, true); return; }
      setState(card, "upload-failed", err.message, true);
      card.querySelector(".photo-retry").hidden = !(err.kind === "network" || err.kind === "server");
      card.querySelector(".photo-dismiss").hidden = false;
    }
    if (!type) { fail(failure("refused", MSG.format)); return Promise.resolve(); }
    if (file.size < 1) { fail(failure("refused", MSG.empty)); return Promise.resolve(); }
    if (file.size > maxBytes) { fail(failure("refused", MSG.big)); return Promise.resolve(); }
    bar.hidden = false;
    // A retry after the file reached S3 (the confirm failed) only confirms
    // again, while the upload token is valid: no second copy in the bucket.
    var uploaded = item.uploaded && Date.now() < item.uploaded + 10 * 60 * 1000;
    var sent = uploaded ? Promise.resolve(item.presign) : postForm(
      uploader.getAttribute("data-presign-url"), { filename: file.name, content_type: type, size: file.size })
      .then(function (p) {
        item.presign = p;
        bar.value = 0;
        setState(card, "uploading", MSG.sending, false);
        return uploadToS3(p, file, function (pct) {
          bar.value = pct;
          setState(card, "uploading", MSG.sending + " " + pct + "%", false);
        });
      })
      .then(function () { item.uploaded = Date.now(); return item.presign; });
    return sent
      .then(function (presign) {
        bar.value = 100;
        setState(card, "uploading", MSG.confirming, false);
        return postForm(uploader.getAttribute("data-confirm-url"), { token: presign.token });
      })
      .then(function (result) {
        var tmp = document.createElement("ul");
        tmp.innerHTML = result.html;
        var fresh = tmp.firstElementChild;
        var existing = gallery.querySelector('[data-photo-id="' + result.photo_id + '"]');
        if (existing && existing !== card) { card.remove(); return; }
        if (!fresh) { card.remove(); return; }
        card.replaceWith(fresh);
        setState(fresh, "pending", "", false);  // the frame says "processando…"
        watch(fresh);
      })
      .catch(fail);
  }

  // ------------------------------------------------------------------ status polling

  function render(card, data) {
    var frame = card.querySelector(".photo-frame");
    var errorEl = card.querySelector(".photo-error");
    if (data.status === "ok" && data.thumb_url) {
      frame.textContent = "";
      var link = el("a", "photo-large-link");
      link.href = data.large_url || data.thumb_url;
      link.target = "_blank";
      link.rel = "noopener";
      link.setAttribute("data-view-srcset", data.view_srcset || "");
      var img = el("img", "photo-thumb");
      img.src = data.thumb_url;
      if (data.thumb_srcset) { img.srcset = data.thumb_srcset; img.sizes = thumbSizes; }
      img.alt = "Foto de " + animalName;
      link.appendChild(img);
      frame.appendChild(link);
      if (errorEl) { errorEl.hidden = true; errorEl.textContent = ""; }
      setState(card, "ok", "", false);
      var setPrimary = card.querySelector(".photo-set-primary-form");
      if (data.is_primary) {
        markPrimary(card, data);
        if (setPrimary) { setPrimary.remove(); }
      } else if (setPrimary) {
        setPrimary.hidden = false;  // offered once the photo is processed
      }
    } else if (data.status === "failed") {
      frame.textContent = "";
      frame.appendChild(el("span", "photo-failed", "Falhou"));
      var offer = card.querySelector(".photo-set-primary-form");
      if (offer) { offer.remove(); }  // a failed photo is never the principal one
      if (errorEl) { errorEl.textContent = data.error || "Não foi possível processar a foto."; errorEl.hidden = false; }
      setState(card, "failed", "", false);
    } else if (data.status === "deleted") {
      frame.textContent = "";
      frame.appendChild(el("span", "photo-failed", "Excluída"));
      Array.prototype.forEach.call(card.querySelectorAll(".photo-actions form"), function (f) { f.remove(); });
      var tag = card.querySelector(".photo-primary-tag");
      if (tag) { tag.remove(); }
      setState(card, "deleted", data.error || MSG.deleted, true);
    }
  }

  function markPrimary(card, data) {
    if (card.getAttribute("data-primary") === "1") { return; }
    card.setAttribute("data-primary", "1");
    var meta = card.querySelector(".photo-meta");
    if (meta && !meta.querySelector(".photo-primary-tag")) {
      var tag = el("span", "tag ok photo-primary-tag", "Principal");
      meta.insertBefore(document.createTextNode(" "), meta.firstChild);
      meta.insertBefore(tag, meta.firstChild);
    }
    var slot = document.getElementById("head-photo-slot");
    if (slot && !slot.querySelector("img")) {
      var link = el("a", "head-photo");
      link.href = data.large_url || data.thumb_url;
      link.setAttribute("data-photo-id", card.getAttribute("data-photo-id"));
      var img = el("img", "head-thumb");
      img.src = data.thumb_url;
      if (data.thumb_srcset) { img.srcset = data.thumb_srcset; img.sizes = "64px"; }
      img.alt = "Foto principal de " + animalName;
      img.width = 64;
      img.height = 64;
      link.appendChild(img);
      slot.appendChild(link);
    }
  }

  function watch(card) {
    var url = card.getAttribute("data-status-url");
    var delay = POLL_FIRST_MS;
    function later() {
      card._pollTimer = setTimeout(poll, delay);
      delay = Math.min(Math.round(delay * POLL_FACTOR), POLL_MAX_MS);
    }
    function poll() {
      if (sessionGone || !card.isConnected) { return; }  // stopped, or the card is gone
      if (document.hidden) { later(); return; }  // a background tab polls nothing
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (resp) {
          if (isLoginPage(resp) || resp.status === 401 || resp.status === 403) { sessionExpired(); return; }
          return resp.json().catch(function () { return null; }).then(function (data) {
            if (resp.status === 404 || resp.status === 410) { render(card, { status: "deleted", error: data && data.error }); return; }
            if (!resp.ok || !data || data.status === "pending") { later(); return; }
            render(card, data);  // final: no more polling for this card
          });
        })
        .catch(later);  // network error: keep trying, further apart
    }
    later();
  }

  // ------------------------------------------------------------------ viewer

  var viewer = document.getElementById("photo-viewer");
  var viewImg = viewer && viewer.querySelector(".viewer-img");
  var viewCaption = viewer && viewer.querySelector(".viewer-caption");
  var current = 0;

  function viewable() {
    return Array.prototype.slice.call(
      gallery.querySelectorAll('.photo-card[data-photo-status="ok"] a.photo-large-link'));
  }

  function show(index) {
    var links = viewable();
    if (!links.length) { viewer.close(); return; }
    current = (index + links.length) % links.length;
    var link = links[current];
    var thumb = link.querySelector("img");
    viewImg.removeAttribute("srcset");
    viewImg.src = link.href;
    var set = link.getAttribute("data-view-srcset");
    if (set) { viewImg.srcset = set; viewImg.sizes = "100vw"; }
    viewImg.alt = thumb ? thumb.alt : "Foto de " + animalName;
    viewCaption.textContent = "Foto " + (current + 1) + " de " + links.length;
    viewer.classList.toggle("single", links.length < 2);
  }

  function openViewer(link) {
    var index = viewable().indexOf(link);
    if (index < 0) { return false; }
    show(index);
    if (!viewer.open) { viewer.showModal(); }
    return true;
  }

  if (viewer && typeof viewer.showModal === "function") {
    gallery.addEventListener("click", function (e) {
      var link = e.target.closest && e.target.closest("a.photo-large-link");
      if (link && openViewer(link)) { e.preventDefault(); }
    });
    document.addEventListener("click", function (e) {
      var head = e.target.closest && e.target.closest("a.head-photo");
      if (!head) { return; }
      var card = gallery.querySelector('[data-photo-id="' + head.getAttribute("data-photo-id") + '"] a.photo-large-link');
      if (card && openViewer(card)) { e.preventDefault(); }
    });
    viewer.querySelector(".viewer-prev").addEventListener("click", function () { show(current - 1); });
    viewer.querySelector(".viewer-next").addEventListener("click", function () { show(current + 1); });
    viewer.querySelector(".viewer-close").addEventListener("click", function () { viewer.close(); });
    viewer.addEventListener("click", function (e) { if (e.target === viewer) { viewer.close(); } });
    viewer.addEventListener("keydown", function (e) {
      if (e.key === "ArrowLeft") { show(current - 1); e.preventDefault(); }
      else if (e.key === "ArrowRight") { show(current + 1); e.preventDefault(); }
    });
    var startX = null;
    var startY = null;
    viewer.addEventListener("pointerdown", function (e) { startX = e.clientX; startY = e.clientY; });
    viewer.addEventListener("pointerup", function (e) {
      if (startX === null) { return; }
      var dx = e.clientX - startX;
      var dy = e.clientY - startY;
      startX = null;
      if (Math.abs(dx) > 50 && Math.abs(dx) > Math.abs(dy) * 1.5) { show(current + (dx < 0 ? 1 : -1)); }
    });
    viewer.addEventListener("close", function () { viewImg.removeAttribute("src"); viewImg.removeAttribute("srcset"); });
  }

  // ------------------------------------------------------------------ wiring

  inputs.forEach(function (input) {
    if (!input || !uploader) { return; }
    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files || []);
      input.value = "";  // the same file can be chosen again
      addFiles(files);
    });
  });
  Array.prototype.forEach.call(gallery.querySelectorAll('[data-photo-status="pending"]'),
                               function (card) { watch(card); });
  gallery.addEventListener("submit", function (e) {
    if (e.target.classList.contains("photo-delete-form") && !window.confirm("Excluir esta foto?")) {
      e.preventDefault();
    }
  });
})();
