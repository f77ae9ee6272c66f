/* Ferrule: the live supervisor board. The server sends the board's HTML fragment as a
   server-sent event whenever something changes (web/pages/supervisor.py); the browser's
   EventSource reconnects by itself when a stream ends (every 20 s or so), with the last marker
   it saw. Only a connection that stays lost for a few seconds is shown as such. */
(function () {
  "use strict";
  var STALE_AFTER_MS = 5000;
  document.addEventListener("DOMContentLoaded", function () {
    var board = document.querySelector("[data-board-events]");
    var status = document.querySelector("[data-board-status]");
    if (!board || !window.EventSource) { return; }
    var lost = null;
    function live() {
      if (lost !== null) { clearTimeout(lost); lost = null; }
      if (status) { status.textContent = "live"; status.classList.remove("stale"); }
    }
    var source = new EventSource(board.dataset.boardEvents + "?since=" + encodeURIComponent(board.dataset.marker));
    source.addEventListener("board", function (event) {
      board.innerHTML = event.data;
      board.dataset.marker = event.lastEventId;
      live();
    });
    source.addEventListener("open", live);
    source.addEventListener("error", function () {
      if (lost !== null || !status) { return; }
      lost = setTimeout(function () {
        status.textContent = "reconnecting…";
        status.classList.add("stale");
      }, STALE_AFTER_MS);
    });
  });
}());
