/* Photo gallery: direct-to-S3 upload with progress, then confirm and poll.
 * No framework, no build step; served as a static file so the CSP needs no
 * 'unsafe-inline'. DOM hooks are documented in clinic_app/README.md. */
(function () {
  "use strict";

  var uploader = document.getElementById("photo-uploader");
  var gallery = document.getElementById("photo-gallery");
  if (!gallery) { return; }
  var input = document.getElementById("photo-input");
  var progress = document.getElementById("photo-progress");
  var statusEl = document.getElementById("photo-upload-status");
  var emptyEl = document.getElementById("photo-empty");

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

  function postForm(url, data) {
    var body = new FormData();
    Object.keys(data).forEach(function (k) { body.append(k, data[k]); });
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (json) {
        if (!resp.ok) {
          var msg = json.error || (resp.status === 403
            ? "Acesso negado ou sessão expirada: recarregue a página."
            : "Erro inesperado (" + resp.status + ").");
          throw new Error(msg);
        }
        return json;
      });
    });
  }

  function uploadToS3(presign, file) {
    return new Promise(function (resolve, reject) {
      var form = new FormData();
      Object.keys(presign.fields).forEach(function (k) { form.append(k, presign.fields[k]); });
      form.append("file", file);  // must be the last field
      var xhr = new XMLHttpRequest();
      xhr.open("POST", presign.url);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable && progress) { progress.value = Math.round((e.loaded / e.total) * 100); }
      });
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) { resolve(); }
        else { reject(new Error("O armazenamento recusou o arquivo (" + xhr.status + ").")); }
      };
      xhr.onerror = function () { reject(new Error("Falha de rede ao enviar a foto.")); };
      xhr.send(form);
    });
  }

  function handleFile(file) {
    var maxBytes = parseInt(uploader.getAttribute("data-max-bytes"), 10);
    if (!file) { return; }
    if (!/^image\//.test(file.type)) { say("Escolha um arquivo de imagem (JPEG, PNG, WebP ou GIF).", true); return; }
    if (file.size < 1) { say("O arquivo está vazio.", true); return; }
    if (file.size > maxBytes) { say("A foto deve ter no máximo 25 MB.", true); return; }
    input.disabled = true;
    if (progress) { progress.hidden = false; progress.value = 0; }
    say("Enviando " + file.name + "…");
    var presign;
    postForm(uploader.getAttribute("data-presign-url"),
             { filename: file.name, content_type: file.type, size: file.size })
      .then(function (p) { presign = p; return uploadToS3(p, file); })
      .then(function () { say("Confirmando…"); return postForm(uploader.getAttribute("data-confirm-url"), { token: presign.token }); })
      .then(function (result) {
        var tmp = document.createElement("ul");
        tmp.innerHTML = result.html;
        var card = tmp.firstElementChild;
        if (card && !gallery.querySelector('[data-photo-id="' + result.photo_id + '"]')) {
          gallery.appendChild(card);
          if (emptyEl) { emptyEl.hidden = true; }
          watch(card, function (data) {
            say(data.status === "ok" ? "Foto processada." : "", false);
          });
        }
        say("Foto enviada; processando…");
      })
      .catch(function (err) { say(err.message, true); })
      .then(function () {
        input.disabled = false;
        input.value = "";
        if (progress) { progress.hidden = true; }
      });
  }

  function render(card, data) {
    card.setAttribute("data-photo-status", data.status);
    var frame = card.querySelector(".photo-frame");
    var errorEl = card.querySelector(".photo-error");
    if (data.status === "ok" && data.thumb_url) {
      frame.textContent = "";
      var link = document.createElement("a");
      link.href = data.large_url || data.thumb_url;
      link.target = "_blank";
      link.rel = "noopener";
      link.className = "photo-large-link";
      var img = document.createElement("img");
      img.className = "photo-thumb";
      img.src = data.thumb_url;
      img.alt = "Foto";
      link.appendChild(img);
      frame.appendChild(link);
      if (errorEl) { errorEl.hidden = true; errorEl.textContent = ""; }
    } else if (data.status === "failed") {
      frame.textContent = "";
      var span = document.createElement("span");
      span.className = "photo-failed";
      span.textContent = "Falhou";
      frame.appendChild(span);
      if (errorEl) { errorEl.textContent = data.error || "Não foi possível processar a foto."; errorEl.hidden = false; }
    }
  }

  function watch(card, done) {
    var url = card.getAttribute("data-status-url");
    var delay = 1500;
    var maxDelay = 15000;
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (resp) { return resp.json().catch(function () { return { status: "pending" }; }); })
        .then(function (data) {
          if (data.status === "pending") {
            delay = Math.min(Math.round(delay * 1.3), maxDelay);
            setTimeout(poll, delay);
          } else {
            render(card, data);
            if (done) { done(data); }
          }
        })
        .catch(function () { delay = Math.min(delay * 2, maxDelay); setTimeout(poll, delay); });
    }
    setTimeout(poll, delay);
  }

  if (uploader && input) {
    input.addEventListener("change", function () { handleFile(input.files && input.files[0]); });
  }
  Array.prototype.forEach.call(gallery.querySelectorAll('[data-photo-status="pending"]'), watch);
  gallery.addEventListener("submit", function (e) {
    if (e.target.classList.contains("photo-delete-form") && !window.confirm("Excluir esta foto?")) {
      e.preventDefault();
    }
  });
})();
