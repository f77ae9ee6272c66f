/* Ferrule: small helpers for the shop-floor pages. No framework, no build step.
   - checks generated forms in the browser from their data attributes (the server checks again);
   - gives immediate feedback on a scanned component;
   - refreshes live panels (interlocks, device values) about once a second. */
(function () {
  "use strict";

  function errorSlot(input) {
    return document.getElementById(input.name + "-error") ||
      (input.closest(".field") && input.closest(".field").querySelector(".field-error"));
  }

  function withUnit(number, unit) {
    return unit ? number + " " + unit : String(number);
  }

  /* The same sentences the server uses (engine/validation.py). */
  function problemOf(input) {
    var name = input.dataset.field;
    var unit = input.dataset.unit || "";
    var kind = input.dataset.kind;
    var raw = (input.value || "").trim();
    if (input.validity && input.validity.badInput) {
      return name + ": that is not a number; enter digits like 1.55";
    }
    if (!raw) {
      if (!input.required) { return ""; }
      return name + ": required; enter " + (unit ? "a value in " + unit : "a value");
    }
    if (kind === "number" || kind === "integer") {
      var number = Number(raw.replace(",", "."));
      if (!isFinite(number)) { return name + ": '" + raw + "' is not a number; enter digits like 1.55"; }
      if (kind === "integer" && !Number.isInteger(number)) { return name + ": " + number + " is not a whole number"; }
      if (input.dataset.min !== undefined && number < Number(input.dataset.min)) {
        return name + ": " + withUnit(number, unit) + " is below the minimum " + withUnit(input.dataset.min, unit);
      }
      if (input.dataset.max !== undefined && number > Number(input.dataset.max)) {
        return name + ": " + withUnit(number, unit) + " is above the maximum " + withUnit(input.dataset.max, unit);
      }
    }
    return "";
  }

  function show(input, message) {
    var slot = errorSlot(input);
    if (slot) { slot.textContent = message; }
    var field = input.closest(".field");
    if (field) { field.classList.toggle("invalid", Boolean(message)); }
    input.setAttribute("aria-invalid", message ? "true" : "false");
  }

  function checkForm(form, event) {
    var first = null;
    form.querySelectorAll("[data-field]").forEach(function (input) {
      var message = problemOf(input);
      show(input, message);
      if (message && !first) { first = input; }
    });
    form.querySelectorAll("[data-component]").forEach(function (input) {
      if (!input.value.trim()) {
        var note = document.getElementById(input.id + "-feedback");
        if (note) { note.textContent = "Scan a " + input.dataset.part + " label."; note.className = "scan-feedback bad"; }
        if (!first) { first = input; }
      }
    });
    if (first) {
      event.preventDefault();
      first.focus();
      return;
    }
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; button.textContent = "Saving…"; }
  }

  function checkComponent(input) {
    var note = document.getElementById(input.id + "-feedback");
    var lot = input.value.trim();
    if (!note || !lot) { return; }
    note.textContent = "checking…";
    note.className = "scan-feedback";
    var url = input.dataset.check + "?part=" + encodeURIComponent(input.dataset.part) +
      "&lot=" + encodeURIComponent(lot);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        note.textContent = (answer.ok ? "✓ " : "✗ ") + answer.message;
        note.className = "scan-feedback " + (answer.ok ? "good" : "bad");
      })
      .catch(function () {
        note.textContent = "Could not check the scan now; it is checked again on Complete.";
        note.className = "scan-feedback";
      });
  }

  function nextInput(input) {
    var inputs = Array.prototype.slice.call(input.form.querySelectorAll("input:not([type=hidden]), select, button"));
    var next = inputs[inputs.indexOf(input) + 1];
    if (next) { next.focus(); }
  }

  function refreshEvery(element, milliseconds) {
    var busy = false;
    setInterval(function () {
      if (busy || document.hidden) { return; }
      if (element.contains(document.activeElement) && document.activeElement.tagName !== "BODY" &&
          document.activeElement.tagName !== "BUTTON") { return; }
      busy = true;
      fetch(element.dataset.refresh, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) { if (html !== null) { element.innerHTML = html; } })
        .catch(function () { /* keep the last panel; the next tick tries again */ })
        .then(function () { busy = false; });
    }, milliseconds);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-validate]").forEach(function (form) {
      form.addEventListener("submit", function (event) { checkForm(form, event); });
      form.querySelectorAll("[data-field]").forEach(function (input) {
        input.addEventListener("blur", function () { if (input.value) { show(input, problemOf(input)); } });
      });
    });
    document.querySelectorAll("[data-component]").forEach(function (input) {
      input.addEventListener("change", function () { checkComponent(input); });
      input.addEventListener("keydown", function (event) {
        if (event.key === "Enter") {  /* a scanner ends with Enter: check, then go on */
          event.preventDefault();
          checkComponent(input);
          nextInput(input);
        }
      });
    });
    document.querySelectorAll("[data-refresh]").forEach(function (element) {
      refreshEvery(element, Number(element.dataset.interval || 1000));
    });
  });
}());
