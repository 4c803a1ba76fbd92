// The permit card Mini App: reads Telegram's launch data from the URL fragment itself (it
// works without Telegram's SDK), asks the server for the card, shows it, and refreshes the
// QR code before it expires. Data is only ever inserted as text, never as HTML.
(function () {
  "use strict";
  var root = document.documentElement;
  var t = function (key) { return root.getAttribute("data-t-" + key) || ""; };
  var $ = function (id) { return document.getElementById(id); };
  var params = new URLSearchParams(window.location.hash.slice(1));
  var initData = params.get("tgWebAppData") || "";
  var expiresAt = 0;
  var loading = false;
  var texts = {};

  try {
    var theme = JSON.parse(params.get("tgWebAppThemeParams") || "{}");
    if (theme.bg_color) { root.style.setProperty("--bg", theme.bg_color); }
    if (theme.text_color) { root.style.setProperty("--fg", theme.text_color); }
    if (theme.secondary_bg_color) { root.style.setProperty("--card", theme.secondary_bg_color); }
    if (theme.hint_color) { root.style.setProperty("--hint", theme.hint_color); }
  } catch (ignored) { /* no theme: keep the defaults */ }

  function showMessage(text) {
    $("card").hidden = true;
    $("message").hidden = false;
    $("message").textContent = text;
  }

  function render(data) {
    root.lang = data.lang;
    root.dir = data.dir;
    $("title").textContent = data.title;
    if (!data.linked) { showMessage(data.message); return; }
    texts = data.texts;
    $("message").hidden = true;
    $("card").hidden = false;
    $("status").textContent = data.status;
    $("status").style.background = data.status_colour;
    var list = $("fields");
    while (list.firstChild) { list.removeChild(list.firstChild); }
    data.fields.forEach(function (field) {
      var dt = document.createElement("dt");
      dt.textContent = field.label;
      var dd = document.createElement("dd");
      dd.textContent = field.value;
      list.appendChild(dt);
      list.appendChild(dd);
    });
    if (data.qr) {
      $("qr").src = data.qr.image;
      $("qr").hidden = false;
      $("qr").classList.remove("expired");
      $("scan").textContent = texts.scan;
      expiresAt = Date.parse(data.qr.expires_at);
    } else {
      $("qr").hidden = true;
      $("scan").textContent = data.refusal || "";
      expiresAt = 0;
    }
    tick();
  }

  function load() {
    if (loading) { return; }
    loading = true;
    fetch("/app/api/card", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ initData: initData }),
      cache: "no-store",
      credentials: "omit"
    }).then(function (response) {
      if (response.status === 401) { throw new Error("unauthorized"); }
      if (!response.ok) { throw new Error("unavailable"); }
      return response.json();
    }).then(render).catch(function (error) {
      if (error.message === "unauthorized") {
        expiresAt = 0;
        showMessage(t("unauthorized"));
      } else if (expiresAt === 0) {
        showMessage(t("offline"));
      }
    }).then(function () { loading = false; });
  }

  function tick() {
    if (!expiresAt) { $("countdown").textContent = ""; return; }
    var left = Math.round((expiresAt - Date.now()) / 1000);
    if (left <= 0) {
      $("qr").classList.add("expired");
      $("countdown").textContent = texts.expired || t("offline");
    } else {
      $("countdown").textContent = (texts.refresh_in || "").replace("{seconds}", String(left));
    }
    if (left <= 5) { load(); }
  }

  if (!initData) { showMessage(t("unauthorized")); return; }
  showMessage(t("loading"));
  load();
  window.setInterval(tick, 1000);
}());
