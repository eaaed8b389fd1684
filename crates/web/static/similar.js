// Suggests public messages like the one being written, while it is written. Without
// this script the form's «Проверить похожие сообщения» button does the same.
(function () {
  "use strict";
  var results = document.getElementById("similar-results");
  var text = document.getElementById("f-text");
  var form = results && results.closest("form");
  if (!results || !text || !form || !window.fetch) {
    return;
  }
  var timer = null;
  var last = "";
  function value(name) {
    var field = form.elements.namedItem(name);
    return field && field.value ? field.value : "";
  }
  function check() {
    var typed = text.value.trim();
    if (typed.length < 15 || typed === last) {
      return;
    }
    last = typed;
    var body = new URLSearchParams();
    body.set("csrf", value("csrf"));
    body.set("text", typed);
    body.set("region", value("region"));
    body.set("municipality", value("municipality"));
    fetch(form.getAttribute("action") + "/similar", {
      method: "POST",
      body: body,
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null) {
          results.innerHTML = html;
        }
      })
      .catch(function () {});
  }
  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 700);
  }
  text.addEventListener("input", later);
  form.addEventListener("change", function (event) {
    if (event.target && (event.target.name === "region" || event.target.name === "municipality")) {
      last = "";
      later();
    }
  });
})();
